"""Family 4: move an expression into a helper function (in the same module or another one; its body one
``return``, or an assignment of a local then ``return`` of it), or inline a helper into its callers.

An extracted expression's free names become the helper's parameters (locals and parameters of the functions
around it); it may not use ``super()``, ``yield``, ``await``, a walrus or a lambda. A helper moved to another
module may use only imported names and builtins. A helper is inlined when its body is one ``return`` and each
argument is pure and its parameter read once.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import BuiltinScope, GlobalScope

from hs_lint.inline import Substitute

from .base import Transform, per_file
from .cst_tools import Analysed, add_imports, globals_read, codes_of, edit, import_lines, imported_names, is_pure, with_codes
from .split_join import _lines, _root_call

_FORBIDDEN = m.Yield() | m.Await() | m.NamedExpr() | m.Lambda() | m.Call(func=m.Name("super")) \
    | m.GeneratorExp() | m.ListComp() | m.SetComp() | m.DictComp()


def _candidates(analysed: Analysed):
    """Expressions worth extracting: a statement's value, and a root call's non-trivial arguments."""
    for line in _lines(analysed):
        if analysed.function(line) is None:
            continue
        small = line.body[0]
        if isinstance(small, (cst.Assign, cst.Return, cst.Expr)) and isinstance(small.value, (cst.Call, cst.Subscript)):
            yield line, small.value
        call = _root_call(line)
        for arg in call.args if call is not None else ():
            if not arg.star and not arg.keyword and not is_pure(arg.value):
                yield line, arg.value


def _free(analysed: Analysed, expr: cst.BaseExpression) -> list[str] | None:
    """Names ``expr`` reads from the functions around it, in first-read order; None if it cannot move."""
    if m.findall(expr, _FORBIDDEN):
        return None
    free: list[str] = []
    for name in m.findall(expr, m.Name()):
        scope = analysed.scopes.get(name)
        if scope is None or name.value not in scope.accesses or isinstance(analysed.parents.get(name), cst.Attribute) \
                and analysed.parents[name].attr is name:
            continue
        referents = {a.scope for access in scope.accesses[name.value] if access.node is name for a in access.referents}
        if referents and not all(isinstance(s, (GlobalScope, BuiltinScope)) for s in referents):
            if name.value not in free:
                free.append(name.value)
    return free


def _extract(elsewhere: bool, local: bool = False):
    def find(analysed: Analysed, program, filename: str):
        helper = program.fresh("compute_step", "helper")
        module_name = program.fresh("step_helpers", "helpers_mod")
        result = program.fresh("result", "outcome") if local else None
        for line, expr in _candidates(analysed):
            free = _free(analysed, expr)
            if free is None:
                continue
            if elsewhere and not globals_read(analysed, expr) <= imported_names(analysed.module):
                continue
            yield f"{analysed.module.code_for_node(expr)[:40]} into {helper}()", (
                lambda line=line, expr=expr, free=free: _apply_extract(
                    analysed, program, filename, line, expr, free, helper, module_name if elsewhere else None, result))
    return find


def _apply_extract(analysed, program, filename, line, expr, free, helper, module_name, result=None):
    body = analysed.module.code_for_node(expr.with_changes(lpar=[], rpar=[]) if not isinstance(expr, cst.Tuple) else expr)
    definition = f"def {helper}({', '.join(free)}):\n    return {body}\n" if result is None else (
        f"def {helper}({', '.join(free)}):\n    {result} = {body}\n    return {result}\n")
    call = cst.parse_expression(f"{helper}({', '.join(free)})")
    edits = {expr: lambda _: call}
    if module_name is None:
        top = analysed.top_level(line)
        edits[top] = lambda updated: cst.FlattenSentinel([cst.parse_statement(definition), updated])
        return {filename: edit(analysed.module, edits).code}
    folder, _, _ = filename.rpartition("/")
    new_file = f"{folder}/{module_name}.py" if folder else f"{module_name}.py"
    package = f"{folder}/__init__.py" if folder else "__init__.py"
    relative = bool(folder) and package in program.files
    importer = f"from .{module_name} import {helper}" if relative else f"from {module_name} import {helper}"
    module = add_imports(edit(analysed.module, edits), [importer])
    imports = "\n".join(line for line in import_lines(analysed.module) if "__future__" not in line)
    return {filename: module.code, new_file: f"{imports}\n\n\n{definition}"}


def _inlines(analysed: Analysed, program, filename: str):
    for function in m.findall(analysed.module, m.FunctionDef()):
        body = [s for s in function.body.body if not m.matches(s, m.SimpleStatementLine([m.Expr(m.SimpleString())]))]
        params = function.params
        if (function.decorators or len(body) != 1 or not m.matches(body[0], m.SimpleStatementLine([m.Return()]))
                or not isinstance(params.star_arg, cst.MaybeSentinel) or params.kwonly_params or params.star_kwarg or params.posonly_params
                or any(p.default for p in params.params) or body[0].body[0].value is None):
            continue
        name = function.name.value
        if sum(text.count(name) for text in program.files.values()) != 1 + _call_count(analysed, name):
            continue
        owner = analysed.parents.get(analysed.parents.get(function))
        method = isinstance(owner, cst.ClassDef)
        if not method and analysed.parents.get(function) is not analysed.module:
            continue
        calls = [c for c in m.findall(analysed.module, m.Call()) if _callee(c) == name]
        if calls and all(_inlinable(analysed, c, function, method) for c in calls):
            yield f"{name}() inlined at {len(calls)} call(s)", (
                lambda function=function, calls=calls, method=method: _apply_inline(analysed, filename, function, calls, method))


def _callee(call: cst.Call) -> str | None:
    if isinstance(call.func, cst.Name):
        return call.func.value
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def _call_count(analysed, name: str) -> int:
    return sum(1 for c in m.findall(analysed.module, m.Call()) if _callee(c) == name)


def _inlinable(analysed: Analysed, call: cst.Call, function: cst.FunctionDef, method: bool) -> bool:
    params = function.params.params[1:] if method else function.params.params
    if method != isinstance(call.func, cst.Attribute) or (method and not is_pure(call.func.value)):
        return False
    if len(call.args) != len(params) or any(a.star or a.keyword or not is_pure(a.value) for a in call.args):
        return False
    expr = function.body.body[-1].body[0].value
    caller = analysed.scopes.get(call)
    names = {n.value for n in m.findall(expr, m.Name())} - {p.name.value for p in function.params.params}
    return caller is not None and not any(n in caller.assignments and not isinstance(
        next(iter(caller.assignments[n])).scope, GlobalScope) for n in names)


def _apply_inline(analysed: Analysed, filename: str, function, calls, method: bool):
    expr = function.body.body[-1].body[0].value
    codes = codes_of(function)
    params = [p.name.value for p in function.params.params]
    edits = {function: lambda _: cst.RemoveFromParent()}
    for call in calls:
        args = ([call.func.value] if method else []) + [a.value for a in call.args]
        value = expr.visit(Substitute(dict(zip(params, args))))
        if not isinstance(value, (cst.Name, cst.Call, cst.Attribute, cst.Subscript)) and not value.lpar:
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        edits[call] = lambda _, value=value: value
        line = next((p for p in analysed.ancestors(call) if isinstance(p, cst.SimpleStatementLine)), None)
        if line is not None and codes:
            edits[line] = lambda updated: with_codes(updated, codes)
    return {filename: edit(analysed.module, edits).code}


TRANSFORMS = [
    Transform("extract-helper", 4, per_file("extract-helper", _extract(False))),
    Transform("extract-helper-module", 4, per_file("extract-helper-module", _extract(True)), cross_module=True),
    Transform("extract-helper-local", 4, per_file("extract-helper-local", _extract(False, local=True))),
    Transform("extract-helper-local-module", 4, per_file("extract-helper-local-module", _extract(True, local=True)),
              cross_module=True),
    Transform("inline-helper", 4, per_file("inline-helper", _inlines)),
]
