import numpy as np
import pytest

from mlworker.models import ModelVersion
from mlworker.services import activate, write_predictions


@pytest.fixture
def trained_model(photo_set):
    photos = photo_set()
    baseline = ModelVersion.objects.get(is_active=True)
    version = ModelVersion.objects.create(
        name="cnn", backbone="efficientnet_lite0", city_ids=baseline.city_ids, status="ready",
        metrics={
            "top1": 0.9, "top5": 1.0, "macro_f1": 0.88, "val_macro_f1": 0.9, "n_test": 10, "n_photos": 12,
            "per_class_accuracy": {str(c): 0.9 for c in baseline.city_ids},
            "confusion_matrix": [[3, 1, 0], [0, 4, 0], [0, 0, 2]],
            "history": {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.4, 0.8, 0.9]},
        },
    )  # fmt: skip
    ids = [p.pk for city in photos.values() for p in city]
    write_predictions(version, ids, np.full((len(ids), 3), 1 / 3, dtype=np.float32))
    activate(version)
    return version
