"""The shipped model in PyTorch fp32, for `propscope benchmark`'s comparison (needs the train extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from propscope.detect.core import DetectorCore
from propscope.detect.onnx import OnnxDetector, _one_blas_thread

from .from_onnx import torch_encoder_from_onnx


class TorchDetector:
    """The ONNX detector's tokenizer, heads and decoding around the same encoder weights in PyTorch fp32."""

    def __init__(self, onnx_detector: OnnxDetector, model_dir: Path, threads: int) -> None:
        torch.set_num_threads(threads)
        self.encoder = torch_encoder_from_onnx(model_dir)
        c = onnx_detector.core
        self.core = DetectorCore(c.tokenizer, self._encode, c.heads, c.config, (c.cls_id, c.sep_id, c.pad_id),
                                 c.lexical)
        self.name = onnx_detector.name + " (torch fp32)"

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = self.encoder(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
            return out.last_hidden_state.numpy()

    def detect(self, texts):
        with _one_blas_thread:  # as the ONNX detector: numpy's small products must not fight torch threads
            return self.core.detect(texts)

    def classify(self, texts, spans):
        with _one_blas_thread:
            return self.core.classify(texts, spans)
