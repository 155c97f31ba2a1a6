"""Accuracy, training time and memory of training variants, measured on real photos held out from training.

    REAL_PHOTOS=/path/to/photos python bench/real_photos.py [--variants default,frozen-lite0]
        [--holdout 0.2] [--seed 0] [--limit-per-city N]

REAL_PHOTOS is a folder of <city-slug>/*.jpg (also .jpeg, .png, .webp); without it the bench says so and
exits 0. Per city, a seeded share of the files (--holdout, default 20%) is held out; the split is written as
two folders of symlinks, var/real-photos/train/<city>/ and var/real-photos/holdout/<city>/. The photos are
never copied into the repository: the symlinks and the imported copies live under var/ (git-ignored).

The bench uses its own database (cityvibes_real on the server of DATABASE_URL, dropped and created afresh
each run; a SQLite file under var/real-photos/ when DATABASE_URL is not Postgres) and its own MEDIA_ROOT
(var/real-photos/media). It runs migrate and seed_cities (a folder whose slug is not in the catalogue
becomes a new City, named after the slug, and the table says so), imports the train part with
`manage.py import_photos`, and leaves out of the hold-out every photo that the import would have refused
as an exact or near duplicate of a train photo (a leak that would flatter the model).

Then, for each variant (--variants, comma-separated names from VARIANTS, or name=flags for flags of your
own), it runs `manage.py train --activate --skip-small-cities <flags>` as a subprocess and then
`manage.py evaluate var/real-photos/holdout --json`, and records top-1, top-5 and macro-F1 on the hold-out,
the training's wall time (`wall_s` of the train command: training only; and the whole process, with Python,
Django and TensorFlow start-up) and the train process's peak RSS (ru_maxrss of that one child, from
os.wait4: the per-child form of getrusage(RUSAGE_CHILDREN)). Embeddings are cached per (photo, backbone)
in the database, so a variant whose backbone an earlier variant already embedded trains faster; the table
says which variants started with cached embeddings. Each train's stderr goes to var/real-photos/logs/.

Prints a markdown table and writes it to bench/results/real_photos.md.
"""

import argparse
import io
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import publish, use_own_database  # noqa: E402

BENCH_DB = "cityvibes_real"
SCRATCH = ROOT / "var" / "real-photos"
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
SLUG = re.compile(r"^[-a-z0-9_]+$")

# name -> extra flags of `manage.py train` (besides --activate --skip-small-cities). "default" passes none:
# whatever the project's TrainingOptions default to (fine-tuning when there is enough data, TTA on, suspected
# mislabels dropped).
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "default-tta": ["--tta"],
    "default-drop-suspects": ["--drop-suspects"],
    "frozen-lite0": ["--fine-tune-blocks", "0"],
    "frozen-lite0-drop-suspects": ["--fine-tune-blocks", "0", "--drop-suspects"],
    "frozen-lite1": ["--backbone", "efficientnet_lite1", "--fine-tune-blocks", "0"],
    "frozen-lite2": ["--backbone", "efficientnet_lite2", "--fine-tune-blocks", "0"],
    "finetune-lite0-b3": ["--fine-tune-blocks", "3"],
    "finetune-lite2-b3": ["--backbone", "efficientnet_lite2", "--fine-tune-blocks", "3"],
}


# --- the split (pure) ---------------------------------------------------------------------------------------


