"""TensorFlow core of the CNN feature (the only package allowed to import tensorflow/keras).

No Django imports here. Modules are imported on demand (importing this package
does not load TensorFlow):

- ``torch_legacy``: safe NumPy-only reader for legacy torch ``.pth`` state dicts
- ``efficientnet_lite``: Keras EfficientNet-Lite0/2 with ImageNet weights ported from torch
- ``backbones``: registry of feature extractors (``build_backbone``)
- ``pipeline``: tf.data image decoding (EXIF-aware) and ``embed_paths``
- ``training``: head training on embeddings, metrics, optional fine-tuning
- ``inference``: ``CityClassifier`` save/load/predict and the per-process ``get_classifier`` cache
"""
