"""How long one file may take. Past its budget the analysis stops and the file is reported
``HS002 not analysed: took longer than N s``; the other files go on.

The budget is CPU time, not wall-clock time, so a busy machine does not make files time out.
``check()`` reads the clock at the analysis' checkpoints (after the parse, before each rule);
between them a CPU-time timer (``SIGPROF``; POSIX, main thread only) interrupts a single step
that runs on.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

DEFAULT_SECONDS = 20.0


class OverBudget(BaseException):
    """The file's time is up. A BaseException, so that no ``except Exception`` on the way keeps it."""


class Budget:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.process_time, timer: bool = True) -> None:
        self.seconds = seconds
        self.clock = clock
        self.timer = timer and hasattr(signal, "setitimer")
        self._deadline: float | None = None
        self._armed = False
        self._previous: object = None

    def __enter__(self) -> Budget:
        self._deadline = self.clock() + self.seconds
        if self.timer and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGPROF, _expire)
            self._armed = True
            signal.setitimer(signal.ITIMER_PROF, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self._previous or signal.SIG_DFL)  # type: ignore[arg-type]
            self._armed = False
        self._deadline = None

    def check(self) -> None:
        if self._deadline is not None and self.clock() > self._deadline:
            raise OverBudget


def _expire(signum: int, frame: object) -> None:
    raise OverBudget
