"""Training CNN model versions: the Django side of mlworker.ml.train_head / fine_tune.

TensorFlow is imported inside functions only (through mlworker.ml), so importing this module is cheap and the
web process can reference it without loading TensorFlow.
"""

import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from cities.models import Photo

from . import photo_quality
from .artifacts import store_classifier
from .embeddings import (
    TrainingPhoto,
    all_photos,
    embedding_key,
    ensure_embeddings,
    model_cache_dir,
    open_photo,
    progress_noop,
    stock_backbone,
)
from .models import ModelVersion
from .services import activate, predict_version

log = logging.getLogger(__name__)

MIN_PHOTOS_PER_CITY = 5


class TrainingRejected(ValueError):
    """The request cannot produce a model (unknown backbone, too few cities or photos)."""


# Fine-tuning pays once there are enough photos to adapt the backbone to (docs/ml.md has the table).
FINE_TUNE_MIN_PHOTOS = 500
FINE_TUNE_BLOCKS = 8
FINE_TUNE_EPOCHS = 8
# The backbone whose stock features (and ImageNet head) judge label noise, quality and scene tags. It is
# always the ImageNet one, whatever the classifier is trained on, so its features are computed once.
QUALITY_BACKBONE = "efficientnet_lite0"


@dataclass
class TrainingOptions:
    backbones: list[str] = field(default_factory=lambda: ["efficientnet_lite0"])
    epochs: int = 100
    # None: fine-tune FINE_TUNE_BLOCKS blocks when at least FINE_TUNE_MIN_PHOTOS photos train, else not.
    fine_tune_blocks: int | None = None
    fine_tune_epochs: int | None = None  # None: FINE_TUNE_EPOCHS
    # A fine-tuned model embeds each photo as the mean of it and its mirror image. Off: on real photos it
    # changed top-1 by -0.1 points for twice the inference work (docs/ml.md).
    tta: bool = False
    # Train without the photos that label-noise detection flags as suspect. Off: on real photos most suspects
    # are good photos of look-alike cities, and leaving them out cost 2.3 points of top-1 (docs/ml.md).
    drop_suspects: bool = False
    activate: bool = False
    skip_small_cities: bool = False
    seed: int = 0
    # Tests train tiny random-weight backbones; production uses ImageNet weights at the default size.
    weights: str | None = "imagenet"
    input_size: int | None = None

    @classmethod
    def from_params(cls, params: dict) -> "TrainingOptions":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(params) - known
        if unknown:
            raise TrainingRejected(f"unknown training options: {', '.join(sorted(unknown))}")
        return cls(**params)

    def blocks_to_fine_tune(self, n_photos: int) -> int:
        if self.fine_tune_blocks is not None:
            return self.fine_tune_blocks
        if self.weights != "imagenet" or n_photos < FINE_TUNE_MIN_PHOTOS:
            return 0
        return FINE_TUNE_BLOCKS


# --- the training set ----------------------------------------------------------------------------------


def training_photos(*, skip_small_cities: bool = False) -> tuple[list[TrainingPhoto], list[str]]:
    """Active photos of active cities, labelled by the city they were filed under.

    A city with fewer than MIN_PHOTOS_PER_CITY photos cannot be split for evaluation: that is an error, or
    the city is left out (and named) when `skip_small_cities` is set.
    """
    rows = Photo.objects.filter(status=Photo.Status.ACTIVE, city__active=True).values_list(
        "pk", "city_id", "image", "city__name"
    )  # photos the admin hid never train
    by_city: dict[int, list[TrainingPhoto]] = {}
    names: dict[int, str] = {}
    for pk, city_id, image, name in rows.order_by("city_id", "pk"):
        by_city.setdefault(city_id, []).append(TrainingPhoto(pk, city_id, image))
        names[city_id] = name
    small = sorted(names[c] for c, photos in by_city.items() if len(photos) < MIN_PHOTOS_PER_CITY)
    if small and not skip_small_cities:
        raise TrainingRejected(
            f"every city needs at least {MIN_PHOTOS_PER_CITY} photos; too few for: {', '.join(small)} "
            "(add photos, hide the city, or choose to leave small cities out)"
        )
    kept = {c: photos for c, photos in by_city.items() if len(photos) >= MIN_PHOTOS_PER_CITY}
    if len(kept) < 2:
        raise TrainingRejected(
            f"training needs at least 2 cities with {MIN_PHOTOS_PER_CITY}+ photos; found {len(kept)}"
        )
    return [p for c in sorted(kept) for p in kept[c]], small


