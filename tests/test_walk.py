"""``hs_lint.walk`` is libcst's own visit order without the rebuilding: checked against libcst itself."""

from __future__ import annotations

import dataclasses
import inspect
import re

import libcst as cst
import pytest

from fuzz_cases import SOURCES, sites_both_ways
from hs_lint.walk import VISIT_ORDER

# Fields that only ever hold whitespace, punctuation, comments or operators: never code.
NOT_CODE = re.compile(
    r"whitespace.*|lpar|rpar|lbrace|rbrace|lbracket|rbracket|comma|leading_lines|lines_after_decorators|header|"
    r"footer|trailing_whitespace|leading_whitespace|semicolon|dot|equal|colon|operator|asynchronous|first_colon|"
    r"second_colon|relative|posonly_ind|trailing_comma|star|walrus"
)


def _libcst_order(node_type: type) -> list[str]:
    source = inspect.getsource(node_type._visit_and_replace_children)
    return list(dict.fromkeys(re.findall(r'visit_\w+\(\s*self,\s*"(\w+)"', source)))


NODE_TYPES = [
    t for t in vars(cst).values()
    if inspect.isclass(t) and issubclass(t, cst.CSTNode) and dataclasses.is_dataclass(t) and not inspect.isabstract(t)
    and "_visit_and_replace_children" in vars(t)
]


@pytest.mark.parametrize("node_type", NODE_TYPES, ids=lambda t: t.__name__)
def test_visit_order_is_libcsts_minus_punctuation(node_type):
    order = _libcst_order(node_type)
    expected = tuple(field for field in order if not NOT_CODE.fullmatch(field))
    assert VISIT_ORDER.get(node_type.__name__, ()) == expected


@pytest.mark.parametrize("source", SOURCES, ids=range(len(SOURCES)))
def test_collector_records_the_same_sites_either_way(source):
    walked, visited = sites_both_ways(source)
    assert walked and walked == visited
