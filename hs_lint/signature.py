"""What a function accepts, and which of its parameters its body ever reads (``Signature``, read from the code).

Enough to say where a call's argument lands and whether the function looks at it: ``model(x, h)`` against
``forward(self, x)`` raises TypeError; against ``forward(self, x, hidden)`` whose body runs ``self.lstm(x)``,
the state the caller carries is silently dropped. A module summary carries it to callers in other files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from hs_lint.project.summary import Signature
from hs_lint.tree_edit import name_reads
from hs_lint.walk import code_nodes

# Calls that read every local by name: a parameter may be used without being spelled.
_READS_ALL = frozenset({"locals", "vars", "eval", "exec"})
_LOOKS = frozenset({"isinstance", "type", "callable", "id"})  # calls that look at a value without using it


def signature(node: cst.FunctionDef, reaches_entry: Callable[[cst.Name], bool]) -> Signature | None:
    """``node``'s signature; ``reaches_entry(read)`` says whether a read of a parameter may see the value the
    call passed (reaching definitions: not after ``hidden = self.init_hidden()``). None when the body is a stub,
    a decorator may change what the function receives, or the body reads its locals without naming them."""
    if node.decorators or _is_stub(node.body):
        return None
    params = node.params
    star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
    varkw = params.star_kwarg.name.value if params.star_kwarg is not None else None
    positional = tuple(p.name.value for p in (*params.posonly_params, *params.params))
    keywords = tuple(p.name.value for p in params.kwonly_params)
    names = set(positional) | set(keywords) | {n for n in (star, varkw) if n is not None}
    if any(isinstance(c, cst.Call) and isinstance(c.func, cst.Name) and c.func.value in _READS_ALL
           for c in code_nodes(node.body)):
        return None
    ignored = {id(name) for name in _bound_names(node.body)} | {id(name) for name in _tested_names(node.body)}
    read = {name.value for name in name_reads(node.body)
            if name.value in names and id(name) not in ignored and reaches_entry(name)}
    unread = tuple(sorted(names - read))
    return Signature(positional, keywords, star, varkw, unread)


def _is_stub(body: cst.BaseSuite) -> bool:
    """``pass``, ``...``, a docstring or ``raise NotImplementedError``: an interface, not an implementation."""
    if isinstance(body, cst.SimpleStatementSuite):  # ``def forward(self, x): return self.gru(x)``
        return all(_is_stub_statement(s) for s in body.body)
    for statement in body.body:
        small = statement.body if isinstance(statement, cst.SimpleStatementLine) else None
        if small is None or not all(_is_stub_statement(s) for s in small):
            return False
    return True


def _is_stub_statement(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, (cst.Pass, cst.Raise)):
        return True
    return isinstance(small, cst.Expr) and isinstance(small.value, (cst.Ellipsis, cst.SimpleString,
                                                                    cst.ConcatenatedString))


def _bound_names(body: cst.CSTNode) -> Iterator[cst.Name]:
    """The names in binding positions (assignment, loop, ``with``/``except`` targets, ``del``): not reads."""
    for current in code_nodes(body):
        if isinstance(current, cst.Assign):
            targets = [t.target for t in current.targets]
        elif isinstance(current, (cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.Del)):
            targets = [current.target]
        elif isinstance(current, cst.AsName):
            targets = [current.name]
        else:
            continue
        yield from _target_names(targets)


def _tested_names(body: cst.CSTNode) -> Iterator[cst.Name]:
    """Names only looked at, not used: ``isinstance(h, tuple)``, ``h is None``. A parameter read only so is
    still never handed on (``if isinstance(hidden, tuple): ...`` before ``self.lstm(x)``)."""
    for current in code_nodes(body):
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Name) \
                and current.func.value in _LOOKS and current.args and isinstance(current.args[0].value, cst.Name):
            yield current.args[0].value
        elif isinstance(current, cst.Comparison) and all(isinstance(c.operator, (cst.Is, cst.IsNot))
                                                         for c in current.comparisons):
            yield from (e for e in (current.left, *(c.comparator for c in current.comparisons))
                        if isinstance(e, cst.Name))


def _target_names(targets: list[cst.BaseExpression]) -> Iterator[cst.Name]:
    for target in targets:
        if isinstance(target, cst.Name):
            yield target
        elif isinstance(target, (cst.Tuple, cst.List)):
            yield from _target_names([e.value for e in target.elements])
        elif isinstance(target, cst.StarredElement):
            yield from _target_names([target.value])