# --- backbones and embeddings ----------------------------------------------------------------------------


def check_backbone_names(names: list[str]) -> None:
    from mlworker.ml.backbones import known_backbones

    unknown = [n for n in names if n not in known_backbones()]
    if unknown or not names:
        raise TrainingRejected(
            f"unknown backbone {', '.join(unknown) or '(none given)'}; known: {', '.join(known_backbones())}"
        )


# --- training ----------------------------------------------------------------------------------------------


def _train_one(
    backbone_name: str, options: TrainingOptions, photos: list[TrainingPhoto], progress, job_id: int | None
) -> ModelVersion:
    from mlworker.ml.backbones import build_backbone
    from mlworker.ml.inference import CityClassifier
    from mlworker.ml.training import compute_device, compute_metrics, encode_labels, fine_tune, train_head

    started = time.monotonic()
    city_ids = sorted({p.city_id for p in photos})
    version = ModelVersion.objects.create(
        name=f"{backbone_name} ({len(city_ids)} cities)",
        backbone=backbone_name,
        city_ids=city_ids,
        # The job lets the sweep (services.fail_abandoned_trainings) fail a version whose worker died.
        params=asdict(options) | {"backbones": [backbone_name], "job": job_id},
        status=ModelVersion.Status.TRAINING,
    )
    try:
        if options.weights == "imagenet":
            backbone = stock_backbone(backbone_name, options.input_size)
        else:
            backbone = build_backbone(backbone_name, weights=None, input_size=options.input_size)
        key = embedding_key(backbone, version)
        vectors, errors = ensure_embeddings(backbone, key, photos, progress)
        usable = [p for p in photos if p.photo_id in vectors]
        x = np.stack([vectors[p.photo_id] for p in usable])
        labels = [p.city_id for p in usable]
        result = train_head(
            x,
            labels,
            classes=city_ids,
            seed=options.seed,
            epochs=options.epochs,
            on_epoch=lambda k, n, logs: progress(k, n, f"{backbone_name}: epoch {k}/{n}"),
        )
        head, metrics, history = result.head, result.metrics, result.history
        y, _ = encode_labels(labels, city_ids)
        val_probs = head.predict(x[result.split.val], verbose=0)
        metrics["val_macro_f1"] = compute_metrics(val_probs, y[result.split.val], city_ids)["macro_f1"]
        blocks = options.blocks_to_fine_tune(len(usable))
        if blocks:
            if options.weights == "imagenet":  # never fine-tune the shared per-process copy
                backbone = build_backbone(backbone_name, weights="imagenet", cache_dir=model_cache_dir())
            epochs = options.fine_tune_epochs or FINE_TUNE_EPOCHS
            tuned = fine_tune(
                backbone,
                head,
                [p.name for p in usable],
                labels,
                classes=city_ids,
                split=result.split,  # the head's test photos stay unseen
                unfreeze_blocks=blocks,
                epochs=epochs,
                seed=options.seed,
                tta=options.tta,
                on_batch=lambda k, n: progress(k, n, f"{backbone_name}: fine-tuning, batch {k}/{n}"),
                open_file=open_photo,
            )
            metrics = tuned.metrics | {"head_only": metrics}
            history = {"head": history, "fine_tune": tuned.history}
        classifier = CityClassifier(backbone, head, city_ids, tta=bool(blocks) and options.tta)
        artifact = store_classifier(classifier, version.pk)
        version.metrics = metrics | {
            "history": history,
            "skipped_photos": errors,
            "n_photos": len(usable),
            "fine_tuned_blocks": blocks,
            "train_seconds": round(time.monotonic() - started, 1),
            "device": compute_device(),
        }
        version.artifact_path = str(artifact)
        version.params["embedding_key"] = embedding_key(backbone, version)
        version.save(update_fields=["metrics", "artifact_path", "params"])
        predict_version(version, progress=progress)
        version.status = ModelVersion.Status.READY
        version.save(update_fields=["status"])
        return version
    except BaseException as exc:  # a stopped job (SoftTimeLimitExceeded, KeyboardInterrupt) too
        version.status = ModelVersion.Status.FAILED
        version.metrics = {"error": f"{type(exc).__name__}: {exc}"}
        version.save(update_fields=["status", "metrics"])
        raise


