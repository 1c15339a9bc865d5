"""Analysis in child processes that may die: a crash or a runaway parse costs one file, never the run.

libcst's native parser can overflow its stack (the process dies of SIGSEGV) and cannot be
interrupted while it runs. So files are analysed in worker processes, one file at a time each:
a worker that dies takes only the file it had (the caller reports it), and a new one takes its
place. The kernel limits each worker's CPU time to the file's budget plus a second
(``RLIMIT_CPU``: SIGXCPU ends it), so even a parse stops at the budget; its address space to
``WORKER_MEMORY``; and it dumps no core.

Workers are ``python -m hs_lint.workers`` processes reading calls (a module-level function and
its arguments, pickled) on stdin and answering on stdout. Unlike multiprocessing's they can be
started from anywhere, a daemonic flake8 worker included. They ignore Ctrl-C (the parent kills
them at once), die with their parent (Linux), and their stderr is discarded: nothing they print
reaches the user.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

WORKER_MEMORY = 4 << 30  # libcst needs about 100 MB per 10,000 lines; files are at most 1 MB
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


class Died(Exception):
    """The worker ended while it had a call; ``timed_out``: its CPU limit (the file's budget) ended it."""

    one_line = True  # the message is the whole summary, for an HS001 finding

    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode
        self.timed_out = hasattr(signal, "SIGXCPU") and returncode == -signal.SIGXCPU
        super().__init__(f"the analysis process died ({_status(returncode)})")


class Failed(Exception):
    """The call raised in the worker; the message is its one-line summary (``TypeName: message``)."""

    one_line = True


def _status(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-returncode).name
    return f"exit status {returncode}"


class Worker:
    """One worker process, started on the first call (with ``setup`` first) and again after it dies."""

    def __init__(self, setup: tuple[Callable[..., Any], tuple[Any, ...]] | None = None) -> None:
        self.setup = setup
        self.process: subprocess.Popen[bytes] | None = None

    def call(self, seconds: float | None, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in the worker, with ``seconds`` of CPU (None: no limit); raises Died or Failed."""
        if self.process is None:
            self.start()
        return self._ask(seconds, function, args)

    def start(self) -> None:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, os.environ.get("PYTHONPATH")]))
        with interrupts_held():  # born with Ctrl-C blocked, until it ignores it
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hs_lint.workers", str(os.getpid())], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment,
            )
        if self.setup is not None:
            try:
                self._ask(None, self.setup[0], self.setup[1])
            except Failed:
                self.stop()
                raise

    def _ask(self, seconds: float | None, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        try:
            pickle.dump((seconds, function, args), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
            done, value = pickle.load(process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.stop()
            raise Died(process.wait()) from None
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # the call cannot be sent: a bug of ours
            self.stop()  # (half a request may have gone)
            raise Failed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from None
        if not done:
            raise Failed(value)
        return value

    def stop(self) -> None:
        """Kill the process now (a new one starts on the next call)."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            process.wait()


def call_all(items: Sequence[tuple[Any, ...]], function: Callable[..., Any], seconds: float | None, jobs: int,
             setup: tuple[Callable[..., Any], tuple[Any, ...]] | None = None) -> list[Any]:
    """``function(*item)`` for each item in up to ``jobs`` workers, in order; a Died or Failed in place of
    the result of a call whose worker died or raised. Ctrl-C kills every worker, then raises here."""
    results: list[Any] = [None] * len(items)
    workers = [Worker(setup) for _ in range(max(1, min(jobs, len(items))))]
    todo = iter(range(len(items)))
    lock = threading.Lock()
    stopping = threading.Event()

    def serve(worker: Worker) -> None:
        while not stopping.is_set():
            with lock:
                index = next(todo, None)
            if index is None:
                return
            try:
                results[index] = worker.call(seconds, function, *items[index])
            except (Died, Failed) as exc:
                results[index] = exc
        worker.stop()

    threads = [threading.Thread(target=serve, args=(worker,), daemon=True) for worker in workers]
    try:
        for worker in workers:
            with contextlib.suppress(Died, Failed):  # (the first call starts it again, and reports it)
                worker.start()  # here, in the main thread, which outlives the worker (PR_SET_PDEATHSIG)
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # a bounded wait, so that Ctrl-C reaches this thread
    except BaseException:
        stopping.set()
        for worker in workers:
            worker.stop()
        raise
    for worker in workers:
        worker.stop()
    return results


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Block Ctrl-C while a worker is started: it is born with it blocked (until it ignores it), and the
    parent receives one that came meanwhile as soon as the block ends."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# -- the worker's side -------------------------------------------------------------------------
def limit_process(parent: int) -> None:
    """Ignore Ctrl-C, die with ``parent``, bound the address space, dump no core (each where the platform can)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, resource.getrlimit(resource.RLIMIT_AS)[1]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform, or a lower hard limit already applies


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the parent dies, however it dies (``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 == PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _limit_cpu(seconds: float | None) -> None:
    """The kernel ends this process once the next call has used ``seconds`` of CPU, plus a second."""
    try:
        import resource
    except ImportError:
        return
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = resource.RLIM_INFINITY
    if seconds is not None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> None:
    limit_process(int(sys.argv[1]))
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever the analysis prints must not corrupt the replies
    while True:
        try:
            seconds, function, args = pickle.load(requests)
        except EOFError:
            return
        _limit_cpu(seconds)
        try:
            reply = (True, function(*args))
        except Exception as exc:  # noqa: BLE001 - reported for this call; the worker goes on
            reply = (False, f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    main()
