"""Family 3: split an expression into statements through a temporary, or join two statements into one.

Two assignments in a row join into one (``a = A`` and ``b = B`` -> ``a, b = A, B``) when neither value reads
the other's name: both values are then evaluated before either name is bound, as before.

A hoisted argument keeps its evaluation order when the callee and every argument before it are pure (names,
attributes, literals); a temporary is inlined only into the next statement of its block, where it is its only
read and nothing with an effect is evaluated before it.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope

from .base import Transform, per_file
from .cst_tools import Analysed, codes_of, edit, is_pure, with_codes, without_comment

SPLIT_SLACK = 3


def _root_call(line: cst.SimpleStatementLine) -> cst.Call | None:
    small = line.body[0]
    value = getattr(small, "value", None) if isinstance(small, (cst.Assign, cst.Expr, cst.Return)) else None
    return value if isinstance(value, cst.Call) else None


def _lines(analysed: Analysed):
    return [n for n in m.findall(analysed.module, m.SimpleStatementLine()) if len(n.body) == 1]


def _hoists(analysed: Analysed, program, filename: str):
    temp = program.fresh("tmp", "feats")
    for line in _lines(analysed):
        call = _root_call(line)
        if call is None or not is_pure(call.func) or analysed.block_of(line) is None:
            continue
        for i, arg in enumerate(call.args):
            if arg.star or not all(is_pure(a.value) for a in call.args[:i]):
                break
            if is_pure(arg.value):
                continue
            yield f"argument {i + 1} of line {analysed.line(line)} through {temp}", (
                lambda line=line, arg=arg: _hoist(analysed, filename, line, arg, temp))
            break


def _hoist(analysed: Analysed, filename: str, line, arg: cst.Arg, temp: str):
    value = arg.value
    if isinstance(value, cst.GeneratorExp) and not value.lpar:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    first = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(temp))], value)])
    edits = {arg: lambda updated: updated.with_changes(value=cst.Name(temp)),
             line: lambda updated: cst.FlattenSentinel([first, updated])}
    return {filename: edit(analysed.module, edits).code}


def _held_attributes(program) -> set[str]:
    """Attributes a class sets to a constructed object (``self.rnn = nn.LSTM(...)``): reading one is pure."""
    found = set()
    for name in program.python():
        try:
            module = cst.parse_module(program.files[name])
        except cst.ParserSyntaxError:
            continue
        for target in m.findall(module, m.Assign([m.AssignTarget(m.Attribute(m.Name("self")))], m.Call())):
            found.add(target.targets[0].target.attr.value)
    return found


def _callee_hoists(analysed: Analysed, program, filename: str):
    """``out, h = self.rnn(x, h)`` -> ``rnn = self.rnn`` then ``out, h = rnn(x, h)``: the held module read first."""
    held = _held_attributes(program)
    for line in _lines(analysed):
        call = _root_call(line)
        func = call.func if call is not None else None
        if not (isinstance(func, cst.Attribute) and is_pure(func.value) and func.attr.value in held
                and analysed.block_of(line) is not None and analysed.function(line) is not None):
            continue
        local = program.fresh(func.attr.value.lstrip("_") or "layer", "held_layer")
        yield f"{func.attr.value} read into {local} before line {analysed.line(line)}", (
            lambda line=line, func=func, local=local: _hoist_callee(analysed, filename, line, func, local))


def _hoist_callee(analysed: Analysed, filename: str, line, func: cst.Attribute, local: str):
    first = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(local))], func)])
    edits = {func: lambda _: cst.Name(local), line: lambda updated: cst.FlattenSentinel([first, updated])}
    return {filename: edit(analysed.module, edits).code}


def _unpacks(analysed: Analysed, program, filename: str):
    result = program.fresh("result", "outputs")
    for line in _lines(analysed):
        small = line.body[0]
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Tuple)
                and isinstance(small.value, cst.Call) and analysed.block_of(line) is not None):
            continue
        yield f"line {analysed.line(line)} unpacked from {result}", (lambda line=line: _unpack(analysed, filename, line, result))
        elements = small.targets[0].target.elements
        if len(elements) == 2 and all(isinstance(e.value, (cst.Name, cst.Tuple)) and not isinstance(e, cst.StarredElement)
                                      for e in elements):
            yield f"line {analysed.line(line)} indexed from {result}", (
                lambda line=line: _index(analysed, filename, line, result))


def _unpack(analysed: Analysed, filename: str, line, result: str):
    small = line.body[0]
    first = without_comment(line).with_changes(body=[small.with_changes(targets=[cst.AssignTarget(cst.Name(result))])])
    second = line.with_changes(body=[small.with_changes(value=cst.Name(result))], leading_lines=[])
    return {filename: edit(analysed.module, {line: lambda _: cst.FlattenSentinel([first, second])}).code}


def _index(analysed: Analysed, filename: str, line, result: str):
    small = line.body[0]
    first = without_comment(line).with_changes(body=[small.with_changes(targets=[cst.AssignTarget(cst.Name(result))])])
    parts = []
    for i, element in enumerate(small.targets[0].target.elements):
        index = cst.Subscript(cst.Name(result), [cst.SubscriptElement(cst.Index(cst.Integer(str(i))))])
        target = element.value.with_changes(lpar=[], rpar=[]) if isinstance(element.value, cst.Tuple) else element.value
        parts.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], index)]))
    parts[-1] = parts[-1].with_changes(trailing_whitespace=line.trailing_whitespace)
    return {filename: edit(analysed.module, {line: lambda _: cst.FlattenSentinel([first, *parts])}).code}


def _inlines(analysed: Analysed, program, filename: str):
    for line in _lines(analysed):
        small = line.body[0]
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            continue
        block = analysed.block_of(line)
        if block is None:
            continue
        body = list(block.body)
        following = body[body.index(line) + 1] if body.index(line) + 1 < len(body) else None
        if not isinstance(following, cst.SimpleStatementLine) or len(following.body) != 1:
            continue
        name = small.targets[0].target
        scope = analysed.scopes.get(name)
        assignments = [a for a in scope.assignments[name.value]] if scope else []
        if len(assignments) != 1 or len(assignments[0].references) != 1:
            continue
        if isinstance(scope, GlobalScope) and any(name.value in text for f, text in program.files.items() if f != filename):
            continue
        (read,) = [r.node for r in assignments[0].references]
        if not isinstance(read, cst.Name) or not _first_effect(analysed, following, read):
            continue
        yield f"{name.value} inlined into line {analysed.line(following)}", (
            lambda line=line, following=following, read=read: _inline(analysed, filename, line, following, read))


def _first_effect(analysed: Analysed, line, read: cst.Name) -> bool:
    """``read`` is the value, or an argument of the root call with only pure code evaluated before it."""
    small = line.body[0]
    if isinstance(small, (cst.Assign, cst.Return, cst.Expr)) and small.value is read:
        return True
    call = _root_call(line)
    if call is None or not is_pure(call.func):
        return False
    for arg in call.args:
        if arg.value is read or (isinstance(arg.value, cst.Tuple) and read in [e.value for e in arg.value.elements]):
            return True
        if not is_pure(arg.value):
            return False
    return False


def _inline(analysed: Analysed, filename: str, line, following, read):
    value = line.body[0].value
    if isinstance(value, (cst.Tuple, cst.Lambda, cst.IfExp, cst.NamedExpr)) and not value.lpar:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    codes = codes_of(line)
    edits = {line: lambda _: cst.RemoveFromParent(), read: lambda _: value,
             following: lambda updated: with_codes(updated, codes) if codes else updated}
    return {filename: edit(analysed.module, edits).code}


def _assigned(line) -> tuple[str, cst.BaseExpression] | None:
    """``name = value`` alone on its line: (name, value)."""
    small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
        return None
    return small.targets[0].target.value, small.value


def _joins(analysed: Analysed, program, filename: str):
    for line in _lines(analysed):
        block = analysed.block_of(line)
        first = _assigned(line)
        if block is None or first is None:
            continue
        body = list(block.body)
        following = body[body.index(line) + 1] if body.index(line) + 1 < len(body) else None
        second = _assigned(following)
        if second is None or first[0] == second[0] or _reads(first[1], second[0]) or _reads(second[1], first[0]):
            continue
        if m.findall(second[1], m.Call()) and _read_elsewhere(analysed, line, program, filename):
            continue  # a function the second value calls may read the first name: it is bound later now
        yield f"lines {analysed.line(line)} and {analysed.line(following)} as one assignment", (
            lambda line=line, following=following: _join(analysed, filename, line, following))


def _read_elsewhere(analysed: Analysed, line, program, filename: str) -> bool:
    """The first name is read in another scope (a function reading a global), or by another file."""
    name = line.body[0].targets[0].target
    scope = analysed.scopes.get(name)
    if scope is None:
        return True
    if isinstance(scope, GlobalScope) and any(name.value in text for f, text in program.files.items() if f != filename):
        return True
    return any(access.scope is not scope for a in scope.assignments[name.value] for access in a.references)


def _reads(value: cst.BaseExpression, name: str) -> bool:
    return any(n.value == name for n in m.findall(value, m.Name()))


def _join(analysed: Analysed, filename: str, line, following):
    names, values = zip(_assigned(line), _assigned(following))
    values = [v.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
              if isinstance(v, (cst.Tuple, cst.Lambda, cst.IfExp, cst.NamedExpr)) and not v.lpar else v for v in values]
    joined = cst.Assign([cst.AssignTarget(cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[]))],
                        cst.Tuple([cst.Element(v) for v in values], lpar=[], rpar=[]))
    codes = codes_of(line) + codes_of(following)
    merged = line.with_changes(body=[joined])
    edits = {line: lambda _: with_codes(without_comment(merged), codes) if codes else merged,
             following: lambda _: cst.RemoveFromParent()}
    return {filename: edit(analysed.module, edits).code}


TRANSFORMS = [
    Transform("hoist-argument", 3, per_file("hoist-argument", _hoists, SPLIT_SLACK)),
    Transform("hoist-callee", 3, per_file("hoist-callee", _callee_hoists, SPLIT_SLACK)),
    Transform("unpack-through-temporary", 3, per_file("unpack-through-temporary", _unpacks, SPLIT_SLACK)),
    Transform("inline-temporary", 3, per_file("inline-temporary", _inlines, SPLIT_SLACK)),
    Transform("join-assignments", 3, per_file("join-assignments", _joins)),
]
