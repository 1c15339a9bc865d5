"""Checking many files: read each once, answer from the cache, analyse the rest in parallel.

Every file yields an ``Outcome`` (findings plus one-line errors for stderr) and nothing it contains
can stop the run: an unreadable file, a decoding or parse failure or an internal error is one
outcome among the others. Outcomes come back in the order the files were given, whatever the
number of processes, so output is deterministic.

The cache maps the hash of (hs-lint's own code, the rules selected for the file, the file's
bytes) to its outcome, one small JSON file per entry under ``.hs_lint_cache``; entries are written
atomically, so parallel runs can share the directory. Crashes (``HS001``) and files over their budget are
never cached.

A file is read only if it is a regular file of at most 1 MB (``hs_lint.files``), screened
(``hs_lint.prefilter``) before libcst is loaded or run, and analysed in a worker process
(``hs_lint.workers``) with a CPU budget (``hs_lint.budget``) that the kernel enforces even inside
libcst's parser: a worker that dies or runs over costs only its own file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hs_lint import __version__
from hs_lint.budget import DEFAULT_SECONDS, Budget
from hs_lint.config import Config
from hs_lint.engine import Finding, Linter, SourceError, TimedOut, decode, over_budget, unanalysed
from hs_lint.files import TooLarge, Unreadable, read_source
from hs_lint.prefilter import may_have_findings
from hs_lint.project.index import Projects, unchanged
from hs_lint.project.store import CACHE_DIR_NAME, code_fingerprint, mark_cache_directory, write_json_atomic

if TYPE_CHECKING:
    from hs_lint.fix import Fixer
    from hs_lint.project.index import ModuleView

_CACHE_FORMAT = "3"


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, starting with the path
    used: dict[str, str] = field(default_factory=dict)  # other modules read for it: path -> hash of their bytes
    timed_out: bool = False  # over its budget: another run (or a larger budget) may analyse it
    fixed: Fixer | None = None  # from a worker under --fix/--diff: what it fixed in this file

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
            borrowed = view.helper_text if view is not None else None
            if not may_have_findings(source, self.config.enabled_codes(name), elsewhere=elsewhere, must_parse=True,
                                     borrowed=borrowed):
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
            return Outcome(exc.findings, errors=[str(exc)])


def _internal_error(name: str, summary: str) -> Outcome:
    message = f"hs-lint internal error: {summary} (please report this with the file)"
    return Outcome([Finding(name, 1, 1, 1, 1, "HS001", "internal-error", message)])


def read(path: Path) -> bytes | Outcome:
    """The file's bytes, or an outcome saying in one line why they are not read."""
    try:
        return read_source(path)
    except Unreadable as exc:
        return Outcome(errors=[f"{path}: {exc}"])
    except TooLarge as exc:
        return Outcome([unanalysed(str(path), str(exc)).finding])


# The entry ``Cache.put`` writes: {"findings": [[line, col, end_line, end_col, code, name, message, fix, data]],
# "errors": [": <why>"], "used": {path: hash}}; ``type(v) is int``, so that a bool is no line number.
_FINDING_TYPES = (int, int, int, int, str, str, str, str, dict)
_CODE = re.compile(r"HS\d{3}\Z")
_FIXES = ("", "safe", "unsafe")


def _valid(stored: object) -> bool:
    """Whether a cache entry has the shape and types ``put`` gives it: only then is it used."""
    if not isinstance(stored, dict) or set(stored) != {"findings", "errors", "used"}:
        return False
    findings, errors, used = stored["findings"], stored["errors"], stored["used"]
    return (isinstance(findings, list) and all(_valid_finding(row) for row in findings)
            and isinstance(errors, list) and all(_one_line(e) and e.startswith(": ") for e in errors)
            and isinstance(used, dict) and all(isinstance(digest, str) for digest in used.values()))


def _valid_finding(row: object) -> bool:
    return (isinstance(row, list) and len(row) == len(_FINDING_TYPES)
            and all(type(value) is kind for value, kind in zip(row, _FINDING_TYPES))
            and all(number >= 1 for number in row[:4]) and _CODE.match(row[4]) is not None
            and all(_one_line(text) for text in row[5:7]) and row[7] in _FIXES)


def _one_line(text: object) -> bool:
    return isinstance(text, str) and "\n" not in text and "\r" not in text


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
        """The stored outcome, or None: no entry, one that is not what ``put`` writes (``_valid``), or one
        that used a module which has changed since."""
        try:
            with open(self._entry(key), encoding="utf-8") as stream:
                stored = json.load(stream)
        except (OSError, ValueError):
            return None
        if not _valid(stored) or not unchanged(stored["used"], self._read):
            return None  # dropped: the file is analysed again, and its entry written anew
        return Outcome(
            [Finding(name, *finding[:8], data=finding[8]) for finding in stored["findings"]],
            [name + error for error in stored["errors"]],
            stored["used"],
        )

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


# -- analysis in worker processes (hs_lint.workers) ------------------------------------------
_WORKER: Checker | None = None


def _setup(checker: Checker) -> None:
    global _WORKER
    _WORKER = checker


def _analyse(name: str, data: bytes) -> Outcome:
    """In a worker: the file's outcome, and with ``--fix``/``--diff`` what was fixed (``Outcome.fixed``)."""
    assert _WORKER is not None
    if _WORKER.fixer is None:
        return _WORKER.check_bytes(name, data)
    from hs_lint.fix import Fixer

    _WORKER.fixer = fixer = Fixer(unsafe=_WORKER.fixer.unsafe, write=_WORKER.fixer.write)  # this file's fixes
    outcome = _WORKER.check_bytes(name, data)
    outcome.fixed = fixer
    return outcome


def default_jobs() -> int:
    return os.cpu_count() or 1


def scan(paths: Iterable[Path], config: Config, *, jobs: int | None = None, cache: Cache | None = None,
         fixer: Fixer | None = None, projects: Projects | None = None,
         budget: float | None = DEFAULT_SECONDS) -> list[Outcome]:
    """One outcome per path, in order; cached outcomes are reused and fresh ones stored.

    Fixing runs in one worker (``fixer`` collects its diffs and counts) and never uses the cache.
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
    fresh = analyse([(name, data) for _, name, data, _ in pending], checker, jobs or default_jobs())
    for (index, name, _, key), outcome in zip(pending, fresh):
        outcomes[index] = outcome
        if cache is not None and key is not None and outcome.cacheable:
            cache.put(key, name, outcome)
    return [outcome for outcome in outcomes if outcome is not None]


def analyse(items: Sequence[tuple[str, bytes]], checker: Checker, jobs: int) -> list[Outcome]:
    """One outcome per (name, bytes), each file analysed in a worker process that may die without taking the
    run with it: its file is then reported, ``HS002`` when it ran past the budget, ``HS001`` otherwise."""
    from hs_lint.workers import Died, call_all

    results = call_all(items, _analyse, checker.budget, jobs, setup=(_setup, (checker,)))
    outcomes = []
    for (name, _), result in zip(items, results):
        if isinstance(result, Died) and result.timed_out and checker.budget is not None:
            result = Outcome([over_budget(name, checker.budget).finding], timed_out=True)
        elif isinstance(result, Exception):
            result = _internal_error(name, str(result))
        if result.fixed is not None and checker.fixer is not None:
            checker.fixer.merge(result.fixed)
        outcomes.append(result)
    return outcomes
