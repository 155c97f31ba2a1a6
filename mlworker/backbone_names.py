"""The registered backbone names, importable without TensorFlow (the admin form lists them).

tests/ml/test_backbone_names.py checks that this list matches mlworker.ml.backbones.known_backbones().
"""

BACKBONE_NAMES = [
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "mobilenet_v2",
    "resnet50",
]
DEFAULT_BACKBONE = "efficientnet_lite0"
OFFLINE_BACKBONES = {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}
