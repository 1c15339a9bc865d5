"""Family 2: reuse a name. ``out, h_new = rnn(x, h); h = h_new`` becomes ``out, h = rnn(x, h)``;
``emb = embed(x); rnn(emb)`` becomes ``x = embed(x); rnn(x)``; ``y = fc(out)`` becomes ``out = fc(out)``.

The new name T is merged into a name S that its one defining statement D reads. That keeps the meaning when
S is read nowhere after D (or only after a copy-back ``S = f(T)`` in D's block, past which T is not read), S is
not rebound while T is live, and, in a loop, D's reads of S see the same value in both versions (only with a
copy-back).
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import FunctionScope, GlobalScope

from .base import Transform, per_file
from .cst_tools import Analysed, codes_of, edit, renamed, with_codes


def _targets(stmt: cst.Assign) -> list[cst.Name]:
    return [n for t in stmt.targets for n in m.findall(t.target, m.Name())]


def _merges(analysed: Analysed, program, filename: str):
    for scope in {s for s in analysed.scopes.values() if isinstance(s, (FunctionScope, GlobalScope))}:
        if isinstance(scope, GlobalScope) and len(program.files) > 1:
            continue
        for t_name in sorted({a.name for a in scope.assignments}):
            t_assigns = [a for a in scope.assignments[t_name] if a.scope is scope]
            if len(t_assigns) != 1 or not isinstance(t_assigns[0].node, cst.Name):
                continue
            stmt = next((p for p in analysed.ancestors(t_assigns[0].node) if isinstance(p, cst.Assign)), None)
            if stmt is None or analysed.statement(stmt) is None:
                continue
            callees = {c.func.value for c in m.findall(stmt.value, m.Call(func=m.Name()))}
            for s_name in sorted({n.value for n in m.findall(stmt.value, m.Name())} - {t_name} - callees):
                if s_name[:1].isupper():  # a class or a constant: rebinding it to data is no spelling anyone uses
                    continue
                if s_name in scope.assignments and all(a.scope is scope for a in scope.assignments[s_name]):
                    yield f"{t_name} merged into {s_name}", (
                        lambda scope=scope, t=t_name, s=s_name, stmt=stmt: _merge(analysed, filename, scope, t, s, stmt))


def _merge(analysed: Analysed, filename: str, scope, t: str, s: str, stmt: cst.Assign):
    line = analysed.statement(stmt)
    _, end = analysed.span(line)
    (t_assign,) = [a for a in scope.assignments[t] if a.scope is scope]
    s_assigns = list(scope.assignments[s])
    t_reads = [r.node for r in t_assign.references]
    s_reads = [r.node for a in s_assigns for r in a.references] + [a.node for a in scope.accesses[s]]
    s_binds = [a.node for a in s_assigns]
    if not all(isinstance(n, cst.Name) for n in s_reads + t_reads) or not all(
            isinstance(n, (cst.Name, cst.Param)) for n in s_binds):
        return None
    if any(analysed.scopes[n] is not scope for n in t_reads + s_reads):
        return None
    pos = lambda node: analysed.span(node)[0]  # noqa: E731
    if any(pos(n) <= end for n in t_reads):
        return None
    copy_back = _copy_back(analysed, analysed.block_of(line), line, s, t)
    if copy_back is None:
        if analysed.loops(line) or any(pos(n) > end for n in s_reads + s_binds):
            return None
    else:
        c_start, c_end = analysed.span(copy_back)
        if any(pos(n) > c_end for n in t_reads):
            return None
        if any(end < pos(n) < c_start for n in s_reads + s_binds):
            return None
    edits = renamed([t_assign.node, *t_reads], s)
    if copy_back is not None and m.matches(copy_back.body[0].value, m.Name(t)):
        codes = codes_of(copy_back)
        edits[line] = lambda updated: with_codes(updated, codes) if codes else updated
        edits[copy_back] = lambda updated: cst.RemoveFromParent()
    return {filename: edit(analysed.module, edits).code}


def _copy_back(analysed: Analysed, block, line, s: str, t: str):
    """``S = f(T)`` after ``line`` in the same block, if any; not ``S = g(S, T)``, whose S would read T's value."""
    if block is None:
        return None
    body = list(block.body)
    for stmt in body[body.index(line) + 1:]:
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name(s))])])):
            read = {n.value for n in m.findall(stmt.body[0].value, m.Name())}
            return stmt if t in read and s not in read else None
    return None


TRANSFORMS = [Transform("reuse-name", 2, per_file("reuse-name", _merges))]
