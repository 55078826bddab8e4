"""The PyTorch model: a Hugging Face encoder with a BIO head (SI) and a span MLP head (TC)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModel

from propscope.detect.features import N_FEATURES


class PropagandaModel(nn.Module):
    def __init__(self, base_model: str | Path, n_techniques: int = 14, hidden: int = 256,
                 dropout: float = 0.1, layers: int | None = None) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(str(base_model))
        if layers is not None and layers < self.encoder.config.num_hidden_layers:
            self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
            self.encoder.config.num_hidden_layers = layers
        d = self.encoder.config.hidden_size
        self.si = nn.Linear(d, 3)
        self.tc1 = nn.Linear(4 * d + N_FEATURES, hidden)
        self.tc2 = nn.Linear(hidden, n_techniques)
        self.drop = nn.Dropout(dropout)

    def hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state

    def _layers(self, h: torch.Tensor, mask: torch.Tensor, layers: nn.ModuleList) -> torch.Tensor:
        """Run ``layers`` (a slice of the encoder's) on hidden states ``h``, as the full encoder would."""
        from transformers.masking_utils import create_bidirectional_mask

        enc = self.encoder.encoder
        full = enc.layer
        enc.layer = layers  # BertEncoder and MPNetEncoder loop over .layer (MPNet adds a position bias)
        try:
            m = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=h, attention_mask=mask)
            return enc(h, attention_mask=m)[0]
        finally:
            enc.layer = full

    def lower(self, ids: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first ``k`` layers."""
        h = self.encoder.embeddings(input_ids=ids)
        return self._layers(h, mask, self.encoder.encoder.layer[:k]) if k else h

    def upper(self, h: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
        """The last hidden states from the output of ``lower(..., k)``."""
        return self._layers(h, mask, self.encoder.encoder.layer[k:])

    def freeze_lower(self, k: int) -> None:
        """Stop training the embeddings and the first ``k`` layers."""
        for p in self.encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.encoder.encoder.layer[:k]:
            for p in layer.parameters():
                p.requires_grad_(False)

    def si_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.si(self.drop(h))

    def span_logits(self, h: torch.Tensor, spans: list[tuple[int, int, int, int, int, torch.Tensor]]
                    ) -> torch.Tensor:
        """Logits for spans given as (batch row, a, b, ctx_lo, ctx_hi, feats)."""
        rows = []
        for r, a, b, lo, hi, feats in spans:
            hr = h[r]
            rows.append(torch.cat([hr[a:b].mean(0), hr[a], hr[b - 1], hr[lo:hi].mean(0), feats]))
        x = torch.stack(rows)
        return self.tc2(self.drop(nn.functional.gelu(self.tc1(self.drop(x)), approximate="tanh")))

    def head_arrays(self) -> dict[str, np.ndarray]:
        """The heads as the numpy arrays that detect.core.Heads expects."""
        def a(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().float().numpy()

        return {"si_w": a(self.si.weight.T), "si_b": a(self.si.bias),
                "tc_w1": a(self.tc1.weight.T), "tc_b1": a(self.tc1.bias),
                "tc_w2": a(self.tc2.weight.T), "tc_b2": a(self.tc2.bias)}
