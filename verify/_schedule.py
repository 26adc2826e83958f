"""Check claims on every core: one task per claim, in this process or on a Dask cluster (``--scheduler``).

A task names one claim -- a built-in one, or one of a derivation file (its absolute path) -- with the seed,
device, time budget and ``--mutants`` flag. A worker loads the claims itself (built-ins through
``builtin_claims()``, a file through ``load_claims``; once per worker process and file version), checks the
claim with ``check`` and returns ``ClaimResult.to_json()``. The parent prints the results in the claims'
order and writes them in that order, so the output and the results document are those of a serial run,
apart from the timings.

Threads: every claim is checked on one torch thread, whichever scheduler runs it (``one_torch_thread``;
Dask's workers also start with OMP/MKL/OpenBLAS at one thread), so that the arithmetic, and hence the
result, does not depend on the scheduler or the machine's core count. Each worker process captures its
own baseline torch state (``_torchstate.Isolation``) and restores it before every file import and every
claim; the time budget holds on worker threads through ``PyThreadState_SetAsyncExc`` (``_budget``), which
stops Python code between bytecodes: a single C call that blocks (one long ``time.sleep``) is stopped only
when it returns, whereas in this process ``SIGALRM`` interrupts it. Hypothesis draws no constants from the
modules a process happened to import (``_examples.independent_of_imports``, around every search), so a seed gives the same
examples in every process. Local workers are forked from a server that imported torch and the engine once.

``local`` runs in this process when a cluster would not pay for itself or cannot help: fewer than
``PARALLEL_MIN_CLAIMS`` claims (unless ``--workers`` is given), one claim, one worker, or ``--replay``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

from ._errors import UsageError

__all__ = ["Task", "PARALLEL_MIN_CLAIMS", "check_claims", "run_task", "claim_result", "one_torch_thread", "remote_client"]

# A 2-worker local cluster costs about 11 s of wall time on 2 shared cores (the fork server importing torch,
# SymPy and the claims once, the cluster, each worker's first check) against a claim's 0.1-50 s (mean 3.7 s
# over the built-ins): 8 claims of 1.8 s took 14.4 s in this process and 18.0 s on the cluster. With more
# cores the cluster pays sooner; 8 keeps a small run (a derivation file with a few claims) in this process.
PARALLEL_MIN_CLAIMS = 8

# ClaimResult fields that hold text: the other fields' "inf", "-inf", "nan" strings stand for floats.
_TEXT = ("name", "method", "verdict", "expected", "relation", "family", "reference", "statement", "source", "error", "warnings")


@dataclass(frozen=True)
class Task:
    """One claim to check: ``source`` is "builtin" or the derivation file as given (it is recorded in the result
    and in the ``reproduce:`` command); ``path`` the file's absolute path (None for a built-in claim)."""

    name: str
    source: str
    path: str | None
    seed: int
    device: str
    time_budget: float
    mutants: bool


