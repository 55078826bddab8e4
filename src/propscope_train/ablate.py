"""TC-head ablations on a trained model's frozen encoder: refit the span classifier with parts of its
input removed (document features, article context, first/last tokens) and score TC on dev.

    python -m propscope_train.ablate --model runs/m1 --data ../shared/data/ptc

Each variant is the same two-layer MLP trained the same way on the same frozen span vectors, so the
table isolates what each input gives the technique classifier.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from propscope.detect.features import DocFeatures
from propscope.detect.onnx import OnnxDetector
from propscope.ptc import PtcDocument, load_split
from propscope.scoring import score_tc
from propscope.techniques import TECHNIQUES


def span_table(det: OnnxDetector, docs: list[PtcDocument]):
    """Span vectors, soft targets and (id, start, end, k) of every gold span group."""
    from propscope.detect.core import span_vector, token_range

    X, Y, keys = [], [], []
    tindex = {t: i for i, t in enumerate(TECHNIQUES)}
    for k in range(0, len(docs), 16):
        chunk = docs[k : k + 16]
        for d, (enc, h) in zip(chunk, det.core.hidden_states([x.text for x in chunk]), strict=True):
            groups = d.tc_groups()
            df = DocFeatures(d.text)
            for (s, e), techs in groups.items():
                a, b = token_range(enc.offsets, s, e)
                X.append(span_vector(h, a, b, df.span(s, e)[: det.core.heads.n_features]))
                y = np.zeros(len(TECHNIQUES), np.float32)
                for t in techs:
                    y[tindex[t]] += 1 / len(techs)
                Y.append(y)
                keys.append((d.id, s, e, techs))
    return np.stack(X).astype(np.float32), np.stack(Y), keys


def fit_predict(Xtr, Ytr, Xte, seed: int = 0, epochs: int = 40, hidden: int = 256,
                class_weight: np.ndarray | None = None) -> np.ndarray:
    torch.manual_seed(seed)
    d = Xtr.shape[1]
    net = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(d, hidden), torch.nn.GELU(),
                              torch.nn.Dropout(0.1), torch.nn.Linear(hidden, Ytr.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(Ytr)
    w = torch.ones(Ytr.shape[1]) if class_weight is None else torch.from_numpy(class_weight).float()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(xt), generator=g).split(64):
            loss = -(yt[idx] * w * torch.log_softmax(net(xt[idx]), -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(Xte)), -1).numpy()


def tc_f1(probs: np.ndarray, keys) -> float:
    pred, gold = [], []
    for p, (aid, s, e, techs) in zip(probs, keys, strict=True):
        top = np.argsort(-p)[: len(techs)]
        pred += [(aid, TECHNIQUES[int(i)], s, e) for i in top]
        gold += [(aid, t, s, e) for t in techs]
    return score_tc(pred, gold).micro_f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    det = OnnxDetector(args.model, threads=args.threads)
    train = load_split(f"{args.data}/train")
    dev = load_split(f"{args.data}/dev")
    Xtr, Ytr, _ = span_table(det, train)
    Xte, _, keys = span_table(det, dev)
    print(f"span vectors: {len(Xtr)} train, {len(Xte)} dev", flush=True)
    dim = (Xtr.shape[1] - det.core.heads.n_features) // 4
    parts = {"mean": slice(0, dim), "first": slice(dim, 2 * dim), "last": slice(2 * dim, 3 * dim),
             "context": slice(3 * dim, 4 * dim), "features": slice(4 * dim, None)}

    def without(*names: str):
        keep = np.ones(Xtr.shape[1], bool)
        for n in names:
            keep[parts[n]] = False
        return Xtr[:, keep], Xte[:, keep]

    freq = Ytr.sum(0)
    variants = {
        "all inputs (shipped head design)": (Xtr, Xte, None),
        "- document features": (*without("features"), None),
        "- article context": (*without("context"), None),
        "- first/last tokens": (*without("first", "last"), None),
        "mean pooling only": (*without("first", "last", "context", "features"), None),
        "all inputs, class weights 1/sqrt(freq)": (Xtr, Xte, (freq.mean() / freq) ** 0.5),
    }
    print(f"TC micro-F1 on dev ({len(keys)} gold span groups), head refit on frozen encoder of {det.name}, "
          f"mean of {args.seeds} seeds")
    print("| TC head input | dev TC micro-F1 |\n|---|---|")
    for name, (a, b, cw) in variants.items():
        f = np.mean([tc_f1(fit_predict(a, Ytr, b, seed=s, class_weight=cw), keys) for s in range(args.seeds)])
        print(f"| {name} | {f:.4f} |", flush=True)


if __name__ == "__main__":
    main()
