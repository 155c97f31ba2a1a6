import pytest

from mlworker.backbone_names import BACKBONE_NAMES, DEFAULT_BACKBONE
from mlworker.ml import backbones

pytestmark = pytest.mark.ml


def test_the_tensorflow_free_list_matches_the_registry():
    assert sorted(BACKBONE_NAMES) == sorted(backbones.known_backbones())
    assert DEFAULT_BACKBONE == backbones.DEFAULT_BACKBONE
