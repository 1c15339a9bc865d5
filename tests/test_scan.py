"""The scanning machinery: a conservative pre-filter, parallel order, and the content-hash cache."""

from __future__ import annotations

import json
import textwrap
import zlib
from pathlib import Path

import pytest

from conftest import FIXTURES, fixture_files, hs_lint
from hs_lint import scan
from hs_lint.config import Config
from hs_lint.engine import Linter, SourceError
from hs_lint.project.index import Projects
from hs_lint.prefilter import may_have_findings
from hs_lint.rules import all_rules

ALL_CODES = tuple(all_rules())

# Recurrent only by the heuristic shape: no RNN/LSTM/GRU anywhere in the text.
HEURISTIC_ONLY = {
    "HS101": """\
        from models import Net
        model = Net()
        hidden = model.init_hidden(32)
        for x, y in loader:
            out, hidden = model(x, hidden)
            loss(out, y).backward()
    """,
    "HS102": """\
        from models import Net
        model = Net()
        out, hidden = model(x, hidden)
        hidden.to(device)
    """,
}


def _examples() -> list[tuple[str, str]]:
    sources = [(str(p.relative_to(FIXTURES)), p.read_text(encoding="utf-8")) for p in fixture_files()]
    for code, rule in all_rules().items():
        sources += [(f"{code}-bad-{i}", s) for i, s in enumerate(rule.bad)]
        sources += [(f"{code}-good-{i}", s) for i, s in enumerate(rule.good)]
    sources += [(f"heuristic-{code}", textwrap.dedent(s)) for code, s in HEURISTIC_ONLY.items()]
    return sources


def _findings(linter: Linter, source: str):
    try:
        return linter.check_source(source, "x.py")
    except SourceError as exc:
        return [exc.finding]


