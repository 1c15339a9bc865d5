"""Configuration as values: what an expression can be in a configuration a user can reach.

A literal is one value; an argparse option is its ``choices`` (with its default), or any string
the user types when it has none; a constructor parameter left out is its default. Anything else
(a value read from a file, computed, passed from unknown callers) is unknown, and a rule that
needs it stays silent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint.names import key_of, keyword_arg, method_name, positional_args, receiver

if TYPE_CHECKING:
    from hs_lint.facts import FileFacts, Scope

# Methods of a string that keep "any string the user types" any string.
_STRING_METHODS = frozenset({"lower", "upper", "strip", "casefold"})


@dataclass(frozen=True)
class Option:
    flag: str  # "--model"
    default: str | None
    choices: tuple[str, ...] | None
    value: object = None  # what ``python train.py`` runs with: the typed default (False for store_true)


@dataclass(frozen=True)
class Choice:
    """The reachable values of an expression: ``values`` None means any string; ``option`` names the
    command-line flag that sets it."""

    values: frozenset[str] | None
    option: str | None = None

    def admits(self, value: str) -> bool:
        return self.values is None or value in self.values

    def when(self, value: str) -> str:
        """How a message names the configuration: "with --model lstm", or "" when it always holds."""
        if self.option is not None:
            return f"with {self.option} {value}"
        return ""

    def as_data(self) -> list[object]:
        return [sorted(self.values) if self.values is not None else None, self.option]

    @classmethod
    def from_data(cls, data: list) -> Choice:
        return cls(frozenset(data[0]) if data[0] is not None else None, data[1])


def literal(node: cst.CSTNode | None) -> str | None:
    """A string literal's value."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def options(facts: FileFacts) -> dict[str, Option]:
    """``parser.add_argument("--model", default="gru", choices=[...])`` -> {"model": Option(...)}."""
    found: dict[str, Option] = {}
    for site in facts.calls:
        args = positional_args(site.node)
        if method_name(site.node) != "add_argument" or not args or literal(args[0]) is None:
            continue
        flags = [f for a in args if (f := literal(a)) is not None]
        long = next((f for f in flags if f.startswith("--")), flags[0])
        dest = literal(keyword_arg(site.node, "dest")) or long.lstrip("-").replace("-", "_")
        listed = keyword_arg(site.node, "choices")
        choices = None
        if isinstance(listed, (cst.List, cst.Tuple, cst.Set)):
            values = [literal(e.value) for e in listed.elements]
            choices = tuple(v for v in values if v is not None) if None not in values else None
        found[dest] = Option(long, literal(keyword_arg(site.node, "default")), choices, _default_value(site.node))
    return found


_NO_DEFAULT = {"store_true": False, "store_false": True}


def _default_value(call: cst.Call) -> object:
    """An option's value when the flag is not given, as argparse computes it: ``default`` (a string default
    converted by ``type``), False/True for ``store_true``/``store_false``; None when it cannot be known."""
    action = literal(keyword_arg(call, "action"))
    given = keyword_arg(call, "default")
    if given is None:
        return _NO_DEFAULT.get(action or "")
    if action not in (None, "store", "store_true", "store_false") or keyword_arg(call, "nargs") is not None:
        return None
    value = python_literal(given)
    kind = key_of(keyword_arg(call, "type"))
    if isinstance(value, str) and kind in ("int", "float"):
        try:
            return int(value) if kind == "int" else float(value)
        except ValueError:
            return None
    return value


def python_literal(node: cst.BaseExpression) -> object:
    """A literal's value (numbers, strings, booleans, None, and containers of them); None otherwise."""
    try:
        return ast.literal_eval(cst.Module(body=[]).code_for_node(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def namespaces(facts: FileFacts) -> frozenset[str]:
    """Names that hold parsed command-line arguments: ``args = parser.parse_args()``."""
    return frozenset(
        key for site in facts.assignments
        if isinstance(site.value, cst.Call) and method_name(site.value) in ("parse_args", "parse_known_args")
        and len(site.targets) == 1 and (key := key_of(site.targets[0])) is not None
    )


def choice(facts: FileFacts, expr: cst.CSTNode | None, scope: Scope) -> Choice | None:
    """What ``expr`` can be; None when it cannot be followed."""
    value = literal(expr)
    if value is not None:
        return Choice(frozenset({value}))
    if isinstance(expr, cst.Call) and method_name(expr) in _STRING_METHODS and not expr.args:
        inner = choice(facts, receiver(expr), scope)
        if inner is None or inner.values is None:
            return inner
        return Choice(frozenset(getattr(v, method_name(expr))() for v in inner.values), inner.option)
    if isinstance(expr, cst.Attribute) and key_of(expr.value) in facts.namespaces:
        option = facts.options.get(expr.attr.value)
        if option is None:
            return None
        if option.choices is None:
            return Choice(None, option.flag)
        return Choice(frozenset({*option.choices, *([option.default] if option.default else [])}), option.flag)
    key = key_of(expr)
    if isinstance(expr, cst.Name) and key is not None:
        assigned = [s.value for s in facts.assignments if s.scope is facts.module_scope and key in s.target_keys]
        if len(assigned) == 1 and scope is facts.module_scope or (len(assigned) == 1 and key not in scope.params):
            return choice(facts, assigned[0], facts.module_scope) if assigned[0] is not expr else None
    return None


def attribute_equals(test: cst.BaseExpression | None) -> tuple[str, str] | None:
    """``self.model == "lstm"`` (either way round) -> ("model", "lstm")."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return None
    for side, other in ((test.left, target.comparator), (target.comparator, test.left)):
        key, value = key_of(side), literal(other)
        if key is not None and key.startswith("self.") and key.count(".") == 1 and value is not None:
            return key[5:], value
    return None
