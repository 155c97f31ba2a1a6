"""Label noise, photo quality and scene tags measured on real photos against a hand-cleaned list.

    REAL_PHOTOS=/path/to/photos python bench/photo_quality.py --cleaned cleaned.csv \
        [--embeddings var/exp/efficientnet_lite0.npz] [--alias lisboa=lisbon]

REAL_PHOTOS is a folder of <city>/*.jpg; without it the bench says so and exits 0. --cleaned is a CSV with a
`name` column (<folder>/<file>) listing the photos a person kept after cleaning the gallery by hand; every
photo not in it counts as removed by hand (--alias maps the CSV's folder names to REAL_PHOTOS's). Stock
EfficientNet-Lite0 embeddings come from --embeddings (an .npz with `x` and `paths`, as bench scripts write
them) or are computed here (slow on a CPU). Nothing is written to the database or the repository.

Hand-removed photos that are near-duplicates of another photo (cosine >= 0.97 between embeddings) are left
out of the scored figures: the app refuses near-duplicates at upload, so they never reach the gallery.

Prints markdown tables (AUC of each quality variant against removed-by-hand; the share of the gallery cut
while 95% of the kept photos stay; label issues among removed vs kept; scene-tag coverage) and writes them
to bench/results/photo_quality.md.
"""

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import publish  # noqa: E402
from mlworker import quality as q  # noqa: E402

DUPLICATE_COSINE = 0.97


def load_embeddings(root: Path, npz: Path | None) -> tuple[np.ndarray, list[str]]:
    """(x [N, 1280], names '<city>/<file>') for every photo under root."""
    if npz:
        data = np.load(npz)
        names = ["/".join(Path(p).parts[-2:]) for p in data["paths"]]
        return np.asarray(data["x"], np.float32), names
    from mlworker.ml.backbones import build_backbone
    from mlworker.ml.pipeline import embed_paths

    paths = sorted(p for p in root.glob("*/*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    x = embed_paths(build_backbone("efficientnet_lite0"), [str(p) for p in paths])
    return np.asarray(x, np.float32), ["/".join(p.parts[-2:]) for p in paths]


def removed_by_hand(names: list[str], cleaned: Path, alias: dict[str, str]) -> np.ndarray:
    kept = set()
    with open(cleaned, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            folder, _, file = row["name"].partition("/")
            kept.add(f"{alias.get(folder, folder)}/{file}")
    return np.array([n not in kept for n in names])


def near_duplicates(x: np.ndarray) -> np.ndarray:
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    best = np.zeros(len(x))
    for start in range(0, len(x), 1000):
        block = unit[start : start + 1000] @ unit.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = 0
        best[start : start + len(block)] = block.max(axis=1)
    return best >= DUPLICATE_COSINE


def cross_validated_junk(x: np.ndarray, removed: np.ndarray, seed: int = 0) -> np.ndarray:
    """The learned junk detector as if admins had hidden the hand-removed photos (5-fold, out of sample)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(x))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, removed):
        out[test] = q.learned_junk(x[train], removed[train], x[test], seed=seed)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cleaned", type=Path, required=False)
    parser.add_argument("--embeddings", type=Path)
    parser.add_argument("--alias", action="append", default=[], help="csv_folder=photo_folder")
    parser.add_argument("--keep", type=float, default=0.95)
    args = parser.parse_args()
    root = os.environ.get("REAL_PHOTOS")
    if not root:
        print("REAL_PHOTOS is not set: skipping the photo quality bench (see the docstring).")
        return 0
    if not args.cleaned:
        print("--cleaned is required: the list of photos kept after cleaning by hand.")
        return 2
    from sklearn.metrics import roc_auc_score

    from mlworker.ml.imagenet_head import imagenet_probabilities

    x, names = load_embeddings(Path(root), args.embeddings)
    alias = dict(a.split("=", 1) for a in args.alias)
    removed = removed_by_hand(names, args.cleaned, alias)
    cities = sorted({n.split("/")[0] for n in names})
    y = np.array([cities.index(n.split("/")[0]) for n in names])
    oof = q.out_of_sample_probabilities(x, y, len(cities))
    fit = q.city_fit(y, oof)
    issues = q.label_issue_mask(y, oof)
    everything = q.label_issue_mask(y, oof, max_fit=1.0)
    imagenet = imagenet_probabilities(x)
    prior = q.junk_prior(imagenet)
    dup = near_duplicates(x)
    ev = ~(dup & removed)
    learned = np.zeros(len(x))
    learned[ev] = cross_validated_junk(x[ev], removed[ev])

    lines = [
        f"# Photo quality on {len(x)} real photos, {len(cities)} cities",
        "",
        f"Removed by hand: {int(removed.sum())}, of which {int((dup & removed).sum())} near-duplicates "
        f"(cosine >= {DUPLICATE_COSINE}) left out below; out-of-sample city accuracy "
        f"{(oof.argmax(1) == y).mean():.3f}.",
        "",
        f"| quality variant | ROC-AUC vs removed (all) | ROC-AUC (no dups) | threshold keeping {args.keep:.0%} "
        "| gallery cut | hand-removed cut |",
        "|---|---|---|---|---|---|",
    ]
    variants = [("city fit only", fit), ("1 - junk prior (ImageNet head)", 1 - prior)]
    variants += [
        (f"combine(fit, prior, fit_weight={w})", q.combine_quality(fit, prior, w)) for w in (0.2, 0.5, 1)
    ]
    variants += [
        ("1 - learned junk (5-fold, as admin decisions)", 1 - learned),
        ("combine(fit, mean(prior, learned), 0.2)", q.combine_quality(fit, (prior + learned) / 2, 0.2)),
    ]
    for name, score in variants:
        threshold = q.threshold_keeping(score[ev], ~removed[ev], args.keep)
        cut = (score[ev] < threshold).mean()
        caught = (score[ev & removed] < threshold).mean()
        lines.append(
            f"| {name} | {roc_auc_score(removed, -score):.3f} | {roc_auc_score(removed[ev], -score[ev]):.3f} "
            f"| {threshold:.3f} | {cut:.1%} | {caught:.1%} |"
        )
    lines += [
        "",
        "| label issues | photos | share of removed by hand | share of kept |",
        "|---|---|---|---|",
    ]
    for name, mask in [
        ("cleanlab (find_label_issues, both)", everything),
        ("suspects (fit <= 0.02)", issues),
    ]:
        lines.append(
            f"| {name} | {int(mask.sum())} | {mask[removed].mean():.1%} | {mask[~removed].mean():.1%} |"
        )
    lines += ["", "| scene tag threshold | photos with a tag | tags per photo |", "|---|---|---|"]
    for threshold in (0.2, 0.3, 0.4, 0.5):
        tags = q.scene_tags(imagenet, threshold)
        lines.append(
            f"| {threshold} | {np.mean([bool(t) for t in tags]):.1%} | {np.mean([len(t) for t in tags]):.2f} |"
        )
    publish("photo_quality", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
