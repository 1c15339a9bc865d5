"""Family 8: wrap a loop's body in ``if True:`` / ``try`` / ``with torch.autocast(..., enabled=False)``, add an
unrelated ``isinstance`` check or logging lines, and turn ``for`` into ``while``.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from .base import Transform, per_file
from .cst_tools import Analysed, add_imports, codes_of, edit, imported_names
from .program import expect_comment

WRAPPERS = {
    "if": ("if True:", ()),
    "try": ("try:", ("except KeyboardInterrupt:", "    raise")),
    "autocast": ('with torch.autocast("cpu", enabled=False):', ()),
}


def _loops(analysed: Analysed):
    return [n for n in m.findall(analysed.module, m.For() | m.While()) if isinstance(n.body, cst.IndentedBlock)]


def _wrapped(kind: str, block: cst.IndentedBlock) -> cst.IndentedBlock:
    header, tail = WRAPPERS[kind]
    code = header + "\n    pass\n" + "".join(line + "\n" for line in tail)
    wrapped = cst.parse_statement(code).with_changes(body=block.with_changes(header=cst.TrailingWhitespace()))
    return block.with_changes(body=[wrapped])


def _wrap(kind: str):
    def find(analysed: Analysed, program, filename: str):
        if kind == "autocast" and "torch" not in imported_names(analysed.module) and "torch" in program.identifiers():
            return
        for loop in _loops(analysed):
            def apply(loop=loop):
                module = edit(analysed.module, {loop.body: lambda updated: _wrapped(kind, updated)})
                return {filename: (add_imports(module, ["import torch"]) if kind == "autocast" else module).code}
            yield f"loop at line {analysed.line(loop)} in {kind}", apply
    return find


def _isinstance_checks(analysed: Analysed, program, filename: str):
    for function in m.findall(analysed.module, m.FunctionDef()):
        params = [p.name.value for p in function.params.params if p.name.value not in ("self", "cls")]
        if not params or not isinstance(function.body, cst.IndentedBlock):
            continue
        if "logging" in program.identifiers() and "logging" not in imported_names(analysed.module):
            continue
        check = cst.parse_statement(f'if isinstance({params[-1]}, tuple):\n    logging.debug("tuple argument")\n')
        body = function.body.body
        at = 1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
        yield f"isinstance({params[-1]}, tuple) in {function.name.value}", (lambda function=function, check=check, at=at: {
            filename: add_imports(edit(analysed.module, {function.body: lambda updated: updated.with_changes(
                body=[*updated.body[:at], check, *updated.body[at:]])}), ["import logging"]).code})


def _logging(analysed: Analysed, program, filename: str):
    for loop in _loops(analysed):
        def apply(loop=loop):
            names = sorted({n.value for n in m.findall(loop.target, m.Name())}) if isinstance(loop, cst.For) else []
            arg = f'"step %r", {names[0]}' if names else '"step"'
            body = []
            for stmt in loop.body.body:
                body.append(stmt)
                if isinstance(stmt, cst.SimpleStatementLine) and not m.findall(stmt, m.Return() | m.Break() | m.Continue() | m.Raise()):
                    body.append(cst.parse_statement(f"logging.debug({arg})\n"))
            module = edit(analysed.module, {loop.body: lambda updated: updated.with_changes(body=body)})
            return {filename: add_imports(module, ["import logging"]).code}
        yield f"logging in the loop at line {analysed.line(loop)}", apply


def _while_loops(analysed: Analysed, program, filename: str):
    iterator = program.fresh("batches_iter", "items_iter")
    for loop in _loops(analysed):
        if not isinstance(loop, cst.For) or loop.orelse is not None or loop.asynchronous is not None:
            continue
        def apply(loop=loop):
            target = analysed.module.code_for_node(loop.target)
            source = analysed.module.code_for_node(loop.iter)
            first = cst.parse_statement(f"{iterator} = iter({source})\n")
            fetch = cst.parse_statement(f"try:\n    {target} = next({iterator})\nexcept StopIteration:\n    break\n")
            header = expect_comment(codes_of(loop.body.header))
            body = loop.body.with_changes(body=[fetch, *loop.body.body], header=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  " if header else ""), comment=header))
            second = cst.While(test=cst.Name("True"), body=body, leading_lines=[])
            return {filename: edit(analysed.module, {loop: lambda _: cst.FlattenSentinel([
                first.with_changes(leading_lines=loop.leading_lines), second])}).code}
        yield f"for at line {analysed.line(loop)} as while", apply


TRANSFORMS = [
    *[Transform(f"wrap-{kind}", 8, per_file(f"wrap-{kind}", _wrap(kind))) for kind in WRAPPERS],
    Transform("add-isinstance", 8, per_file("add-isinstance", _isinstance_checks)),
    Transform("add-logging", 8, per_file("add-logging", _logging)),
    Transform("for-to-while", 8, per_file("for-to-while", _while_loops)),
]