def _screen_cases():
    """Every example with every rule at once, and with each rule alone: an eighth of those (fixed by name) in
    the default run, all of them under ``-m slow``."""
    for name, source in _examples():
        for codes in (ALL_CODES, *((code,) for code in ALL_CODES)):
            alone = len(codes) == 1
            slow = alone and zlib.crc32(f"{name}::{codes[0]}".encode()) % 8 != 0
            yield pytest.param(name, source, codes, id=f"{codes[0] if alone else 'all'}-{name}",
                               marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize(("name", "source", "codes"), list(_screen_cases()))
def test_prefilter_never_changes_the_findings(name, source, codes):
    with_filter = _findings(Linter(codes, prefilter=True), source)
    without = _findings(Linter(codes, prefilter=False), source)
    assert with_filter == without


def _project_files() -> list:
    """Every file of the fixture projects: a quarter of them (fixed by name) in the default run, all under
    ``-m slow``."""
    return [pytest.param(path, id=str(path.relative_to(FIXTURES / "projects")),
                         marks=[pytest.mark.slow] if zlib.crc32(path.name.encode() + path.parent.name.encode()) % 4
                         else [])
            for path in sorted((FIXTURES / "projects").rglob("*.py"))]


_PROJECTS = Projects()  # one index for the fixture projects, as one CLI run has


@pytest.mark.parametrize("path", _project_files())
def test_the_screen_passes_each_rule_alone_where_it_reports_in_a_project(path):
    """A file read with its project: every code the rules report there, selected alone (``--select HS103``),
    still gets the file past the screen, which knows the project only through ``holds_recurrent`` and
    ``helper_text``. (The findings themselves are the same: the screen only decides whether rules run.)"""
    source = path.read_text(encoding="utf-8")
    view = _PROJECTS.view(path)
    reported = {f.code for f in Linter(ALL_CODES, prefilter=False).check_source(source, str(path), view)}
    skipped = [code for code in sorted(reported) if not may_have_findings(
        source, [code], elsewhere=view.holds_recurrent, borrowed=view.helper_text)]
    assert skipped == []


@pytest.mark.parametrize("code", sorted(HEURISTIC_ONLY))
def test_heuristic_only_files_pass_the_filter_and_are_found(code):
    source = textwrap.dedent(HEURISTIC_ONLY[code])
    assert not any(name in source for name in ("RNN", "LSTM", "GRU"))
    assert [f.code for f in Linter([code]).check_source(source, "x.py")] == [code]


@pytest.mark.parametrize(
    "source",
    [
        "import os\n\ndef main(argv):\n    a, b = parse(argv)\n    return a + b\n",  # shape, no trigger
        "import torch\nloss.backward()\nopt.step()\nx = f(y)\n",  # trigger, no shape
        "q, r = divmod(x, y)\nloss.backward()\n",  # trigger, a tuple target, but nothing carried
        "def f(:\n",  # no recurrent code: not even parsed
    ],
)
def test_files_that_cannot_have_findings_are_skipped(source):
    assert not may_have_findings(source, ALL_CODES)


def test_a_rule_the_filter_does_not_know_makes_every_file_analysed():
    assert may_have_findings("x = 1\n", ["HS999"])
    assert not may_have_findings("x = 1\n", [])


@pytest.mark.parametrize("line", ["out, (h, c) = f(x, (h, c))", "y, *self.s = step(x, state=self.s)",
                                  "out, h = f(x, *rest, h)"])
def test_every_spelling_of_the_heuristic_shape_passes_the_filter(line):
    assert may_have_findings(f"for x in xs:\n    {line}\n    loss.backward()\n", ["HS101"])


def test_unparsable_text_with_a_trigger_is_analysed_so_the_parse_error_is_reported():
    assert may_have_findings("for x in xs:\n    loss.backward(\n", ["HS101"])
    assert not may_have_findings("loss.backward(\n", ["HS101"])  # no loop: skipped on its text, left to Python


def _tree(tmp_path: Path) -> Path:
    for path in fixture_files():
        target = tmp_path / path.relative_to(FIXTURES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (tmp_path / "bad" / "zz_broken.py").write_text("lstm = nn.LSTM(:\n")
    (tmp_path / "setup.cfg").write_text("")  # a project: its cache is kept in it
    return tmp_path


def test_parallel_output_is_identical_to_serial(tmp_path):
    root = _tree(tmp_path)
    serial = hs_lint("check", "--no-cache", "-j", "1", ".", cwd=root)
    parallel = hs_lint("check", "--no-cache", "-j", "2", ".", cwd=root)
    assert serial.returncode == parallel.returncode == 2
    assert serial.stdout and (serial.stdout, serial.stderr) == (parallel.stdout, parallel.stderr)


def test_scan_keeps_the_given_order_whatever_the_processes(tmp_path):
    root = _tree(tmp_path)
    paths = sorted(root.rglob("*.py"), reverse=True)
    config = Config(root=root)
    one = scan.scan(paths, config, jobs=1)
    two = scan.scan(paths, config, jobs=2)
    assert one == two and len(one) == len(paths)
    assert all(f.path == str(path) for path, outcome in zip(paths, one) for f in outcome.findings)
    assert sum(bool(outcome.findings) for outcome in one) >= 5


def _entries(root: Path) -> list[Path]:
    return sorted((root / scan.CACHE_DIR_NAME).glob("*/*.json"))


def test_cache_is_written_then_read_and_invalidated_by_content_and_selection(tmp_path):
    root = _tree(tmp_path)
    cold = hs_lint("check", "--format", "json", ".", cwd=root)
    entries = _entries(root)
    assert len(entries) == len(list(root.rglob("*.py")))
    assert (root / scan.CACHE_DIR_NAME / "CACHEDIR.TAG").is_file()
    warm = hs_lint("check", "--format", "json", ".", cwd=root)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)

    # A doctored entry shows that the warm run answers from the cache ...
    target = root / "good" / "sentiment_classifier.py"
    config = Config(root=root)
    cache = scan.Cache(root / scan.CACHE_DIR_NAME)
    key = cache.key(config.enabled_codes(str(target)), target.read_bytes(), str(target))
    entry = cache._entry(key)
    entry.write_text(json.dumps({"findings": [[1, 1, 1, 2, "HS101", "planted", "planted", "", {}]], "errors": [],
                                 "used": {}}))
    planted = hs_lint("check", "good/sentiment_classifier.py", cwd=root)
    assert "good/sentiment_classifier.py:1:1: HS101 planted" in planted.stdout
    # ... that --no-cache ignores it, that another selection misses it, and that an edit invalidates it.
    assert hs_lint("check", "--no-cache", "good/sentiment_classifier.py", cwd=root).stdout == ""
    assert hs_lint("check", "--select", "HS102", "good/sentiment_classifier.py", cwd=root).stdout == ""
    target.write_text(target.read_text() + "\n# edited\n")
    assert hs_lint("check", "good/sentiment_classifier.py", cwd=root).stdout == ""


def test_cache_key_depends_on_bytes_codes_and_hs_lint_itself(tmp_path, monkeypatch):
    cache = scan.Cache(tmp_path)
    codes = frozenset({"HS101"})
    key = cache.key(codes, b"x = 1\n", "a/train.py")
    assert key == cache.key(codes, b"x = 1\n", "a/train.py")
    assert key != cache.key(codes, b"x = 2\n", "a/train.py")
    assert key != cache.key(frozenset({"HS101", "HS102"}), b"x = 1\n", "a/train.py")
    assert key != cache.key(codes, b"x = 1\n", "b/train.py")  # another project's copy may read another model
    monkeypatch.setattr(scan, "__version__", "999")
    assert scan.Cache(tmp_path).key(codes, b"x = 1\n", "a/train.py") != key
    monkeypatch.setattr(scan, "code_fingerprint", lambda: "edited")
    assert scan.Cache(tmp_path).key(codes, b"x = 1\n", "a/train.py") != key


def test_crashes_are_not_cached_and_a_broken_cache_is_a_miss(tmp_path, monkeypatch):
    cache = scan.Cache(tmp_path)
    crash = scan._internal_error("x.py", "ValueError: boom")
    assert not crash.cacheable
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "ab12.json").write_text("{not json")
    assert cache.get("ab12", "x.py") is None
