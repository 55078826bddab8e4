"""Ray mode gives the same results as local mode (a local Ray instance with 2 CPUs, started here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from propscope.trace import TraceInput, trace
from propscope.trace.synth import synthetic_corpus

DATA = Path(__file__).parent / "data"
LOADED = (
    "Traitors in Washington betray America again\n\nThe radical, corrupt elites in Washington have "
    "once again stabbed hard-working Americans in the back. These treasonous cowards will destroy our "
    "great nation unless patriots stand up now. The fake news media are the enemy of the people."
)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("ray is not installed (pip install 'propscope[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


def test_trace_ray_equals_local(ray_local: object) -> None:
    from propscope.scale.ray import trace_ray

    arts, planted = synthetic_corpus(400, reuse=0.05, seed=4)
    arts = list(arts) + [
        TraceInput(id="sample", text=(DATA / "trace" / "idlib-truce.txt").read_text(encoding="utf-8")),
        TraceInput(id="reworded", text=(DATA / "trace" / "idlib-reworded.txt").read_text(encoding="utf-8")),
        TraceInput(id="dup", text=(DATA / "trace" / "idlib-reworded.txt").read_text(encoding="utf-8")),
    ]
    local = trace(arts)
    # small chunks and 3 shards: many tasks, so that the shuffle by key really splits the buckets
    remote = trace_ray(arts, chunk=50, shards=3, pair_chunk=7)
    assert len(local.links) >= len(planted)
    assert remote.model_dump(exclude={"stats"}) == local.model_dump(exclude={"stats"})
    assert remote.stats.model_dump(exclude={"seconds"}) == local.stats.model_dump(exclude={"seconds"})


def test_analyze_ray_equals_local(ray_local: object) -> None:
    import propscope
    from propscope.detect.base import load_detector
    from propscope.pipeline import analyze_articles
    from propscope.scale.ray import analyze_ray

    articles = [
        propscope.read(DATA / "article111.txt"),
        propscope.read(LOADED),
        propscope.read(DATA / "trace" / "idlib-truce.txt"),
        propscope.read(DATA / "trace" / "idlib-reworded.txt"),
    ]
    local = analyze_articles(articles, load_detector("fast"))
    remote = analyze_ray(articles, "fast", batch_size=2, workers=2)
    assert [a.article.id for a in remote] == [a.id for a in articles]
    assert [a.model_dump() for a in remote] == [a.model_dump() for a in local]
    assert sum(len(a.spans) for a in remote) > 0


def test_cli_trace_ray_local(ray_local: object) -> None:
    import json

    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    folder = str(DATA / "trace")
    plain = CliRunner().invoke(app, ["trace", folder, "-f", "json"])
    on_ray = CliRunner().invoke(app, ["trace", folder, "-f", "json", "--ray", "local"])
    assert plain.exit_code == 0 and on_ray.exit_code == 0, on_ray.output
    a, b = json.loads(plain.stdout), json.loads(on_ray.stdout)
    assert a["links"] and a["links"] == b["links"] and a["families"] == b["families"]


def test_cli_ingest_ray_stores_what_local_ingest_stores(ray_local: object, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from propscope import Corpus
    from propscope.cli import _register, app

    _register()
    folder = tmp_path / "in"
    shutil.copytree(DATA / "trace", folder)
    shutil.copy(DATA / "article111.txt", folder)
    (folder / "loaded.txt").write_text(LOADED, encoding="utf-8")
    local_db, ray_db = str(tmp_path / "local.db"), str(tmp_path / "ray.db")
    plain = CliRunner().invoke(app, ["ingest", str(folder), "--db", local_db, "--model", "fast"])
    on_ray = CliRunner().invoke(
        app,
        ["ingest", str(folder), "--db", ray_db, "--model", "fast", "--ray", "local", "--batch-size", "2"],
    )
    assert plain.exit_code == 0 and on_ray.exit_code == 0, on_ray.output

    def stored(db: str) -> list[tuple]:
        with Corpus(db) as corpus:
            out = []
            for s in corpus.iter_articles():
                an = corpus.article(s.id).analysis
                out.append((s.article.id, an.article.text, an.model, an.score, an.spans, an.sentences))
            return out

    a, b = stored(local_db), stored(ray_db)
    assert len(a) == 6 and sum(len(x[4]) for x in a) > 0
    assert a == b
    traced = CliRunner().invoke(app, ["trace", "--db", ray_db, "--ray", "local", "-f", "json"])
    assert traced.exit_code == 0, traced.output
    with Corpus(ray_db) as corpus:
        assert corpus.reuse_stats().flows, "the Ray trace was saved in the store"
