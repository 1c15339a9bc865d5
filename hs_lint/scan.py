"""Checking many files: read each once, answer from the cache, analyse the rest in parallel.

Every file yields an ``Outcome`` (findings plus one-line errors for stderr) and nothing it contains
can stop the run: an unreadable file, a decoding or parse failure or an internal error is one
outcome among the others. Outcomes come back in the order the files were given, whatever the
number of processes, so output is deterministic.

The cache maps the hash of (hs-lint's own code, the rules selected for the file, the file's
bytes) to its outcome, one small JSON file per entry under ``.hs_lint_cache``; entries are written
atomically, so parallel runs can share the directory. Crashes (``HS001``) and files over their budget are
never cached.

A file is screened (``hs_lint.prefilter``) before libcst is loaded or run, and given a CPU budget
(``hs_lint.budget``). Worker processes ignore Ctrl-C (the parent stops them at once), die with
their parent (Linux), and each may use at most ``WORKER_MEMORY`` bytes of address space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hs_lint import __version__
from hs_lint.budget import DEFAULT_SECONDS, Budget
from hs_lint.config import Config
from hs_lint.engine import Finding, Linter, SourceError, TimedOut, decode
from hs_lint.prefilter import may_have_findings
from hs_lint.project.index import Projects, unchanged
from hs_lint.project.store import CACHE_DIR_NAME, code_fingerprint, mark_cache_directory, write_json_atomic

if TYPE_CHECKING:
    from hs_lint.fix import Fixer
    from hs_lint.project.index import ModuleView

_CACHE_FORMAT = "3"
WORKER_MEMORY = 4 << 30  # libcst needs about 100 MB per 10,000 lines; files are at most 1 MB


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, starting with the path
    used: dict[str, str] = field(default_factory=dict)  # other modules read for it: path -> hash of their bytes
    timed_out: bool = False  # over its budget: another run (or a larger budget) may analyse it

    @property
    def cacheable(self) -> bool:
        return not self.timed_out and not any(f.code == "HS001" for f in self.findings)


class Checker:
    """Checks files with the rules the configuration enables for each (one Linter per selection);
    with a ``Fixer`` (``--fix``/``--diff``) it repairs what it can and reports the rest."""

    def __init__(self, config: Config, fixer: Fixer | None = None, projects: Projects | None = None, *,
                 budget: float | None = DEFAULT_SECONDS) -> None:
        self.config = config
        self.fixer = fixer
        self.projects = projects  # the other modules of each file's project (None: each file alone)
        self.budget = budget  # CPU seconds per file; None: unlimited
        self._linters: dict[frozenset[str], Linter] = {}

    def linter_for(self, path: str) -> Linter:
        """The Linter for the file's rules; it does not screen again (``check_bytes`` has)."""
        codes = self.config.enabled_codes(path)
        if codes not in self._linters:
            budget = Budget(self.budget) if self.budget is not None else None
            self._linters[codes] = Linter(codes, prefilter=False, budget=budget)
        return self._linters[codes]

    def check_bytes(self, name: str, data: bytes) -> Outcome:
        """The outcome for one file's contents; never raises."""
        try:
            source = decode(data, name)
            view = self.projects.view(Path(name)) if self.projects is not None else None
            elsewhere = view.holds_recurrent if view is not None else None
            if not may_have_findings(source, self.config.enabled_codes(name), elsewhere=elsewhere, must_parse=True):
                return Outcome(used=dict(view.used) if view is not None else {})
            if self.fixer is not None:
                return self._fixed(name, data, source, view)
            findings = self.linter_for(name).check_source(source, name, view)
            if findings:
                from hs_lint.noqa import unsuppressed  # flake8's noqa reading, loaded where there is a finding

                findings = unsuppressed(findings, source)
            return Outcome(findings, used=dict(view.used) if view is not None else {})
        except SourceError as exc:
            return Outcome([exc.finding], timed_out=isinstance(exc, TimedOut))  # reported once, as a finding
        except MemoryError:
            return _internal_error(name, "MemoryError: the file is too large to analyse")
        except Exception as exc:  # noqa: BLE001 - one broken file must not stop the run
            return _internal_error(name, f"{type(exc).__name__}: {exc}".splitlines()[0][:300])

    def _fixed(self, name: str, data: bytes, source: str, view: ModuleView | None) -> Outcome:
        from hs_lint.fix import FixError

        assert self.fixer is not None
        try:
            return Outcome(self.fixer.fix_file(Path(name), data, source, self.linter_for(name), view))
        except FixError as exc:
            return Outcome(errors=[str(exc)])


def _internal_error(name: str, summary: str) -> Outcome:
    message = f"hs-lint internal error: {summary} (please report this with the file)"
    return Outcome([Finding(name, 1, 1, 1, 1, "HS001", "internal-error", message)])