def _quality_vectors(photos: list[TrainingPhoto], progress) -> dict[int, np.ndarray]:
    """Stock QUALITY_BACKBONE features of `photos` (cached; shared with training on that backbone)."""
    vectors, _ = ensure_embeddings(stock_backbone(QUALITY_BACKBONE), QUALITY_BACKBONE, photos, progress)
    return vectors


def _without_suspects(photos: list[TrainingPhoto], progress) -> tuple[list[TrainingPhoto], set[int]]:
    """The training set less the photos that label-noise detection flags as junk or filed wrongly."""
    vectors = _quality_vectors(photos, progress)
    known = [p for p in photos if p.photo_id in vectors]
    progress(0, 1, "Looking for photos filed under the wrong city")
    suspects = photo_quality.suspect_photo_ids(
        [p.photo_id for p in known],
        [p.city_id for p in known],
        np.stack([vectors[p.photo_id] for p in known]),
    )
    return [p for p in photos if p.photo_id not in suspects], suspects


def train(options: TrainingOptions, progress=progress_noop, job_id: int | None = None) -> dict:
    """Train one version per backbone, keep the best by validation macro-F1, score every photo's quality,
    and activate the best version if asked.

    A failure or a stop leaves the active model untouched: activation is the last step and happens only on
    success.
    """
    started = time.monotonic()
    check_backbone_names(options.backbones)
    photos, skipped_cities = training_photos(skip_small_cities=options.skip_small_cities)
    suspects: set[int] = set()
    if options.drop_suspects:
        photos, suspects = _without_suspects(photos, progress)
    versions = [_train_one(name, options, photos, progress, job_id) for name in options.backbones]
    best = max(versions, key=lambda v: v.metrics.get("val_macro_f1", 0.0))
    assessment = photo_quality.assess_photos(_quality_vectors(all_photos(), progress), progress)
    if options.activate:
        activate(best, progress)
    summary = {
        "best_version": best.pk,
        "activated": options.activate,
        "skipped_cities": skipped_cities,
        "suspects_left_out": len(suspects),
        "quality": assessment,
        "wall_s": round(time.monotonic() - started, 1),
        "versions": [
            {
                "id": v.pk,
                "backbone": v.backbone,
                **{
                    k: v.metrics.get(k)
                    for k in (
                        "top1",
                        "top5",
                        "macro_f1",
                        "val_macro_f1",
                        "n_test",
                        "n_photos",
                        "fine_tuned_blocks",
                        "train_seconds",
                        "device",
                    )
                },
            }
            for v in versions
        ],
    }
    summary["message"] = (
        f"Trained {len(versions)} version(s) without {len(suspects)} suspect photo(s); best: #{best.pk} "
        f"{best.backbone} (top-1 {best.metrics.get('top1', 0):.1%}, macro-F1 {best.metrics.get('macro_f1', 0):.2f})"
        + ("; activated." if options.activate else ".")
    )
    return summary
