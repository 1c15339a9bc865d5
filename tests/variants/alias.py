"""Family 7: spell the torch class or module another way: ``import torch.nn as tnn``, ``from torch import nn``,
``Recurrent = nn.LSTM``, ``getattr(nn, "LSTM")``, a class attribute holding the class, ``from torch.nn import LSTM``.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope

from .base import Transform, per_file
from .config import _constructors
from .cst_tools import Analysed, add_imports, edit, insert_module_statements, renamed

_NN_IMPORT = m.SimpleStatementLine([m.Import([m.ImportAlias(m.Attribute(m.Name("torch"), m.Name("nn")), asname=m.AsName(m.Name("nn")))])])


def _nn_import(analysed: Analysed):
    return next((s for s in analysed.module.body if m.matches(s, _NN_IMPORT)), None)


def _module_alias(analysed: Analysed, program, filename: str):
    stmt = _nn_import(analysed)
    scope = next((s for s in analysed.scopes.values() if isinstance(s, GlobalScope)), None)
    if stmt is None or scope is None or len(scope.assignments["nn"]) != 1:
        return
    (assignment,) = scope.assignments["nn"]
    new = program.fresh("tnn", "torch_nn")

    def rename():
        nodes = [r.node for r in assignment.references]
        if not all(isinstance(n, cst.Name) for n in nodes):
            return None
        edits = renamed(nodes, new)
        edits[stmt] = lambda _: cst.parse_statement(f"import torch.nn as {new}\n")
        return {filename: edit(analysed.module, edits).code}

    yield f"import torch.nn as {new}", rename
    yield "from torch import nn", lambda: {filename: analysed.module.deep_replace(stmt, cst.parse_statement("from torch import nn\n")).code}


def _nn_class(call: cst.Call) -> str | None:
    """``nn.LSTM`` (the class through the ``nn`` module) -> ``LSTM``."""
    return call.func.attr.value if m.matches(call.func, m.Attribute(m.Name("nn"))) else None


def _class_aliases(analysed: Analysed, program, filename: str):
    for call, cls in _constructors(analysed):
        if _nn_class(call) is None:
            continue
        alias = program.fresh("Recurrent", "RecurrentClass")
        yield f"{alias} = nn.{cls}", (lambda call=call, cls=cls, alias=alias: {filename: insert_module_statements(
            edit(analysed.module, {call.func: lambda _: cst.Name(alias)}), f"{alias} = nn.{cls}\n").code})
        yield f'getattr(nn, "{cls}")', (lambda call=call, cls=cls: {filename: edit(
            analysed.module, {call.func: lambda _: cst.parse_expression(f'getattr(nn, "{cls}")')}).code})
        if cls not in program.identifiers():
            yield f"from torch.nn import {cls}", (lambda call=call, cls=cls: {filename: add_imports(
                edit(analysed.module, {call.func: lambda _: cst.Name(cls)}), [f"from torch.nn import {cls}"]).code})
        method = analysed.function(call)
        owner = analysed.parents.get(analysed.parents.get(method)) if method else None
        if isinstance(owner, cst.ClassDef) and method.params.params and method.params.params[0].name.value == "self":
            attribute = program.fresh("rnn_class", "cell_class")
            yield f"class attribute {attribute} = nn.{cls}", (
                lambda call=call, cls=cls, owner=owner, attribute=attribute: _class_attribute(analysed, filename, call, cls, owner, attribute))


def _class_attribute(analysed, filename, call, cls, owner, attribute):
    line = cst.parse_statement(f"{attribute} = nn.{cls}\n")
    body = owner.body.body
    at = 1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
    edits = {call.func: lambda _: cst.parse_expression(f"self.{attribute}"),
             owner: lambda updated: updated.with_changes(body=updated.body.with_changes(
                 body=[*updated.body.body[:at], line, *updated.body.body[at:]]))}
    return {filename: edit(analysed.module, edits).code}


TRANSFORMS = [
    Transform("alias-nn-module", 7, per_file("alias-nn-module", _module_alias)),
    Transform("alias-recurrent-class", 7, per_file("alias-recurrent-class", _class_aliases)),
]
