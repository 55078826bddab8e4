"""Ray versions of `trace` and of analysis: the same steps as in one process, spread over a Ray cluster.

    trace_ray(articles, address=None)          LSH banding and pair alignment as Ray tasks; same TraceResult
    analyze_ray(articles, model, address=None) Ray Data batches over actors that load the model once

``address`` None starts a local Ray instance (``num_cpus`` CPUs); "auto" joins the cluster this machine is
part of; "ray://HOST:10001" connects to a remote cluster's client server. Ray is imported here only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import Analysis, Article
from ..trace.core import TraceParams, finish, link_pairs, prepare, to_input
from ..trace.model import ReuseLink, TraceInput, TraceResult
from ..trace.shingles import LshParams, article_keys, bucket_pair_hits, merge_pair_hits, select_pairs


def init(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to (or start) Ray once; return the ray module."""
    import ray

    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
        if address is None:
            kwargs.update(num_cpus=num_cpus, include_dashboard=False)
        ray.init(address=address, **kwargs)
    return ray


def _keys_chunk(texts: list[str], idx: list[int], lsh: LshParams, shards: int) -> tuple:
    """Band keys of a chunk of articles, split into ``shards`` parts by key; plus the number of windows."""
    keys, owners, windows = [], [], 0
    for text, k in zip(texts, idx, strict=True):
        kk, nw = article_keys(text, lsh)
        windows += nw
        keys.append(kk)
        owners.append(np.full(len(kk), k, dtype=np.int32))
    allk = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    allo = np.concatenate(owners) if owners else np.empty(0, dtype=np.int32)
    part = (allk.view(np.uint64) % np.uint64(shards)).astype(np.int64)
    return (windows, *[(allk[part == s], allo[part == s]) for s in range(shards)])


def _shard_pairs(lsh: LshParams, *parts: tuple[np.ndarray, np.ndarray]) -> tuple:
    """Pairs and hits of the buckets of one shard of band keys (one part from every chunk)."""
    keys = np.concatenate([k for k, _ in parts])
    idx = np.concatenate([i for _, i in parts])
    return bucket_pair_hits(keys, idx, lsh)


def _align_chunk(
    items: list[TraceInput], masked: dict[int, str], pairs: np.ndarray, params: TraceParams
) -> list[dict]:
    """Links of a chunk of pairs, as dicts (indices into ``items``, which holds only the chunk's articles)."""
    return [lk.model_dump(by_alias=True) for lk in link_pairs(items, pairs, params.align, masked)]


def trace_ray(
    articles: Sequence[TraceInput | Article],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    params: TraceParams | None = None,
    chunk: int = 2000,
    shards: int | None = None,
    pair_chunk: int = 500,
) -> TraceResult:
    """``propscope.trace.trace`` on Ray: the same result, with banding and alignment done by Ray tasks.

    Articles are read and ordered on the driver; band keys are computed by tasks over ``chunk`` articles and
    shuffled into ``shards`` by key; each shard finds its buckets' pairs; the driver sums the hits and keeps
    each article's best partners; tasks align ``pair_chunk`` pairs each.
    """
    ray = init(address, num_cpus)
    params = params or TraceParams()
    t0 = time.perf_counter()
    prep = prepare([to_input(a) for a in articles], params)
    t1 = time.perf_counter()
    n_shards = shards or max(1, int(ray.available_resources().get("CPU", 1)))
    keys_task = ray.remote(_keys_chunk).options(num_returns=1 + n_shards)
    shard_task = ray.remote(_shard_pairs)
    align_task = ray.remote(_align_chunk)

    windows_refs, chunk_refs = [], []
    for lo in range(0, len(prep.eligible), chunk):
        idx = prep.eligible[lo : lo + chunk]
        texts = [prep.masked.get(k, prep.items[k].text) for k in idx]
        w_ref, *parts = keys_task.remote(texts, idx, params.lsh, n_shards)
        windows_refs.append(w_ref)
        chunk_refs.append(parts)
    # shard s of every chunk goes to one task: a shuffle by key, so that every bucket is whole in one shard
    shard_refs = (
        [shard_task.remote(params.lsh, *[parts[s] for parts in chunk_refs]) for s in range(n_shards)]
        if chunk_refs
        else []
    )
    results = ray.get(shard_refs)
    prep.stats.windows += sum(ray.get(windows_refs)) if windows_refs else 0
    prep.stats.capped_buckets += sum(c for _, _, c in results)
    pairs, hits = merge_pair_hits([(p, h) for p, h, _ in results])
    pairs = select_pairs(pairs, hits, params.lsh)
    prep.stats.candidate_pairs = len(pairs)
    t2 = time.perf_counter()

    link_refs = []
    for lo in range(0, len(pairs), pair_chunk):
        part = pairs[lo : lo + pair_chunk]
        used = sorted(set(part.ravel().tolist()))
        local = {k: n for n, k in enumerate(used)}
        items = [prep.items[k] for k in used]
        masked = {local[k]: prep.masked[k] for k in used if k in prep.masked}
        remap = np.vectorize(local.__getitem__, otypes=[np.int64])(part) if len(part) else part
        link_refs.append(align_task.remote(items, masked, remap, params))
    links = [ReuseLink.model_validate(d) for ref in link_refs for d in ray.get(ref)]
    prep.stats.aligned_pairs = len(pairs)
    t3 = time.perf_counter()
    result = finish(prep, links, params)
    result.stats.seconds = {
        "prepare": round(t1 - t0, 3),
        "candidates": round(t2 - t1, 3),
        "align": round(t3 - t2, 3),
        "finish": round(time.perf_counter() - t3, 3),
    }
    return result


class _Analyzer:
    """A Ray Data actor: loads the detector once, analyses batches of articles (JSON strings)."""

    def __init__(self, model: str | None) -> None:
        from ..detect.base import load_detector

        self.detector = load_detector(model)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from ..pipeline import analyze_articles

        arts = [Article.model_validate_json(x) for x in batch["article"]]
        out = analyze_articles(arts, self.detector)
        dumped = np.array([a.model_dump_json() for a in out], dtype=object)
        return {"i": np.asarray(batch["i"]), "analysis": dumped}


def analyze_ray(
    articles: Sequence[Article],
    model: str | Path | None = None,
    address: str | None = None,
    *,
    workers: int = 2,
    batch_size: int = 16,
    num_cpus: int | None = None,
) -> list[Analysis]:
    """Analyse articles with Ray Data: batches of ``batch_size`` over ``workers`` actors, each loading the
    model once. The analyses come back in the order of ``articles``, equal to those of ``analyze_articles``.
    """
    ray = init(address, num_cpus)
    if not articles:
        return []
    ds = ray.data.from_items([{"i": i, "article": a.model_dump_json()} for i, a in enumerate(articles)])
    out = ds.map_batches(
        _Analyzer,
        fn_constructor_args=(None if model is None else str(model),),
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    rows = sorted(out.take_all(), key=lambda r: int(r["i"]))
    return [Analysis.model_validate_json(r["analysis"]) for r in rows]


__all__ = ["analyze_ray", "init", "trace_ray"]
