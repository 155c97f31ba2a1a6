"""Model versions and what they say about each photo. A probability vector only makes sense together with
its version's city order, so the two live side by side."""

import numpy as np
from django.db import models
from django.db.models import Q

from cities.models import Photo


class ModelVersionQuerySet(models.QuerySet):
    def trained(self):
        """CNN versions, not the label-only baseline."""
        return self.exclude(backbone=ModelVersion.LABEL_ONLY)

    def label_only(self):
        return self.filter(backbone=ModelVersion.LABEL_ONLY)


class ModelVersion(models.Model):
    """A model that maps photos to probability vectors over `city_ids` (the order of every vector)."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    LABEL_ONLY = "label-only"

    name = models.CharField(max_length=120)
    backbone = models.CharField(max_length=60)
    city_ids = models.JSONField(default=list, help_text="City ids in the order of the probability vector.")
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model"
            )
        ]
        # Beyond view/change: what the admin's train view and actions need (mlworker/admin.py).
        permissions = [
            ("train_model", "Can train a new model"),
            ("activate_model", "Can activate a model version (switches the live model)"),
            ("run_inference", "Can run inference with a model version"),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        """What the admin and the job messages call a version: its id first, since retraining the same
        backbone on the same cities gives the same name ("#7 efficientnet_lite0 (12 cities)")."""
        return f"#{self.pk} {self.name}" if self.pk else self.name

    @property
    def n_cities(self) -> int:
        return len(self.city_ids)

    @property
    def is_label_only(self) -> bool:
        return self.backbone == self.LABEL_ONLY


class PhotoPrediction(models.Model):
    """The probability vector of a photo under one model version (float32 bytes, in its city order)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="predictions")
    probabilities = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "photo"], name="one_prediction_per_model")
        ]

    def __str__(self):
        return f"photo {self.photo_id} under model {self.model_version_id}"

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.probabilities, dtype=np.float32)


class PhotoEmbedding(models.Model):
    """Pooled backbone features of a photo (float32 bytes), computed once per backbone and reused.

    Training a new head, predicting and the embedding-based scorers all read these instead of running the
    backbone again.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="embeddings")
    backbone = models.CharField(max_length=60)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo", "backbone"], name="one_embedding_per_backbone")
        ]

    def __str__(self):
        return f"photo {self.photo_id} under {self.backbone}"

    @property
    def array(self) -> np.ndarray:
        return np.frombuffer(self.vector, dtype=np.float32)
