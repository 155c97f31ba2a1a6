"""bench/real_photos.py without photos or models: the hold-out split, its symlinks, the variants, skipping."""

from pathlib import Path

import pytest

from bench import real_photos


def files(counts: dict[str, int]) -> dict[str, list[Path]]:
    return {city: [Path(f"/photos/{city}/{i:03d}.jpg") for i in range(n)] for city, n in counts.items()}


COUNTS = {"berlin": 50, "lisbon": 23, "rome": 7, "seattle": 3, "new-york": 2}


def test_the_split_is_stratified_disjoint_and_complete():
    by_city = files(COUNTS)
    train, holdout, left_out = real_photos.holdout_split(by_city, 0.2, seed=0)
    assert left_out == [] and set(train) == set(holdout) == set(COUNTS)  # every city in both parts
    for city, n in COUNTS.items():
        assert len(holdout[city]) == min(max(round(0.2 * n), 1), n - 1)  # 10, 5, 1, 1, 1
        assert not set(train[city]) & set(holdout[city])
        assert sorted(train[city] + holdout[city]) == sorted(by_city[city])
    assert [len(holdout[c]) for c in COUNTS] == [10, 5, 1, 1, 1]


def test_the_split_is_seeded_and_each_city_stands_alone():
    by_city = files(COUNTS)
    first = real_photos.holdout_split(by_city, 0.2, seed=0)
    assert real_photos.holdout_split(by_city, 0.2, seed=0) == first
    other = real_photos.holdout_split(by_city, 0.2, seed=1)
    assert other[1]["berlin"] != first[1]["berlin"]
    # Reordered input, or another city added or removed: the same photos of Berlin are held out.
    reordered = {city: list(reversed(by_city[city])) for city in reversed(list(by_city))}
    assert real_photos.holdout_split(reordered, 0.2, seed=0) == first
    alone = real_photos.holdout_split({"berlin": by_city["berlin"]}, 0.2, seed=0)
    assert alone[1]["berlin"] == first[1]["berlin"]
    # Not simply the first or last files by name.
    names = sorted(by_city["berlin"])
    assert first[1]["berlin"] not in (names[:10], names[-10:])


def test_the_limit_cuts_each_city_before_the_split_and_tiny_cities_are_left_out():
    by_city = files(COUNTS | {"oslo": 1, "porto": 0})
    train, holdout, left_out = real_photos.holdout_split(by_city, 0.2, seed=0, limit_per_city=15)
    assert left_out == ["oslo", "porto"]
    assert {c: (len(train[c]), len(holdout[c])) for c in train} == {
        "berlin": (12, 3),
        "lisbon": (12, 3),
        "rome": (6, 1),
        "seattle": (2, 1),
        "new-york": (1, 1),
    }
    full = real_photos.holdout_split(by_city, 0.2, seed=0)
    # The limited set is a part of the same seeded shuffle, so it only grows with the limit.
    assert set(train["berlin"] + holdout["berlin"]) < set(full[0]["berlin"] + full[1]["berlin"])
    with pytest.raises(ValueError):
        real_photos.holdout_split(by_city, 1.0)


def test_list_photos_and_links_point_at_the_originals(tmp_path):
    source = tmp_path / "photos"
    for city, names in {"paris": ["a.jpg", "b.JPEG", "notes.txt"], "rome": ["c.png"]}.items():
        (source / city).mkdir(parents=True)
        for name in names:
            (source / city / name).write_bytes(name.encode())
    (source / ".thumbs").mkdir()
    found = real_photos.list_photos(source)
    assert {c: sorted(f.name for f in fs) for c, fs in found.items()} == {
        "paris": ["a.jpg", "b.JPEG"],
        "rome": ["c.png"],
    }
    real_photos.write_links(found, tmp_path / "out")
    link = tmp_path / "out" / "paris" / "a.jpg"
    assert link.is_symlink() and link.resolve() == (source / "paris" / "a.jpg").resolve()
    assert link.read_bytes() == b"a.jpg"
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_symlink()) == [
        "a.jpg",
        "b.JPEG",
        "c.png",
    ]


