"""Time budgets: stop user code that runs past a deadline, in any thread, and say which step it was in.

``Budget(seconds)`` is armed once around a whole claim check (or a file import); ``budget.step(name)``
labels the part of the work that is running (``closed_form``, ``monte_carlo at example typical``...),
so a time-out can say where it happened. When the deadline passes, ``BudgetExceeded`` (a
``BaseException``, so neither user code's ``except Exception`` nor hypothesis swallows it) is raised in
the thread that armed the budget:

* on the main thread by ``SIGALRM`` (``setitimer``), which also interrupts a blocking system call;
* on any other thread (a Dask worker, a pytest-xdist thread) by ``PyThreadState_SetAsyncExc`` from a
  timer thread, the CPython API behind thread interruption.

Either way Python delivers the exception between bytecodes: a callable stuck inside one C call that never
returns to the interpreter (one enormous matmul) is stopped when that call returns.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import signal
import threading
import time

__all__ = ["Budget", "BudgetExceeded"]


class BudgetExceeded(BaseException):
    """The deadline passed; ``step`` names what was running."""

    def __init__(self, step: str):
        super().__init__(step)
        self.step = step


class Budget:
    """A deadline ``seconds`` from ``arm()``; ``inf`` never fires."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.deadline = math.inf
        self.current = "start"
        self._lock = threading.Lock()
        self._armed = False
        self._fired = False
        self._timer: threading.Timer | None = None
        self._thread_id: int | None = None
        self._previous_handler = None

    @property
    def expired(self) -> bool:
        return time.perf_counter() >= self.deadline

    @contextlib.contextmanager
    def step(self, name: str):
        """Label the work inside the block (restored afterwards); raise at once if already expired."""
        outer, self.current = self.current, name
        try:
            if self._armed and self.expired:
                raise BudgetExceeded(name)
            yield
        except BudgetExceeded as exc:
            if exc.step == "start":      # raised asynchronously, without a label: the innermost step's
                exc.step = name
            raise
        finally:
            self.current = outer

    @contextlib.contextmanager
    def armed(self):
        """Arm the deadline for the block. Nested arming of the same budget is a no-op."""
        if self._armed or math.isinf(self.seconds):
            yield self
            return
        self.deadline = time.perf_counter() + self.seconds
        self._armed, self._fired = True, False
        main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        if main:
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-3))
        else:
            self._thread_id = threading.get_ident()
            self._timer = threading.Timer(max(self.seconds, 1e-3), self._interrupt_thread)
            self._timer.daemon = True
            self._timer.start()
        try:
            yield self
        finally:
            with self._lock:
                self._armed = False
                if main:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, self._previous_handler)
                else:
                    self._timer.cancel()
                    if self._fired:   # fired but not yet delivered: withdraw the pending exception
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)

    def _on_alarm(self, signum, frame):
        if self._armed:
            self._fired = True
            raise BudgetExceeded(self.current)

    def _interrupt_thread(self):
        with self._lock:
            if not self._armed:
                return
            self._fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), ctypes.py_object(_StepTimeout))


class _StepTimeout(BudgetExceeded):
    """Raised asynchronously (no constructor arguments can be passed): the step is filled in by ``step()``."""

    def __init__(self, *args):
        super().__init__(args[0] if args else "start")
