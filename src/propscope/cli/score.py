"""`propscope score`: the SemEval-2020 Task 11 scorer on label files, no model needed."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from . import app
from .model import Task, _fail

GoldArg = Annotated[Path, typer.Argument(help="Gold labels: labels-si.tsv (id, start, end) or labels-tc.tsv "
                                         "(id, technique, start, end) layout.")]
PredArg = Annotated[Path, typer.Argument(help="Predictions in the same layout as GOLD.")]


@app.command()
def score(
    gold: GoldArg,
    pred: PredArg,
    task: Annotated[Task, typer.Option(help="si: span identification; tc: technique classification.")
                    ] = Task.si,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Score predictions against gold labels with the SemEval-2020 Task 11 definitions (SI: span P/R/F1 with
    partial overlaps; TC: micro-F1 over rows of the same span)."""
    from ..errors import InputError
    from ..ptc import read_si_labels, read_tc_labels
    from ..scoring import score_si, score_tc

    read = read_si_labels if task is Task.si else read_tc_labels
    try:
        gold_rows, pred_rows = read(gold), read(pred)
    except InputError as e:
        raise _fail(str(e), 2) from None
    result = score_si(pred_rows, gold_rows) if task is Task.si else score_tc(pred_rows, gold_rows)
    if as_json:
        typer.echo(json.dumps({"task": task.value, "gold": str(gold), "pred": str(pred), **asdict(result)},
                              indent=2))
        return
    if task is Task.si:
        typer.echo(f"SI  precision {result.precision:.4f}  recall {result.recall:.4f}  F1 {result.f1:.4f}  "
                   f"({result.n_pred} predicted, {result.n_gold} gold spans, overlaps merged)")
        return
    typer.echo(f"TC  micro-F1 {result.micro_f1:.4f}  precision {result.precision:.4f}  "
               f"recall {result.recall:.4f}  ({result.matched} matched, {result.n_pred} predicted, "
               f"{result.n_gold} gold rows)")
    for name, s in result.per_technique.items():
        typer.echo(f"  {name:<36} support {int(s['support']):>4}  P {s['precision']:.3f}  "
                   f"R {s['recall']:.3f}  F1 {s['f1']:.3f}")