def test_variants_by_name_or_with_flags_of_ones_own():
    chosen = real_photos.parse_variants("default, frozen-lite2,mine=--fine-tune-blocks 2 --tta")
    assert chosen == {
        "default": [],
        "frozen-lite2": ["--backbone", "efficientnet_lite2", "--fine-tune-blocks", "0"],
        "mine": ["--fine-tune-blocks", "2", "--tta"],
    }
    with pytest.raises(SystemExit, match="unknown variant 'nope'"):
        real_photos.parse_variants("default,nope")


def test_without_real_photos_the_bench_says_why_and_succeeds(monkeypatch, capsys):
    monkeypatch.delenv("REAL_PHOTOS", raising=False)
    assert real_photos.main([]) == 0
    assert "skipped; set REAL_PHOTOS" in capsys.readouterr().out


def test_the_scratch_folder_must_be_git_ignored(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    assert real_photos.main(["--photos", str(tmp_path), "--scratch", str(tmp_path / "scratch")]) == 1
    assert "--scratch must be under" in capsys.readouterr().err
    assert not (tmp_path / "scratch").exists()


def test_the_table_has_the_dataset_in_its_heading_and_one_row_per_variant():
    data = real_photos.Dataset(cities=["paris", "rome"], n_train=80, n_holdout=20, imported="80 stored")
    evaluated = {
        "top1": 0.75,
        "top5": 1.0,
        "macro_f1": 0.7,
        "per_city": {"paris": {"n": 10, "accuracy": 0.9}, "rome": {"n": 10, "accuracy": 0.6}},
        "confused": [{"true": "rome", "predicted": "paris", "n": 4, "share": 0.4}],
    }
    trained = {"best_version": 3, "versions": [{"id": 3, "backbone": "efficientnet_lite0"}], "wall_s": 42.0}
    tuned = {
        "best_version": 4,
        "versions": [{"id": 4, "backbone": "efficientnet_lite0", "fine_tuned_blocks": 3}],
        "wall_s": 900.0,
    }
    rows = [
        {
            "name": "frozen-lite0",
            "flags": ["--fine-tune-blocks", "0"],
            "cached": False,
            "train": {"rc": 0, "wall_s": 50.0, "peak_rss_mib": 900.0, "json": trained},
            "eval": {"rc": 0, "wall_s": 9.0, "peak_rss_mib": 500.0, "json": evaluated},
        },
        {
            "name": "default",
            "flags": [],
            "cached": True,
            "train": {"rc": 1, "wall_s": 3.0, "peak_rss_mib": 100.0, "json": None},
            "eval": None,
        },
        {
            "name": "tuned",
            "flags": [],
            "cached": True,
            "train": {"rc": 0, "wall_s": 950.0, "peak_rss_mib": 2000.0, "json": tuned},
            "eval": {
                "rc": 0,
                "wall_s": 9.0,
                "peak_rss_mib": 500.0,
                "json": evaluated | {"top1": 0.8, "tta": False},
            },
            "eval_other_tta": {
                "rc": 0,
                "wall_s": 9.0,
                "peak_rss_mib": 500.0,
                "json": evaluated | {"top1": 0.78, "tta": True},
            },
        },
    ]
    args = real_photos.argparse.Namespace(holdout=0.2, seed=0, limit_per_city=15)
    text = real_photos.table(data, rows, args, "db", started=0.0)
    assert text.startswith("Real photos: 2 cities (paris, rome), 80 train / 20 hold-out photos (20% per city")
    assert "at most 15 per city" in text.splitlines()[0]
    body = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert body == [
        "| frozen-lite0 | `--fine-tune-blocks 0` | 75.0% | 100.0% | 0.700 | 42 | 50 | 900 | no | "
        "efficientnet_lite0, head only |",
        "| default | `—` | train failed (exit 1) | | | | | | | |",
        "| tuned | `—` | 80.0% | 100.0% | 0.700 | 900 | 950 | 2000 | yes | "
        "efficientnet_lite0, top 3 blocks fine-tuned |",
        # The same model evaluated with test-time augmentation, on a row of its own.
        "| tuned, with TTA | `(evaluate --tta)` | 78.0% | 100.0% | 0.700 | 900 | 950 | 2000 | yes | "
        "efficientnet_lite0, top 3 blocks fine-tuned |",
    ]
    assert "- frozen-lite0: weakest cities rome 60%, paris 90%; most confused: rome → paris: 4 (40%)" in text