def read(path: Path) -> bytes | Outcome:
    """The file's bytes, or an outcome saying in one line why they cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return Outcome(errors=[f"{path}: cannot read: {exc.strerror or exc}"])


class Cache:
    """Outcomes by content hash in ``directory``; any cache problem just means a miss."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._salt = f"{_CACHE_FORMAT}\0{__version__}\0{code_fingerprint()}\0".encode()
        self._read: dict[str, str | None] = {}  # what the modules cached results used hold now, read once per run

    def key(self, codes: frozenset[str], data: bytes, path: str) -> str:
        """The file's place counts as well as its bytes: the same script in two projects reads two models."""
        digest = hashlib.sha256(self._salt)
        digest.update(",".join(sorted(codes)).encode())
        digest.update(b"\0" + os.path.abspath(path).encode() + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str, name: str) -> Outcome | None:
        try:
            with open(self._entry(key), encoding="utf-8") as stream:
                stored = json.load(stream)
            used = dict(stored.get("used", {}))
            if not unchanged(used, self._read):
                return None  # a module it used has changed: its summary, and so these findings, may differ
            return Outcome(
                [Finding(name, *finding[:8], data=finding[8]) for finding in stored["findings"]],
                [name + error for error in stored["errors"]],
                used,
            )
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return None

    def put(self, key: str, name: str, outcome: Outcome) -> None:
        entry = self._entry(key)
        stored = {
            "findings": [
                [f.line, f.col, f.end_line, f.end_col, f.code, f.name, f.message, f.fix, dict(f.data)]
                for f in outcome.findings
            ],
            "errors": [error.removeprefix(name) for error in outcome.errors],
            "used": outcome.used,
        }
        try:
            mark_cache_directory(self.directory)
            write_json_atomic(entry, stored)
        except OSError:
            pass  # a read-only checkout still gets its answers, just not faster next time


# -- parallel analysis -------------------------------------------------------------------------
_WORKER: Checker | None = None


def _start_worker(config: Config, projects: Projects | None, budget: float | None, parent: int) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since the fork, see _interrupts_held
    _die_with_parent(parent)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform, or a lower hard limit already applies
    _WORKER = Checker(config, projects=projects, budget=budget)


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


def _analyse(item: tuple[str, bytes]) -> Outcome:
    assert _WORKER is not None
    return _WORKER.check_bytes(*item)


def default_jobs() -> int:
    return os.cpu_count() or 1


def scan(paths: Iterable[Path], config: Config, *, jobs: int | None = None, cache: Cache | None = None,
         fixer: Fixer | None = None, projects: Projects | None = None,
         budget: float | None = DEFAULT_SECONDS) -> list[Outcome]:
    """One outcome per path, in order; cached outcomes are reused and fresh ones stored.

    Fixing runs in this process (the fixer collects diffs and counts) and never uses the cache.
    ``budget``: CPU seconds per file (None: unlimited). Ctrl-C raises KeyboardInterrupt here once
    the workers are stopped.
    """
    outcomes: list[Outcome | None] = []
    pending: list[tuple[int, str, bytes, str | None]] = []  # (index, name, bytes, cache key)
    checker = Checker(config, fixer, projects, budget=budget)
    if fixer is not None:
        cache, jobs = None, 1
    for path in paths:
        name = str(path)
        data = read(path)
        if isinstance(data, Outcome):
            outcomes.append(data)
            continue
        key = cache.key(config.enabled_codes(name), data, name) if cache is not None else None
        hit = cache.get(key, name) if key is not None else None
        outcomes.append(hit)
        if hit is None:
            pending.append((len(outcomes) - 1, name, data, key))
    fresh = _analyse_all([(name, data) for _, name, data, _ in pending], checker, jobs or default_jobs())
    for (index, name, _, key), outcome in zip(pending, fresh):
        outcomes[index] = outcome
        if cache is not None and key is not None and outcome.cacheable:
            cache.put(key, name, outcome)
    return [outcome for outcome in outcomes if outcome is not None]


def _analyse_all(items: Sequence[tuple[str, bytes]], checker: Checker, jobs: int) -> list[Outcome]:
    workers = min(jobs, len(items))
    if workers <= 1:
        return [checker.check_bytes(*item) for item in items]
    from concurrent.futures import ProcessPoolExecutor  # not loaded by a run the cache answers

    chunksize = max(1, min(16, len(items) // (workers * 8)))
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                               initargs=(checker.config, checker.projects, checker.budget, os.getpid()))
    try:
        with _interrupts_held():  # the workers start while ``map`` submits
            results = pool.map(_analyse, items, chunksize=chunksize)
        outcomes = list(results)
    except BaseException:  # Ctrl-C, or anything else: stop the workers now rather than after their files
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Block Ctrl-C while workers are forked: they are born with it blocked (until they ignore it), and
    the parent receives one that came meanwhile as soon as the block ends."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
