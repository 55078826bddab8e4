"""Training the detector (needs the ``train`` extra: torch, transformers, onnx). Never imported at runtime."""