@contextlib.contextmanager
def one_torch_thread():
    """Run the block with one intra-op torch thread (the thread count before it is restored after it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _check(claim, task: Task, *, replay=None, isolation=None, progress=None):
    """``check`` one claim, then its mutation certificate if asked for and the claim is verified as expected."""
    from ._engine import check

    r = check(claim, seed=task.seed, device=task.device, replay=replay, source=task.source,
              time_budget=task.time_budget, progress=progress, isolation=isolation)
    if task.mutants and r.verdict == "verified" and claim.expected == "verified" and replay is None:
        from ._mutants import certify
        if progress is not None:
            progress(f"{claim.name}: mutants ...")
        r.mutants = certify(claim, check, seed=task.seed, device=task.device, isolation=isolation)
        if r.mutants.get("sizes"):
            note = ", ".join(f"{k}={v}" for k, v in r.mutants["sizes"].items())
            r.warnings.append(f"--mutants: certified at the smallest drawn sizes ({note}): a mutant of a closed form "
                              "built per size is made at one size")
    return r


# --------------------------------------------------------------------------------------------- worker side
_WORKER: dict = {}   # per worker process: "isolation" (baseline torch state), "builtin" and (path, mtime, size) -> claims


def _isolation():
    if "isolation" not in _WORKER:
        from ._torchstate import Isolation
        _WORKER["isolation"] = Isolation()
    return _WORKER["isolation"]


def _claims(task: Task) -> dict:
    if task.path is None:
        if "builtin" not in _WORKER:
            from .claims import builtin_claims
            _WORKER["builtin"] = builtin_claims()
        return _WORKER["builtin"]
    stat = os.stat(task.path)
    key = (task.path, stat.st_mtime_ns, stat.st_size)
    if key not in _WORKER:
        from ._loader import load_claims
        iso = _isolation()
        iso.enter()           # imported from the baseline state, which is restored after it, as in this process
        try:
            _WORKER[key] = {c.name: c for c in load_claims(task.path, time_budget=task.time_budget)}
        finally:
            iso.leave()
    return _WORKER[key]


def run_task(task: Task) -> dict:
    """Worker side: check one claim on one torch thread; return ``ClaimResult.to_json()``."""
    import torch
    from numerics import resolve_device

    if "threads" not in _WORKER:
        import warnings

        from hypothesis.errors import HypothesisDeprecationWarning

        torch.set_num_threads(1)
        # Dask's own threads draw from the `random` module while hypothesis generates an example, which
        # hypothesis takes for a strategy using it: not so, and nothing the user can change
        warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies",
                                category=HypothesisDeprecationWarning)
        _WORKER["threads"] = 1
    try:
        resolve_device(task.device)
    except ValueError as exc:
        raise UsageError(f"{exc} (in Dask worker process {os.getpid()}: give the workers GPUs, or use --device cpu)") from None
    claims = _claims(task)      # built-ins are imported before the baseline is captured, as in this process
    claim = claims.get(task.name)
    if claim is None:
        raise LookupError(f"no claim {task.name!r} in {task.source} as this worker loaded it; it has {sorted(claims)}")
    return _check(claim, task, isolation=_isolation()).to_json()


def claim_result(doc: dict):
    """The inverse of ``ClaimResult.to_json``: the strings "inf", "-inf" and "nan" it wrote for floats become floats."""
    from ._results import ClaimResult, _floats

    return ClaimResult(**{k: v if k in _TEXT else _floats(v) for k, v in doc.items()})


def _failed(claim, source: str, exc: BaseException):
    """A task that raised (a worker that died, a file that no longer loads there): the claim's result is an error."""
    from ._results import ClaimResult

    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ClaimResult(name=claim.name, method=claim.method, verdict="error", expected=claim.expected,
                       relation=claim.relation, family=claim.family, reference=claim.reference, statement=claim.statement, source=source,
                       error=f"the Dask task checking it failed: {type(exc).__name__}: {msg}")


# --------------------------------------------------------------------------------------------- parent side
def _bar(total: int):
    """A tqdm bar 'claims k/N [elapsed<remaining]' on stderr when it is a terminal; None otherwise."""
    if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:        # tqdm missing: no bar (the result lines still appear)
        return None
    return tqdm(total=total, desc="claims", unit="claim", file=sys.stderr, leave=False, dynamic_ncols=True)


def _emitter(bar, show):
    if bar is None:
        return show

    def emit(r):
        with type(bar).external_write_mode():   # clear the bar, print, redraw it
            show(r)
    return emit


