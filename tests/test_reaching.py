"""Reaching definitions (hs_lint/reaching.py): which assignment of a name each read can see."""
from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from hs_lint.names import key_of
from hs_lint.reaching import ENTRY, ReachingDefinitions


def _reaching(source: str) -> dict[tuple[int, str], set[int | str] | None]:
    """For every read in the first function: (line, key) -> lines of the definitions that reach it ("in": ENTRY).
    A key read twice on one line keeps its last read."""
    wrapper = MetadataWrapper(cst.parse_module(textwrap.dedent(source)))
    module = wrapper.module
    positions = wrapper.resolve(PositionProvider)
    function = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    flow = ReachingDefinitions(function.body.body)
    line_of = {id(node): where.start.line for node, where in positions.items()}
    found: dict[tuple[int, str], set[int | str] | None] = {}
    for node, where in positions.items():
        key = key_of(node)
        if isinstance(node, (cst.Name, cst.Attribute)) and key is not None:
            ids = flow.reaching(node, key)
            if ids is not None:
                found[(where.start.line, key)] = {"in" if i == ENTRY else line_of[i] for i in ids}
    return found


def test_reassigning_a_name_reads_the_old_value_first():
    seen = _reaching("""
        def forward(self, x, h):
            x = self.embed(x)
            x, h = self.rnn(x, h)
            return self.fc(x[-1]), h
    """)
    assert seen[(3, "x")] == {"in"}
    assert seen[(4, "x")] == {3}
    assert seen[(4, "h")] == {"in"}
    assert seen[(5, "x")] == {4}
    assert seen[(5, "h")] == {4}


def test_branches_join_and_a_loop_carries_its_back_edge():
    seen = _reaching("""
        def train(loader, h):
            for x in loader:
                if h is None:
                    h = init()
                out, h = rnn(x, h)
                h = h.detach()
            return h
    """)
    assert seen[(4, "h")] == {"in", 7}  # the incoming state, then the previous batch's detached one
    assert seen[(6, "h")] == {"in", 5, 7}  # ... or the reset
    assert seen[(7, "h")] == {6}
    assert seen[(8, "h")] == {"in", 7}  # the loop may not run at all


def test_return_break_and_continue_end_their_path():
    seen = _reaching("""
        def f(x):
            h = a()
            while True:
                if x:
                    h = b()
                    break
                if y:
                    h = c()
                    continue
                h = d()
            use(h)
    """)
    assert seen[(12, "h")] == {6}  # ``while True`` is left only by its break
    seen = _reaching("""
        def f(h):
            while h.norm() > 1:
                if x:
                    return h
                h = shrink(h)
            return h
    """)
    assert seen[(5, "h")] == {"in", 6}
    assert seen[(7, "h")] == {"in", 6}


def test_a_handler_sees_every_definition_its_try_may_have_made():
    seen = _reaching("""
        def f():
            h = a()
            try:
                h = b()
                h = c()
            except ValueError:
                use(h)
            use(h)
    """)
    assert seen[(8, "h")] == {3, 5, 6}
    assert seen[(9, "h")] == {3, 5, 6}


def test_a_call_may_change_any_attribute_it_can_reach():
    seen = _reaching("""
        def forward(self, x):
            self.hidden = self.init_hidden(x.size(0))
            use(self.hidden)
            self.reset()
            use(self.hidden)
    """)
    assert seen[(4, "self.hidden")] == {3}
    assert seen[(6, "self.hidden")] == {"in", 3}


def test_walrus_with_and_one_line_bodies_define_names():
    seen = _reaching("""
        def f(stream):
            with open(stream) as h:
                use(h)
            if (n := size(h)) > 2:
                use(n)
    """)
    assert seen[(4, "h")] == {3}
    assert seen[(6, "n")] == {5}
    one_line = cst.parse_statement("def g(h): h = f(h); return h")
    assign, ret = one_line.body.body
    flow = ReachingDefinitions(one_line.body.body)
    assert flow.reaching(assign.value.args[0].value, "h") == {ENTRY}
    assert flow.reaching(ret.value, "h") == {id(assign)}


def test_nested_functions_are_not_reads_of_the_outer_body():
    seen = _reaching("""
        def outer(h):
            def inner():
                return h
            h = 1
            return inner
    """)
    assert (4, "h") not in seen  # inner's read runs later, with whatever h then holds


@pytest.mark.parametrize("depth", [60, 95])
def test_deep_nesting_stays_bounded(depth):
    """Nested loops converge without exponential re-walks; past the budget nothing is placed.

    The tree is kept alive: reads are known by id, and a freed node's id can be reused."""
    body = "".join("    " * i + f"for i{i} in range(2):\n" for i in range(1, depth + 1))
    source = "def f():\n" + body + "    " * (depth + 1) + "h = g(h)\n"
    module = cst.parse_module(source)
    flow = ReachingDefinitions(module.body[0].body.body)
    loop = module.body[0].body.body[0]
    while isinstance(loop, cst.For):
        loop = loop.body.body[0]
    assign = loop.body[0]
    read = assign.value.args[0].value
    assert flow.reaching(read, "h") in ({ENTRY, id(assign)}, None)
    assert flow.reaching(cst.Name("h"), "h") is None  # a node of another tree is never placed
