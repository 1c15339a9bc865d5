"""Inputs for the fuzz tests and the long campaign (``bench/fuzz_campaign.py``), and the invariant.

The invariant: whatever the text, nothing escapes the engine (only its own ``SourceError``), the
per-file checker behind the CLI reports no internal error, the flake8 plugin yields no HS001, and
the pre-filter never changes the findings (it may only leave a skipped file's syntax error unsaid).
"""

from __future__ import annotations

from pathlib import Path

import hypothesmith
from hypothesis import strategies as st

from hs_lint.config import Config
from hs_lint.engine import Linter, SourceError
from hs_lint.flake8_plugin import HiddenStatePlugin
from hs_lint.rules import all_rules
from hs_lint.scan import Checker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCES = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.rglob("*.py"))] + [
    example for rule in all_rules().values() for example in (*rule.bad, *rule.good)
]
ALL_CODES = tuple(all_rules())


@st.composite
def mutated_sources(draw: st.DrawFn) -> str:
    """A fixture or rule example with a few lines deleted, duplicated, indented, swapped or cut."""
    lines = draw(st.sampled_from(SOURCES)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "indent", "tab", "dedent", "swap", "cut"]))
        if operation == "delete":
            del lines[i]
        elif operation == "duplicate":
            lines.insert(i, lines[i])
        elif operation == "indent":
            lines[i] = "    " + lines[i]
        elif operation == "tab":
            lines[i] = "\t" + lines[i]
        elif operation == "dedent":
            lines[i] = lines[i].lstrip(" ")
        elif operation == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "".join(lines)


def generated_programs() -> st.SearchStrategy[str]:
    """Syntactically valid programs from Python's grammar, sometimes with recurrent calls pasted in."""
    carry = "rnn = nn.LSTM(4, 8)\nfor x in xs:\n    out, h = rnn(x, h)\n    out.sum().backward()\n"
    return st.one_of(hypothesmith.from_grammar(), hypothesmith.from_grammar().map(lambda s: carry + s))


_LINTERS = {flag: Linter(ALL_CODES, prefilter=flag) for flag in (True, False)}
_CHECKER = Checker(Config())


def _engine(source: str, prefilter: bool) -> list:
    try:
        return _LINTERS[prefilter].check_source(source, "fuzzed.py")
    except SourceError as exc:
        return [exc.finding]


def check_invariant(source: str) -> None:
    with_filter, without = _engine(source, True), _engine(source, False)
    # The one documented difference: a file the pre-filter skips is not parsed, so its syntax error goes unsaid.
    skipped_unparsable = not with_filter and all(f.code == "HS002" for f in without)
    assert with_filter == without or skipped_unparsable, "the pre-filter changed the findings"
    walked, visited = sites_both_ways(source)
    assert walked == visited or (visited == ("too deep",) and walked), "hs_lint.walk and libcst's visit disagree"
    outcome = _CHECKER.check_bytes("fuzzed.py", source.encode("utf-8", "surrogatepass"))
    assert not any(f.code == "HS001" for f in outcome.findings), outcome.errors
    HiddenStatePlugin.selection = None  # every rule, as before flake8 hands the plugin its options
    results = list(HiddenStatePlugin(None, source.splitlines(keepends=True), "fuzzed.py").run())
    assert not any(message.startswith("HS001") for _, _, message, _ in results), results


def sites_both_ways(source: str) -> tuple[tuple, tuple]:
    """What the facts collector records on one tree through ``hs_lint.walk`` and through libcst's ``visit``."""
    import libcst as cst

    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return (), ()
    return _sites(module, True), _sites(module, False)


def _sites(module, use_walk: bool) -> tuple:
    from hs_lint.facts import _Collector
    from hs_lint.walk import walk

    collector = _Collector()
    try:
        walk(module, collector) if use_walk else module.visit(collector)
    except RecursionError:
        return ("too deep",)

    def node(n):
        return None if n is None else id(n)

    return (
        list(collector.imports.items()),
        [(node(s.node), s.scope.name, node(s.loop and s.loop.node), s.no_grad, node(s.target), s.discarded, s.qualified)
         for s in collector.calls],
        [(node(a.node), a.scope.name, node(a.loop and a.loop.node), a.augmented) for a in collector.assignments],
        [(node(loop.node), loop.no_grad, node(loop.parent and loop.parent.node), loop.scope.name)
         for loop in collector.loops],
        [(s.name, s.no_grad, s.detaches, [node(r) for r in s.returns], s.params, s.cls and s.cls.name)
         for s in collector.function_scopes],
        [(c.name, c.base_keys, c.recurrent_kind, list(c.methods), list(c.attrs)) for c in collector.classes],
        [node(d.node) for d in collector.detach_calls],
        (collector.module_scope.detaches, [node(r) for r in collector.module_scope.returns]),
    )