def holdout_split(
    files_by_city: dict[str, list[Path]],
    fraction: float = 0.2,
    seed: int = 0,
    limit_per_city: int | None = None,
) -> tuple[dict[str, list[Path]], dict[str, list[Path]], list[str]]:
    """(train, hold-out, cities left out): per city, a seeded shuffle of its files (first cut to
    `limit_per_city`), of which round(fraction × n) are held out, at least one and never all.

    Each city is shuffled with its own seed (seed, city), so one city's split does not depend on which other
    cities are in the folder. A city with fewer than 2 files cannot be in both parts and is left out.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"the hold-out fraction must be between 0 and 1, not {fraction}")
    train, holdout, left_out = {}, {}, []
    for city in sorted(files_by_city):
        files = sorted(files_by_city[city])
        random.Random(f"{seed}/{city}").shuffle(files)
        if limit_per_city is not None:
            files = files[:limit_per_city]
        if len(files) < 2:
            left_out.append(city)
            continue
        n_holdout = min(max(round(fraction * len(files)), 1), len(files) - 1)
        holdout[city], train[city] = sorted(files[:n_holdout]), sorted(files[n_holdout:])
    return train, holdout, left_out


def list_photos(root: Path) -> dict[str, list[Path]]:
    """{folder name: its image files} for every sub-folder of `root`."""
    return {
        folder.name: [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES]
        for folder in sorted(Path(root).iterdir())
        if folder.is_dir() and not folder.name.startswith(".")
    }


def write_links(files_by_city: dict[str, list[Path]], dest: Path) -> None:
    """dest/<city>/<name>: a symlink to each file (never a copy)."""
    for city, files in files_by_city.items():
        (dest / city).mkdir(parents=True, exist_ok=True)
        for f in files:
            (dest / city / f.name).symlink_to(f.resolve())


def parse_variants(spec: str) -> dict[str, list[str]]:
    """'a,b' (names from VARIANTS) or 'name=--flag value' items -> {name: train flags}."""
    chosen = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if "=" in item:
            name, flags = item.split("=", 1)
            chosen[name.strip()] = shlex.split(flags)
        elif item in VARIANTS:
            chosen[item] = VARIANTS[item]
        else:
            raise SystemExit(
                f"unknown variant '{item}'; known: {', '.join(VARIANTS)} (or name=--train-flags …)"
            )
    if not chosen:
        raise SystemExit("no variants given")
    return chosen


# --- the stack -----------------------------------------------------------------------------------------------


def fresh_database(scratch: Path, name: str) -> str:
    """Drop `name` (on the server of DATABASE_URL) and point DATABASE_URL at it, created anew."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme.startswith("postgres"):
        import psycopg2

        admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    use_own_database(scratch, name)  # a SQLite file in scratch when DATABASE_URL is not Postgres
    return os.environ["DATABASE_URL"].rsplit("@", 1)[-1]  # for the table, without credentials


@dataclass
class Dataset:
    cities: list[str]
    n_train: int
    n_holdout: int
    imported: str = ""
    n_leaks: int = 0
    notes: list[str] = field(default_factory=list)


def prepare(photos: Path, scratch: Path, args) -> Dataset:
    """Split, link, seed the cities and import the train part. Django is set up."""
    from django.core.management import call_command

    from cities.models import City

    by_city = list_photos(photos)
    notes = []
    bad = sorted(name for name in by_city if not SLUG.match(name))
    if bad:
        notes.append(f"left out, not a city slug (lower-case letters, digits, '-'): {', '.join(bad)}")
    empty = sorted(name for name, files in by_city.items() if not files and name not in bad)
    if empty:
        notes.append(f"left out, no images: {', '.join(empty)}")
    by_city = {name: files for name, files in by_city.items() if files and name not in bad}
    train, holdout, too_few = holdout_split(by_city, args.holdout, args.seed, args.limit_per_city)
    if too_few:
        notes.append(f"left out, fewer than 2 images: {', '.join(too_few)}")
    if len(train) < 2:
        raise SystemExit(f"{photos} needs at least 2 city folders with 2+ images each; found {len(train)}")
    write_links(train, scratch / "train")
    write_links(holdout, scratch / "holdout")

    call_command("migrate", verbosity=0)
    call_command("seed_cities", verbosity=0, stdout=io.StringIO())
    known = set(City.objects.filter(slug__in=list(train)).values_list("slug", flat=True))
    new = sorted(set(train) - known)
    for slug in new:
        City.objects.create(slug=slug, name=slug.replace("-", " ").replace("_", " ").title())
    if new:
        notes.append(f"not in the catalogue, created as new cities: {', '.join(new)}")

    print(f"Importing {sum(map(len, train.values()))} train photos…", file=sys.stderr)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_photos", str(scratch / "train"), source="bench-real", stdout=out, stderr=err)
    rejected = err.getvalue().strip().splitlines()
    for line in rejected[:5]:
        print(f"  {line}", file=sys.stderr)
    if len(rejected) > 5:
        print(f"  … and {len(rejected) - 5} more rejected", file=sys.stderr)
    imported = out.getvalue().strip().removeprefix("Photos: ").rstrip(".")
    leaks = drop_leaks(scratch / "holdout")
    if leaks:
        notes.append(
            f"{leaks} hold-out photos left out as duplicates of a train photo (the same file, or a near "
            "duplicate of the same city), as the importer judges"
        )
    return Dataset(
        cities=sorted(train),
        n_train=sum(map(len, train.values())),
        n_holdout=sum(map(len, holdout.values())) - leaks,
        imported=imported,
        n_leaks=leaks,
        notes=notes,
    )


