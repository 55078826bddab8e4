"""PyTorch fp32 pipelines for `propscope benchmark`: the shipped model's encoder in PyTorch, and the BERT-base
reference (needs the train extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from propscope.detect.core import DetectorCore
from propscope.detect.onnx import OnnxDetector, _one_blas_thread

from .from_onnx import torch_encoder_from_onnx

BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
             "intermediate_size": 3072, "vocab_size": 30522, "max_position_embeddings": 512}
"""The shape of BERT-base (uncased), the encoder of Prta-class systems (about 110 M parameters)."""


class _TorchPipeline:
    """The ONNX detector's tokenizer, heads and decoding around a PyTorch encoder (``self.encoder``), its
    last hidden states optionally multiplied by ``self.proj``."""

    encoder: torch.nn.Module
    proj: torch.Tensor | None = None

    def _wrap(self, onnx_detector: OnnxDetector, threads: int) -> None:
        torch.set_num_threads(threads)
        c = onnx_detector.core
        self.core = DetectorCore(c.tokenizer, self._encode, c.heads, c.config, (c.cls_id, c.sep_id, c.pad_id),
                                 c.lexical)

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            h = self.encoder(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                             ).last_hidden_state
            return (h if self.proj is None else h @ self.proj).numpy()

    def detect(self, texts):
        with _one_blas_thread:  # as the ONNX detector: numpy's small products must not fight torch threads
            return self.core.detect(texts)

    def classify(self, texts, spans):
        with _one_blas_thread:
            return self.core.classify(texts, spans)


class TorchDetector(_TorchPipeline):
    """The shipped model with its encoder weights (dequantized) in PyTorch fp32."""

    def __init__(self, onnx_detector: OnnxDetector, model_dir: Path, threads: int) -> None:
        self._wrap(onnx_detector, threads)
        self.encoder = torch_encoder_from_onnx(model_dir)
        self.name = onnx_detector.name + " (torch fp32)"


class BertBaseReference(_TorchPipeline):
    """The speed reference: the detector's windows, heads and decoding around a BERT-base encoder with
    random weights in PyTorch fp32 (the arithmetic of a Prta-class model; the weights' values do not change
    the cost). A fixed random projection maps its 768-dimensional states to the heads' size."""

    def __init__(self, onnx_detector: OnnxDetector, threads: int, seed: int = 0) -> None:
        from transformers import BertConfig, BertModel

        self._wrap(onnx_detector, threads)
        torch.manual_seed(seed)
        self.encoder = BertModel(BertConfig(**BERT_BASE), add_pooling_layer=False).eval()
        dim = int(onnx_detector.core.heads.a["si_w"].shape[0])
        self.proj = torch.randn(BERT_BASE["hidden_size"], dim) / BERT_BASE["hidden_size"] ** 0.5
        self.name = "BERT-base reference (random weights, PyTorch fp32)"
