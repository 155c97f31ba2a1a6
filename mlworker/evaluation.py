"""Evaluation of the active model on a folder of labelled photos (`manage.py evaluate PATH`)."""

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cities.models import City

from .models import ModelVersion
from .services import ModelUnavailable, classifier_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
CONFUSED_PAIRS = 5


def most_confused_pairs(confusion, labels: Sequence[str], top: int = CONFUSED_PAIRS) -> list[dict]:
    """The `top` largest off-diagonal cells of a confusion matrix (rows: true class, columns: predicted).

    Each is {"true", "predicted", "n", "share"}, share being n over the true class's photos. Largest n
    first; ties by the larger share, then by the labels' order, so the list is the same on every run.
    """
    cm = np.asarray(confusion, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(f"expected a {len(labels)}x{len(labels)} confusion matrix, got shape {cm.shape}")
    support = cm.sum(axis=1)
    cells = [
        (int(cm[i, j]), float(cm[i, j] / support[i]), i, j)
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and cm[i, j] > 0
    ]
    cells.sort(key=lambda c: (-c[0], -c[1], c[2], c[3]))
    return [
        {"true": labels[i], "predicted": labels[j], "n": n, "share": share} for n, share, i, j in cells[:top]
    ]


def evaluate_folder(root: Path, tta: bool | None = None) -> dict:
    """Top-1, top-5, macro-F1, per-city accuracy and the most confused pairs of the active model on
    PATH/<city-slug>/ images, for the cities it knows. `tta` overrides the model's own test-time
    augmentation setting (to measure what it is worth)."""
    from sklearn.metrics import f1_score

    from mlworker.ml.training import compute_metrics

    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or version.is_label_only:
        raise ModelUnavailable("no trained CNN is active yet; train one first")
    slug_of = dict(City.objects.filter(pk__in=version.city_ids).values_list("pk", "slug"))
    slugs = {slug: pk for pk, slug in slug_of.items()}
    paths, labels, unknown = [], [], []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        if folder.name not in slugs:
            unknown.append(folder.name)
            continue
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(str(image))
                labels.append(slugs[folder.name])
    if not paths:
        raise ModelUnavailable(f"no images of known cities under {root}")
    classifier = classifier_for(version)
    if tta is not None and tta != classifier.tta:
        classifier = copy.copy(classifier)  # the per-process cached one keeps its setting
        classifier.tta = tta
    prediction = classifier.predict_paths(paths)
    ok = [int(i) for i in prediction.ok_indices]
    index_of = {city_id: i for i, city_id in enumerate(version.city_ids)}
    y_true = np.array([index_of[labels[i]] for i in ok])
    metrics = compute_metrics(prediction.probabilities, y_true, version.city_ids)
    # The version's cities, in its order; one it knows whose row was since deleted keeps its id as a name.
    names = [slug_of.get(city_id, str(city_id)) for city_id in version.city_ids]
    cm = np.asarray(metrics["confusion_matrix"])
    present = sorted(set(y_true.tolist()))
    return {
        "model_version": version.pk,
        "tta": classifier.tta,
        "n_images": len(ok),
        "n_cities": len(present),
        "top1": metrics["top1"],
        "top5": metrics["top5"],
        # Over the cities present in the folder: absent ones would count as zero F1.
        "macro_f1": float(
            f1_score(y_true, prediction.probabilities.argmax(axis=1), labels=present, average="macro")
        ),
        # Only the cities in the folder: the others have no photos to be right or wrong about.
        "per_city": {
            names[i]: {"n": int(cm[i].sum()), "accuracy": float(cm[i, i] / cm[i].sum())} for i in present
        },
        "confused": most_confused_pairs(cm, names),
        "unreadable": [Path(paths[e.index]).name for e in prediction.errors],
        "unknown_cities": unknown,
    }
