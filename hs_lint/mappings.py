"""Configuration mappings as values: what ``config["hidden"]`` holds.

A mapping is followed when it is built in the code (``{"hidden": 64}``, ``dict(hidden=64)``, passed on as
``**rnn_kwargs``), read from a configuration file at start-up (``yaml.safe_load(open("c.yaml"))``, a
``ConfigParser`` that ``read`` one: see ``config_files``), or an entry of one (``config["model"]``), and never
when it is changed after it is built. An entry is an expression with the scope it is read in, or ``Loaded``
data; ``ShapeFacts`` turns either into a value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint import config_files
from hs_lint.names import key_of, method_name, positional_args, receiver
from hs_lint.values import literal

if TYPE_CHECKING:
    from hs_lint.facts import FileFacts, Scope

Sources = Callable[[str, "Scope", cst.CSTNode], list[tuple[cst.BaseExpression, "Scope"]]]


@dataclass(frozen=True)
class Loaded:
    """An entry read from a configuration file: data, not an expression."""

    value: object


Entry = tuple[cst.BaseExpression, "Scope"] | Loaded
_GETTERS = frozenset({"get", "getint", "getfloat", "getboolean"})
_CONFIG_PARSERS = frozenset({"configparser.ConfigParser", "configparser.RawConfigParser"})


def _loaded_mapping(data: object) -> dict[str, Entry] | None:
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        return None
    return {k: Loaded(v) for k, v in data.items()}


class Mappings:
    """The mappings of one file. ``sources(key, scope, read)``: the values that reach a read of a name."""

    def __init__(self, facts: FileFacts, sources: Sources) -> None:
        self.facts = facts
        self._sources = sources

    def mapping(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> dict[str, Entry] | None:
        """The entries of a mapping: built in the code (``{"hidden": 64}``, ``dict(hidden=64)``), read from a
        configuration file (``yaml.safe_load(f)``, a ``ConfigParser`` that ``read`` one), an entry of one
        (``config["model"]``), or a name holding one; None when it cannot be followed (any unknown part,
        several values reaching, or a mapping changed after it is built)."""
        if depth > 4:
            return None
        if isinstance(expr, cst.Dict):
            found: dict[str, Entry] = {}
            for element in expr.elements:
                key = literal(element.key) if isinstance(element, cst.DictElement) else None
                if key is None:
                    return None
                found[key] = (element.value, scope)
            return found
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
            if any(a.keyword is None for a in expr.args):
                return None
            return {a.keyword.value: (a.value, scope) for a in expr.args}  # type: ignore[union-attr]
        if isinstance(expr, cst.Call):
            form = config_files.LOADERS.get(self.facts.qualify(expr.func) or "")
            path = self._opened(positional_args(expr)[0], scope) if form and positional_args(expr) else None
            if path is not None:
                return _loaded_mapping(config_files.load(self.facts.project, path, form))
        if isinstance(expr, (cst.Subscript, cst.Call)):
            entry = self.entry(expr, scope, depth)
            if isinstance(entry, Loaded):
                return _loaded_mapping(entry.value)
            return self.mapping(entry[0], entry[1], depth + 1) if entry is not None else None
        key = key_of(expr)
        sources = self._sources(key, scope, expr) if key is not None else []
        if len(sources) != 1 or key in self._mutated_mappings:
            return None
        value, home = sources[0]
        if isinstance(value, cst.Call) and self.facts.qualify(value.func) in _CONFIG_PARSERS:
            path = self._ini_path(key)
            return _loaded_mapping(config_files.load(self.facts.project, path, "ini")) if path else None
        return self.mapping(value, home, depth + 1)

    def entry(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> Entry | None:
        """``config["hidden"]``, ``config.get("hidden", 64)``, ``parser.getint("model", "hidden")``,
        ``config["model"].getint("hidden")``: the entry (an expression, or data read from a file)."""
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            name = literal(expr.slice[0].slice.value)
            entries = self.mapping(expr.value, scope, depth + 1) if name is not None else None
            return entries.get(name) if entries is not None else None
        if not isinstance(expr, cst.Call) or method_name(expr) not in _GETTERS or expr.args[:1] == ():
            return None
        names = [literal(a.value) for a in expr.args]
        method, owner = method_name(expr), receiver(expr)
        if method != "get" or self._is_config_parser(owner, scope):  # configparser: (section, key) or (key)
            if None in names or len(names) > 2:
                return None
            entries = self.mapping(owner, scope, depth + 1)
            for name in names[:-1]:  # the section
                section = entries.get(name) if entries is not None else None
                entries = _loaded_mapping(section.value) if isinstance(section, Loaded) else None
            found = entries.get(names[-1]) if entries is not None else None
            if not isinstance(found, Loaded) or not isinstance(found.value, str):
                return None
            try:
                return Loaded(config_files.ini_value(found.value, method or ""))
            except ValueError:
                return None
        entries = self.mapping(owner, scope, depth + 1) if names[0] is not None and len(names) <= 2 else None
        if entries is None:
            return None
        fallback = (expr.args[1].value, scope) if len(expr.args) == 2 else None
        return entries.get(names[0], fallback)  # type: ignore[arg-type]

    @functools.cached_property
    def _mutated_mappings(self) -> frozenset[str]:
        """Names of mappings changed after they are built: ``config.update(...)``, ``config["h"] = 128``."""
        called = {key_of(receiver(site.node)) for site in self.facts.calls
                  if method_name(site.node) in ("update", "setdefault", "pop", "clear", "__setitem__", "set")}
        stored = {key_of(target.value) for site in self.facts.assignments for target in site.targets
                  if isinstance(target, cst.Subscript)}
        return frozenset(k for k in called | stored if k is not None)

    def _is_config_parser(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        key = key_of(expr)
        sources = self._sources(key, scope, expr) if key is not None else []
        return len(sources) == 1 and isinstance(sources[0][0], cst.Call) and (
            self.facts.qualify(sources[0][0].func) in _CONFIG_PARSERS)

    def _ini_path(self, key: str) -> str | None:
        """The one file ``key.read("model.cfg")`` gives a ConfigParser."""
        paths = {literal(positional_args(site.node)[0]) if positional_args(site.node) else None
                 for site in self.facts.calls if method_name(site.node) == "read"
                 and key_of(receiver(site.node)) == key}
        return paths.pop() if len(paths) == 1 else None

    def _opened(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
        """The file a loader reads: ``"c.yaml"``, ``open("c.yaml")``, ``Path("c.json").read_text()``, or
        ``f`` of ``with open("c.json") as f``."""
        if depth > 4:
            return None
        name = literal(expr)
        if name is not None:
            return name
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Name) and expr.func.value == "open" or self.facts.qualify(
                    expr.func) in ("pathlib.Path", "io.open", "codecs.open"):
                return literal(positional_args(expr)[0]) if positional_args(expr) else None
            if method_name(expr) in ("open", "read", "read_text", "read_bytes"):
                return self._opened(receiver(expr), scope, depth + 1)
            return None
        key = key_of(expr)
        if key is None:
            return None
        opened = {self._opened(v, s, depth + 1) for v, s in self._sources(key, scope, expr)}
        opened |= {self._opened(item, scope, depth + 1) for item in self._with_targets(scope).get(key, ())}
        return opened.pop() if len(opened) == 1 else None

    def _with_targets(self, scope: Scope) -> dict[str, list[cst.BaseExpression]]:
        """``with open(...) as f`` in ``scope``'s body: name -> the expressions bound to it."""
        found: dict[str, list[cst.BaseExpression]] = {}
        stack = list(scope.node.body if isinstance(scope.node, cst.Module) else (
            scope.node.body.body if scope.node is not None else ()))
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(node, cst.With):
                for item in node.items:
                    if item.asname is not None and (k := key_of(item.asname.name)) is not None:
                        found.setdefault(k, []).append(item.item)
            stack.extend(c for c in node.children if isinstance(c, (cst.BaseSuite, cst.BaseStatement)))
        return found
