"""Training experiments as library code: one task = one (arm, seed) training run that logs, checkpoints and
resumes; verdicts are confidence intervals over seeds.

This module is the kit an experiment is written with (everything it imports): ``Experiment``, ``Run`` (its
checkpointed ``steps``, ``log``, and ``seeds(*names)`` for named random streams), ``init_linear_`` (PyTorch's default
init drawn from a generator), ``per_seed``, ``mean_ci`` and the other statistics, ``Verdict`` (a declaration) and the
atomic writers. The runner, ``verify._experiments``, schedules the tasks and decides the verdicts with
``verify._stats.decide_interval`` (the module that decides the claims); numerics never imports verify.

An experiment module defines an :class:`Experiment`: its presets (``quick`` for 2 CPU cores, ``full`` for a
GPU), its arms (the ablation / sweep axis), ``train(run)`` for one task and ``summarize`` / ``figures`` over
all tasks. ``verify._experiments`` schedules the tasks (serially or through Dask) and writes the files.

Resumability contract. ``train`` keeps everything that changes during training in a mutable ``state`` dict
(modules, optimizers, tensors, the task's ``torch.Generator``, plain numbers) and iterates
``for step in run.steps(phase, total, state): ...``. Every ``checkpoint_every`` steps the state, the step
and the length of ``metrics.jsonl`` are saved atomically; after a kill, the same ``train`` call restores the
state in place, truncates ``metrics.jsonl`` to the checkpoint and continues, so a resumed run reaches the same
final result and the same metric lines as an uninterrupted run with the same seed (CPU; tasks run on one
thread so the arithmetic order is fixed). All randomness must come from ``run.generator`` (or generators kept
in ``state``), never from ``random`` / ``numpy.random`` / torch's global generator.

Devices. The generators are CPU generators, so every draw is made on the CPU and then moved to ``run.device``
(``torch.randn(..., generator=g).to(dev)``, ``p.copy_(torch.rand(..., generator=g))``): torch refuses a CPU
generator for a draw that makes or fills a CUDA tensor, and this way a seed gives the same random numbers on
every device (tests/test_experiments.py audits each experiment for this). The arithmetic is not the same on a
GPU (reduction order, cuBLAS, atomics in some backward passes), so bit-identical resume is a CPU guarantee; on
CUDA a resumed run continues from the same state and agrees in distribution, not bit for bit.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ._files import chmod_like_new

__all__ = [
    "METRICS_SCHEMA",
    "Experiment",
    "Run",
    "Verdict",
    "KINDS",
    "Disagreement",
    "exact_estimate",
    "init_linear_",
    "mean_ci",
    "per_seed",
    "spearman",
    "loglog_slope",
    "read_metrics",
    "save_figure",
    "jsonable",
    "write_atomic",
]

METRICS_SCHEMA = "theorycheck.metrics/1"


# --------------------------------------------------------------------------------------------- statistics
def mean_ci(values: Sequence[float], level: float = 0.95) -> dict:
    """Mean and the two-sided Student-t ``level`` interval over independent seeds (n >= 2).

    Non-finite values are an error of the experiment, not a statistic: they are reported, not dropped.
    """
    from scipy import stats

    x = np.asarray(list(values), dtype=float)
    n = int(x.size)
    if n == 0 or not np.all(np.isfinite(x)):
        return {"mean": float(np.mean(x)) if n else math.nan, "lo": math.nan, "hi": math.nan, "n": n, "level": level}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "lo": -math.inf, "hi": math.inf, "n": 1, "level": level}
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n, "level": level}


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties; +inf allowed as 'never', ranked last)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


KINDS = ("finding", "sanity", "reported")


@dataclass
class Verdict:
    """One empirical statement to be decided by a confidence interval over seeds: the interval of ``estimate``
    (``mean_ci``'s output) against ``threshold`` on the claimed side (``direction`` "above" or "below").

    The experiment declares it; the runner decides it with ``verify._stats.decide_verdicts`` (the module that
    decides the claims): ``holds`` on the claimed side, ``fails`` on the other, ``inconclusive`` when the seeds
    cannot tell. Its ``kind``:

    * ``"finding"`` (``asserted=True``, the default): what the experiment asserts of the paper. The findings of a
      run are one family, decided by Holm-Bonferroni at 5%; a finding that fails *or* is inconclusive makes
      ``theorycheck experiment`` exit 1, and the preset's seed count is powered for all of them together.
    * ``"sanity"``: a check that the experiment ran as built (the loss went down, the ODE conserved what it
      must, the run converged). Must hold (exit 1 otherwise), decided on its own, never counted as a finding.
    * ``"reported"`` (``asserted=False``): a comparison reported as a finding of the run, uncorrected (e.g. where
      a small-scale run disagrees with a paper's table); never changes the exit code.
    """

    name: str
    statement: str
    estimate: dict  # mean_ci(...) output
    threshold: float
    direction: str  # "above" or "below"
    asserted: bool = True
    detail: str = ""
    kind: str | None = None  # "finding" / "sanity" / "reported"; default from ``asserted``

    def __post_init__(self):
        if self.direction not in ("above", "below"):
            raise ValueError(f"Verdict direction {self.direction!r}: use 'above' or 'below'")
        if self.kind is None:
            self.kind = "finding" if self.asserted else "reported"
        if self.kind not in KINDS:
            raise ValueError(f"Verdict kind {self.kind!r}: use one of {', '.join(KINDS)}")
        self.asserted = self.kind != "reported"

    def as_dict(self) -> dict:
        """The declaration as JSON (the runner adds ``status`` and the levels)."""
        return {"name": self.name, "statement": self.statement, "kind": self.kind, "asserted": self.asserted,
                "threshold": self.threshold, "direction": self.direction, "estimate": jsonable(self.estimate),
                "detail": self.detail}


@dataclass(frozen=True)
class Disagreement:
    """Where the small-scale run and a seed's table part ways: the result (``topic``), the paper's numbers
    (``paper``, quoted with the table's name) and this run's (``ours``, with its interval). ``status`` says how:
    ``"contradicts"`` when our 95% interval excludes what the paper reports (the direction of an effect, or its
    value), ``"not reproduced"`` when the paper reports an effect and our interval cannot tell it from none (a
    lack of resolution at this scale, not a contradiction). ``summarize`` returns them as ``disagreements``;
    summary.md leads with them."""

    topic: str
    paper: str
    ours: str
    status: str = "contradicts"

    def __post_init__(self):
        if self.status not in DISAGREEMENT_STATUSES:
            raise ValueError(f"Disagreement status {self.status!r}: use one of {', '.join(DISAGREEMENT_STATUSES)}")

    def as_dict(self) -> dict:
        return {"topic": self.topic, "paper": self.paper, "ours": self.ours, "status": self.status}


DISAGREEMENT_STATUSES = ("contradicts", "not reproduced")


def exact_estimate(value: float, n: int) -> dict:
    """A deterministic statistic of the whole run (the largest over seeds, say) in ``mean_ci``'s form: an interval
    of zero width, so a verdict on it is decided exactly (``holds`` iff ``value`` is on the claimed side)."""
    value = float(value)
    return {"mean": value, "lo": value, "hi": value, "n": int(n), "level": 0.95}


# --------------------------------------------------------------------------------------------- initialisation
def init_linear_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Redraw every ``nn.Linear`` in ``module`` (weight, then bias, in module order) from PyTorch's default init,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in place; returns ``module``.

    The numbers are drawn on the CPU from ``generator`` (a CPU generator) and copied into the parameters wherever
    they live: an in-place ``uniform_`` on a CUDA parameter would refuse a CPU generator, and this way a seed gives
    the same weights on every device. (The same numbers, bit for bit, as ``(2 * torch.rand(...) - 1) * bound``.)
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                for p in (layer.weight, layer.bias):
                    if p is not None:
                        p.copy_(torch.empty(p.shape, dtype=p.dtype).uniform_(-bound, bound, generator=generator))
    return module


# --------------------------------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class Experiment:
    """A training experiment: presets, arms, one-task training, and the summary over tasks.

    * ``presets``: ``{"quick": {...}, "full": {...}}``; each config must hold ``seeds`` (default count).
    * ``arms(config) -> list[dict]``: each arm has a unique ``name`` (letters, digits, ``-_.``) and settings.
    * ``train(run) -> dict``: one task (``run.arm``, ``run.seed``, ``run.config``); returns JSON-able results.
    * ``summarize(config, results) -> dict`` with ``verdicts`` (list of :class:`Verdict`), optionally
      ``disagreements`` (list of :class:`Disagreement`), and any tables;
      ``results`` maps ``(arm name, seed)`` to what ``train`` returned.
    * ``figures(config, results, metrics, directory) -> list[str]``: writes PNGs, returns their file names;
      ``metrics(arm, seed)`` returns that task's logged lines.
    """

    name: str
    title: str
    source: str
    presets: Mapping[str, Mapping[str, Any]]
    arms: Callable[[dict], list[dict]]
    train: Callable[["Run"], dict]
    summarize: Callable[[dict, dict], dict]
    figures: Callable[..., list[str]] | None = None
    description: str = ""


class Run:
    """What ``Experiment.train`` gets: the task's settings, its generator, logging and checkpointed steps."""

    def __init__(self, *, experiment: str, arm: dict, seed: int, config: dict, directory: str, device: str,
                 progress: Callable[[str, int, int], None] | None = None):
        self.experiment = experiment
        self.arm = dict(arm)
        self.seed = int(seed)
        self.config = config
        self.directory = directory
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(self.seed)
        self._progress = progress
        os.makedirs(directory, exist_ok=True)
        self.metrics_path = os.path.join(directory, "metrics.jsonl")
        self._journal = os.path.join(directory, "checkpoint-latest.json")
        # Resuming: metrics.jsonl is cut back to the newest checkpoint, and lines are not written again while
        # train() re-walks the phases before it (their lines are already in the file).
        self._replaying: str | None = None
        if os.path.exists(self._journal):
            with open(self._journal, encoding="utf-8") as fh:
                self._replaying = json.load(fh)["phase"]
            saved = _read_checkpoint(self._checkpoint_path(self._replaying))
            _truncate(self.metrics_path, int(saved["metrics_bytes"]))

    # ------------------------------------------------------------------ random streams
    def seeds(self, *names: str) -> dict[str, int]:
        """Independent seeds for the task's named random streams (data, init, augmentations, ...), drawn in order
        from ``run.generator``: a stream's seed depends only on the task seed and its position in ``names``, so
        every arm of one seed gets the same data and initial weights, and appending a name moves no earlier one.
        Call it once, before ``run.generator`` is used for anything else."""
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"Run.seeds{names!r}: give distinct stream names")
        values = torch.randint(0, 2**62, (len(names),), generator=self.generator).tolist()
        return dict(zip(names, values))

    # ------------------------------------------------------------------ logging
    def log(self, step: int, phase: str = "train", **values) -> None:
        """Append one line to ``metrics.jsonl`` (flushed; ``schema``, ``phase``, ``step`` plus the values)."""
        if self._replaying is not None:
            return
        line = {"schema": METRICS_SCHEMA, "phase": phase, "step": int(step)}
        line.update({k: jsonable(v) for k, v in values.items()})
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True, allow_nan=False) + "\n")
            fh.flush()

    # ------------------------------------------------------------------ checkpointed steps
    def _checkpoint_path(self, phase: str) -> str:
        return os.path.join(self.directory, f"checkpoint-{phase}.pt")

    def steps(self, phase: str, total: int, state: dict, checkpoint_every: int | None = None) -> Iterator[int]:
        """Yield the steps ``0..total-1`` of ``phase`` still to do, checkpointing ``state`` along the way.

        On entry, a checkpoint of this phase (from an earlier, killed process) is loaded into ``state`` in place;
        a finished phase yields nothing and leaves ``state`` as it was at its end. The phase of the newest
        checkpoint ends the replay (see ``__init__``): logging resumes there. Phase names must be unique in a task.
        """
        every = checkpoint_every or max(1, total // 10)
        path = self._checkpoint_path(phase)
        start = 0
        if os.path.exists(path):
            saved = _read_checkpoint(path)
            _load_into(state, saved["state"])
            start = int(saved["step"])
            if self._replaying == phase:
                self._replaying = None
        else:  # mark where this phase starts in metrics.jsonl, so a kill before the first checkpoint resumes cleanly
            self._replaying = None
            self._save(path, state, 0, phase)
        for step in range(start, total):
            if self._progress is not None:
                self._progress(phase, step, total)
            yield step
            done = step + 1
            if done % every == 0 or done == total:
                self._save(path, state, done, phase)
        if self._progress is not None:
            self._progress(phase, total, total)

    def _save(self, path: str, state: dict, step: int, phase: str) -> None:
        size = os.path.getsize(self.metrics_path) if os.path.exists(self.metrics_path) else 0
        blob = {"step": step, "metrics_bytes": size, "state": _dump(state)}
        write_atomic(path, lambda tmp: torch.save(blob, tmp))
        # then the journal: which phase holds the newest checkpoint (a kill in between leaves the previous
        # phase named, whose end is consistent with the new phase's step-0 checkpoint; see __init__)
        write_atomic(self._journal, json.dumps({"phase": phase}))


def per_seed(results: Mapping, arm: str, key: str | Callable[[dict], Any], seeds: int) -> np.ndarray:
    """``results[(arm, s)][key]`` (or ``key(result)``) over seeds s = 0..seeds-1, as a float array (seeds, ...);
    a null (a non-finite value of a diverged run) is nan, which ``mean_ci`` reports as nan rather than dropping."""
    get = key if callable(key) else (lambda r: r[key])
    return np.array([get(results[(arm, s)]) for s in range(seeds)], dtype=float)


def write_atomic(path: str, content: str | Callable[[str], object]) -> None:
    """Write ``path`` through a temporary file beside it and a rename: a reader never sees half a file.

    ``content``: the text, or a function that writes the temporary path it is given (torch.save, savefig).
    """
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-", suffix=".part")
    os.close(fd)
    try:
        if isinstance(content, str):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(content)
        else:
            content(tmp)
        chmod_like_new(tmp)                 # mkstemp's 0600 -> what open() would give under the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_metrics(directory: str) -> list[dict]:
    """The logged lines of one task (schema-checked)."""
    path = os.path.join(directory, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("schema") != METRICS_SCHEMA:
                raise ValueError(f"{path}: metrics line with schema {row.get('schema')!r}, expected {METRICS_SCHEMA!r}")
            out.append(row)
    return out


def save_figure(fig, directory: str, filename: str) -> str:
    """Save a matplotlib figure as ``directory/filename`` atomically, close it, return ``filename``."""
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    try:
        write_atomic(os.path.join(directory, filename), lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)
    return filename


# --------------------------------------------------------------------------------------------- state (de)serialisation
class CheckpointError(RuntimeError):
    """A checkpoint that cannot be resumed from; the message says which file and what to do."""


def _read_checkpoint(path: str) -> dict:
    """A checkpoint written by ``Run._save``: tensors, state dicts, generator states and plain values only.

    Loaded with ``weights_only=True``: unpickling runs no code, so a checkpoint from elsewhere cannot execute
    anything; one holding other objects is refused with one line.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} cannot be loaded as tensors and state dicts ({first[:200]}); "
                              "delete it (or the task's directory) to rerun the task from the start") from None


def _dump(obj):
    if isinstance(obj, (nn.Module, torch.optim.Optimizer)):
        return {"__kind__": "state_dict", "value": obj.state_dict()}
    if isinstance(obj, torch.Generator):
        return {"__kind__": "generator", "value": obj.get_state()}
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu").clone()
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_dump(v) for v in obj)
    return obj


def _load_into(target: dict, saved: dict) -> None:
    for key, value in saved.items():
        current = target.get(key)
        if isinstance(value, dict) and value.get("__kind__") == "state_dict":
            current.load_state_dict(value["value"])
        elif isinstance(value, dict) and value.get("__kind__") == "generator":
            current.set_state(value["value"])
        elif isinstance(current, torch.Tensor) and isinstance(value, torch.Tensor):
            with torch.no_grad():
                if current.shape == value.shape:
                    current.copy_(value.to(current.device))
                else:
                    target[key] = value.to(current.device)
        elif isinstance(current, dict) and isinstance(value, dict):
            _load_into(current, value)
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value) and any(
                isinstance(c, (nn.Module, torch.optim.Optimizer, torch.Generator, torch.Tensor, dict)) for c in current):
            holder = dict(enumerate(current))
            _load_into(holder, dict(enumerate(value)))
            current[:] = [holder[i] for i in range(len(current))]
        else:
            target[key] = value


def _truncate(path: str, size: int) -> None:
    if os.path.exists(path) and os.path.getsize(path) > size:
        with open(path, "r+b") as fh:
            fh.truncate(size)


def jsonable(v):
    """Plain JSON: tensors and arrays as numbers/lists, non-finite floats as the strings "nan", "inf", "-inf"."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu()
        return jsonable(v.item() if v.numel() == 1 else v.tolist())
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, (np.floating, np.integer)):
        return jsonable(v.item())
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v