def drop_leaks(holdout: Path) -> int:
    """Unlink the hold-out photos that the importer would have refused as duplicates of a stored (train)
    photo: the same file under any city, or a near duplicate under the same city. Files the importer would
    reject for other reasons stay: evaluate reports those it cannot read."""
    from cities.ingest.store import find_duplicate, find_near_duplicate
    from cities.ingest.validation import ImageRejected, validate_image
    from cities.models import City

    cities = City.objects.in_bulk([p.name for p in holdout.iterdir()], field_name="slug")
    dropped = 0
    for link in sorted(holdout.glob("*/*")):
        try:
            valid = validate_image(link.name, link.read_bytes())
        except ImageRejected:
            continue
        if find_duplicate(valid.sha256) or find_near_duplicate(
            cities[link.parent.name], valid.perceptual_hash
        ):
            link.unlink()
            dropped += 1
    return dropped


# --- the runs ------------------------------------------------------------------------------------------------


def run_measured(command: list[str], log: Path) -> dict:
    """Run `command`; its stdout's last line parsed as JSON, its wall time and its own peak RSS (os.wait4)."""
    out_path = log.with_suffix(".out")
    started = time.perf_counter()
    with open(out_path, "w") as out, open(log, "w") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    lines = out_path.read_text(encoding="utf-8").strip().splitlines()
    result = {"rc": process.returncode, "wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "json": None}
    if process.returncode == 0 and lines:
        try:
            result["json"] = json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    if result["json"] is None:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        print(f"  failed (exit {process.returncode}); last lines of {log}:", file=sys.stderr)
        for line in tail:
            print(f"    {line}", file=sys.stderr)
    return result


def run_variant(name: str, flags: list[str], scratch: Path) -> dict:
    from mlworker.models import PhotoEmbedding

    manage = [sys.executable, str(ROOT / "manage.py")]
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    cached = PhotoEmbedding.objects.exists()
    print(
        f"== {name}: train {' '.join(flags) or '(project defaults)'} (log: {logs / name}-train.log)",
        file=sys.stderr,
    )
    train = run_measured(
        [*manage, "train", "--activate", "--skip-small-cities", *flags], logs / f"{name}-train.log"
    )
    row = {"name": name, "flags": flags, "train": train, "cached": cached, "eval": None}
    if train["json"] is None:
        return row
    print("   evaluating on the hold-out…", file=sys.stderr)
    row["eval"] = run_measured(
        [*manage, "evaluate", str(scratch / "holdout"), "--json"], logs / f"{name}-evaluate.log"
    )
    best = next((v for v in train["json"]["versions"] if v["id"] == train["json"]["best_version"]), {})
    if best.get("fine_tuned_blocks") and row["eval"]["json"]:
        # The same model with the other test-time augmentation setting: what the flip is worth, without a
        # second training.
        flag = "--no-tta" if row["eval"]["json"].get("tta") else "--tta"
        print(f"   evaluating again with {flag}…", file=sys.stderr)
        row["eval_other_tta"] = run_measured(
            [*manage, "evaluate", str(scratch / "holdout"), "--json", flag],
            logs / f"{name}-evaluate{flag}.log",
        )
    return row


# --- the table -----------------------------------------------------------------------------------------------


def with_other_tta_rows(rows: list[dict]) -> list[dict]:
    """A row evaluated a second time with the other test-time augmentation setting gets a row of its own."""
    out = []
    for row in rows:
        out.append(row)
        other = row.get("eval_other_tta")
        if other:
            flag = "--tta" if (other["json"] or {}).get("tta") else "--no-tta"
            out.append(
                row
                | {"name": f"{row['name']}, {'with' if flag == '--tta' else 'no'} TTA"}
                | {"flags": [*row["flags"], f"(evaluate {flag})"], "eval": other, "eval_other_tta": None}
            )
    return out


def table(data: Dataset, rows: list[dict], args, database: str, started: float) -> str:
    rows = with_other_tta_rows(rows)

    def backbone_of(best: dict) -> str:
        blocks = best.get("fine_tuned_blocks")
        return best.get("backbone", "") + (f", top {blocks} blocks fine-tuned" if blocks else ", head only")

    def fmt_row(row):
        flags = " ".join(row["flags"]) or "—"
        train, evaluation = row["train"], row["eval"]
        if train["json"] is None:
            return f"| {row['name']} | `{flags}` | train failed (exit {train['rc']}) |" + " |" * 7
        summary = train["json"]
        best = next(
            (v for v in summary.get("versions", []) if v.get("id") == summary.get("best_version")), {}
        )
        timing = (
            f"{summary.get('wall_s', float('nan')):.0f} | {train['wall_s']:.0f} | {train['peak_rss_mib']:.0f} | "
            f"{'yes' if row['cached'] else 'no'}"
        )
        if evaluation is None or evaluation["json"] is None:
            return f"| {row['name']} | `{flags}` | evaluate failed | | | {timing} | {backbone_of(best)} |"
        m = evaluation["json"]
        return (
            f"| {row['name']} | `{flags}` | {m['top1']:.1%} | {m['top5']:.1%} | {m['macro_f1']:.3f} | {timing} | "
            f"{backbone_of(best)} |"
        )

    limit = f", at most {args.limit_per_city} per city" if args.limit_per_city else ""
    lines = [
        f"Real photos: {len(data.cities)} cities ({', '.join(data.cities)}), {data.n_train} train / "
        f"{data.n_holdout} hold-out photos ({args.holdout:.0%} per city held out, seed {args.seed}{limit}); "
        f"train import: {data.imported}. Database {database}; {os.cpu_count()} CPUs.",
        "",
        "| variant | train flags | top-1 | top-5 | macro-F1 | train s | process s | peak RSS MiB | "
        "cached embeddings | model |",
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|---|",
        *(fmt_row(row) for row in rows),
        "",
        "- top-1, top-5, macro-F1: `manage.py evaluate` on the hold-out (macro-F1 over its cities).",
        "- train s: `wall_s` of `manage.py train --activate --skip-small-cities <flags>` (the training, "
        "prediction of every photo and activation); process s: the whole subprocess, with start-up; "
        "peak RSS: that subprocess's ru_maxrss (os.wait4).",
        "- cached embeddings: whether an earlier variant had stored embeddings (of its backbone) already.",
        *(f"- {note}" for note in data.notes),
    ]
    for row in rows:
        m = row["eval"] and row["eval"]["json"]
        if not m:
            continue
        skipped = row["train"]["json"].get("skipped_cities") or []
        worst = sorted(m["per_city"].items(), key=lambda item: item[1]["accuracy"])[:3]
        confused = "; ".join(
            f"{p['true']} → {p['predicted']}: {p['n']} ({p['share']:.0%})" for p in m["confused"]
        )
        lines.append(
            f"- {row['name']}: weakest cities "
            + ", ".join(f"{name} {c['accuracy']:.0%}" for name, c in worst)
            + f"; most confused: {confused or 'none'}"
            + (f"; cities left out of training (too few photos): {', '.join(skipped)}" if skipped else "")
        )
    lines += ["", f"Whole bench {time.perf_counter() - started:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--photos", type=Path, default=os.environ.get("REAL_PHOTOS") or None, help="Default: $REAL_PHOTOS"
    )
    parser.add_argument(
        "--variants",
        default=os.environ.get("REAL_PHOTOS_VARIANTS") or "default",
        help=f"Comma-separated: {', '.join(VARIANTS)}, or name=--train-flags (default: $REAL_PHOTOS_VARIANTS "
        "or default)",
    )
    parser.add_argument("--holdout", type=float, default=0.2, help="Share of each city's photos held out.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--limit-per-city",
        type=int,
        default=int(os.environ["REAL_PHOTOS_LIMIT"]) if os.environ.get("REAL_PHOTOS_LIMIT") else None,
        help="Use at most N photos of each city, for a quick run (default: $REAL_PHOTOS_LIMIT or all)",
    )
    parser.add_argument("--database", default=BENCH_DB, help="Dropped and created afresh.")
    parser.add_argument(
        "--scratch", type=Path, default=SCRATCH, help="Emptied at start; must be under var/ (git-ignored)."
    )
    args = parser.parse_args(argv)
    if args.photos is None:
        print("real_photos: skipped; set REAL_PHOTOS to a folder of <city-slug>/*.jpg to run it.")
        return 0
    if not args.photos.is_dir():
        print(f"real_photos: {args.photos} is not a folder", file=sys.stderr)
        return 1
    variants = parse_variants(args.variants)
    scratch = args.scratch.resolve()
    if not scratch.is_relative_to(ROOT / "var"):
        print(f"real_photos: --scratch must be under {ROOT / 'var'} (git-ignored)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    shutil.rmtree(scratch, ignore_errors=True)  # symlinks, imported copies, models, logs of the last run
    scratch.mkdir(parents=True)
    database = fresh_database(scratch, args.database)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vibes_site.settings.local",
        MEDIA_ROOT=str(scratch / "media"),
        MODELS_ROOT=str(scratch / "models"),  # trained artifacts: private, beside the media
        TF_CPP_MIN_LOG_LEVEL="2",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    data = prepare(args.photos, scratch, args)
    print(
        f"Train: {data.imported}; hold-out: {data.n_holdout} photos ({data.n_leaks} leaks left out).",
        file=sys.stderr,
    )
    rows = [run_variant(name, flags, scratch) for name, flags in variants.items()]
    publish("real_photos", table(data, rows, args, database, started))
    print(f"(split, imported photos, models and logs kept under {scratch.relative_to(ROOT)}/)")
    failed = [row["name"] for row in rows if not (row["eval"] and row["eval"]["json"])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
