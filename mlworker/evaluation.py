"""Evaluation of the active model on a folder of labelled photos (`manage.py evaluate PATH`)."""

from pathlib import Path

import numpy as np

from cities.models import City, ModelVersion

from .modeling import TrainingRejected, classifier_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def evaluate_folder(root: Path) -> dict:
    """Top-1, top-5 and macro-F1 of the active model on PATH/<city-slug>/ images, for cities it knows."""
    from sklearn.metrics import f1_score

    from mlworker.ml.training import compute_metrics

    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or version.backbone == ModelVersion.LABEL_ONLY:
        raise TrainingRejected("no trained CNN is active yet; train one first")
    slugs = dict(City.objects.filter(pk__in=version.city_ids).values_list("slug", "pk"))
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
        raise TrainingRejected(f"no images of known cities under {root}")
    prediction = classifier_for(version).predict_paths(paths)
    ok = [int(i) for i in prediction.ok_indices]
    index_of = {city_id: i for i, city_id in enumerate(version.city_ids)}
    y_true = np.array([index_of[labels[i]] for i in ok])
    metrics = compute_metrics(prediction.probabilities, y_true, version.city_ids)
    return {
        "model_version": version.pk,
        "n_images": len(ok),
        "n_cities": len({labels[i] for i in ok}),
        "top1": metrics["top1"],
        "top5": metrics["top5"],
        # Over the cities present in the folder: absent ones would count as zero F1.
        "macro_f1": float(
            f1_score(
                y_true, prediction.probabilities.argmax(axis=1), labels=sorted(set(y_true)), average="macro"
            )
        ),
        "unreadable": [Path(paths[e.index]).name for e in prediction.errors],
        "unknown_cities": unknown,
    }