def check_claims(claims: list, *, seed: int, device, time_budget: float, mutants: bool, replay=None,
                 isolation=None, scheduler: str = "local", workers: int | None = None, show=lambda r: None) -> list:
    """Check ``claims`` (``(Claim, source)`` pairs); call ``show(result)`` for each, in the claims' order.

    Returns the ``ClaimResult`` list in the claims' order. ``scheduler``: "serial" (this process), "local" (a
    local Dask cluster of ``workers`` single-threaded processes, default one per CPU and at most one per claim;
    this process for one claim, one worker, or fewer than ``PARALLEL_MIN_CLAIMS`` claims when ``workers`` is
    not given) or a Dask scheduler's address; a replay always runs here. ``isolation``: the baseline torch
    state of this process's checks (default: the state now).
    """
    tasks = [Task(name=c.name, source=s, path=None if s == "builtin" else os.path.abspath(s), seed=seed,
                  device=str(device), time_budget=time_budget, mutants=mutants) for c, s in claims]
    in_process = scheduler == "serial" or replay is not None or (scheduler == "local" and (
        len(tasks) == 1 or workers == 1 or (workers is None and len(tasks) < PARALLEL_MIN_CLAIMS)))
    workers = workers or min(len(tasks), os.cpu_count() or 1)
    bar = _bar(len(tasks))
    try:
        emit = _emitter(bar, show)
        if in_process:
            return _in_process(claims, tasks, replay, isolation, bar, emit)
        return _on_dask(claims, tasks, scheduler, workers, bar, emit)
    finally:
        if bar is not None:
            bar.close()


def _in_process(claims, tasks, replay, isolation, bar, emit) -> list:
    from ._torchstate import Isolation

    isolation = isolation if isolation is not None else Isolation()
    progress = None if bar is None else (lambda msg: bar.set_postfix_str(msg[:60]))
    results = []
    for (claim, _), task in zip(claims, tasks):
        if progress is not None:
            progress(f"{claim.name} ...")
        results.append(_check(claim, task, replay=replay, isolation=isolation, progress=progress))
        if bar is not None:
            bar.update(1)
        emit(results[-1])
    return results


def _client(scheduler: str, workers: int):
    """A Dask client (and the local cluster it owns, or None) for ``--scheduler``."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UsageError("--scheduler needs dask[distributed]; install it or use --scheduler serial") from None
    if scheduler == "local":
        from ._experiments import local_cluster

        cluster = local_cluster(workers)
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    return remote_client(scheduler), None


def remote_client(address: str):
    """A Dask client of the scheduler at ``address`` (``--scheduler ADDRESS``), or one UsageError line saying why not.

    A TCP address is probed first, so a refused connection (nothing listening) is reported at once instead of
    after the client's 10-second connect timeout.
    """
    import socket
    from urllib.parse import urlsplit

    from distributed import Client

    def refuse(why) -> UsageError:
        return UsageError(f"--scheduler {address!r}: cannot connect ({why}); give a running Dask scheduler's "
                          "address (tcp://HOST:8786), 'local' or 'serial'")

    parts = urlsplit(address)
    if parts.scheme == "tcp" and parts.hostname:
        try:
            port = parts.port or 8786
            with socket.create_connection((parts.hostname, port), timeout=10.0):
                pass
        except (OSError, ValueError) as exc:
            raise refuse(exc) from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise refuse(exc) from None


def _on_dask(claims, tasks, scheduler, workers, bar, emit) -> list:
    from distributed import wait

    client, cluster = _client(scheduler, workers)
    try:
        futures = client.map(run_task, tasks, pure=False)
        index = {f: i for i, f in enumerate(futures)}
        results: list = [None] * len(tasks)
        pending, shown = set(futures), 0
        while pending:
            try:
                done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:          # nothing finished this second: redraw the elapsed time
                if bar is not None:
                    bar.refresh()
                continue
            for future in done:
                i = index[future]
                try:
                    results[i] = claim_result(future.result())
                except Exception as exc:  # a task's exception is re-raised here
                    results[i] = _failed(claims[i][0], claims[i][1], exc)
                future.release()
                if bar is not None:
                    bar.update(1)
            while shown < len(results) and results[shown] is not None:   # print in the claims' order
                emit(results[shown])
                shown += 1
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
