"""Reaching definitions: which assignments of a name can reach a given read of it.

``out, h = rnn(x, h)`` reads the ``h`` that was there before and defines a new one; without control flow
every read of ``h`` would see every assignment of it, so the state a caller built and the state the module
returned become one blurred value. This walks one function's statements in order (``if`` joins its branches,
loops run to a fixpoint over their back edge, ``try`` handlers see every definition their body may have
made) and records, for every name and attribute chain read, the set of statements whose definition may
reach it. It only ever over-approximates: a read it cannot place is ``None``, and rules then fall back to
the flow-insensitive view.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import libcst as cst

from .names import flat_keys, key_of
from .walk import code_nodes

ENTRY = 0  # the value on entry to the function: a parameter, a global, another method's ``self.x``

State = Mapping[str, frozenset[int]]  # key -> ids of the defining statements; absent means {ENTRY}
_ENTRY_ONLY = frozenset({ENTRY})
_MAX_ROUNDS = 8  # a loop's fixpoint; definitions only grow, so this is reached only by long copy chains
_BUDGET = 200_000  # statements visited per body (loops revisit theirs): past it nothing is placed


class _OverBudget(Exception):
    pass


class ReachingDefinitions:
    """The definitions reaching each read in one function body (or a module's top level)."""

    def __init__(self, body: Iterable[cst.CSTNode], extra: Mapping[int, frozenset[str]] | None = None) -> None:
        """``extra``: id(small statement) -> keys it also defines, beyond what it assigns (a call that writes
        a model's state, say: a rule's own question asked of the same control flow)."""
        self._extra = extra or {}
        self._at: dict[int, State] = {}  # id(read node) -> the state before its statement
        self._breaks: list[list[State]] = []
        self._continues: list[list[State]] = []
        self._tries: list[dict[str, set[int]]] = []
        self._steps = 0
        try:
            self._block(body, {})
        except (_OverBudget, RecursionError):
            self._at = {}  # nothing placed: every read falls back to the flow-insensitive view

    def reaching(self, read: cst.CSTNode, key: str) -> frozenset[int] | None:
        """Ids of the statements (``ENTRY`` for the incoming value) whose ``key`` may reach ``read``."""
        state = self._at.get(id(read))
        if state is None:
            return None
        return state.get(key, _ENTRY_ONLY)

    # -- statements ------------------------------------------------------------------------
    def _block(self, body: Iterable[cst.CSTNode], state: dict[str, frozenset[int]] | None):
        for statement in body:
            if state is None:
                return None  # after return/raise/break/continue: unreachable
            state = self._statement(statement, state)
        return state

    def _statement(self, node: cst.CSTNode, state: dict[str, frozenset[int]]):
        self._steps += 1
        if self._steps > _BUDGET:
            raise _OverBudget
        if isinstance(node, cst.BaseSmallStatement):  # the body of ``def f(): h = g(h); return h``
            return self._small(node, state)
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if state is None:
                    return None
                state = self._small(small, state)
            return state
        if isinstance(node, cst.If):
            state = self._reads(node.test, state)
            then = self._block(node.body.body, dict(state))
            other = self._orelse(node.orelse, state)
            return _join(then, other)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, state)
        if isinstance(node, cst.With):
            for item in node.items:
                state = self._reads(item.item, state)
            state = dict(state)
            for item in node.items:
                if item.asname is not None:
                    self._define(state, flat_keys(item.asname.name), node)
            return self._block(node.body.body, state)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self._try(node, state)
        if isinstance(node, cst.Match):
            return self._match(node, state)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                state = self._reads(decorator.decorator, state)
            state = dict(state)
            self._define(state, [node.name.value], node)
            return state
        return self._reads(node, state)  # anything newer than this walk: its reads; it defines nothing

    def _orelse(self, orelse: cst.CSTNode | None, state: dict[str, frozenset[int]]):
        if orelse is None:
            return dict(state)
        if isinstance(orelse, cst.If):
            return self._statement(orelse, dict(state))
        return self._block(orelse.body.body, dict(state))

    def _small(self, node: cst.BaseSmallStatement, state: dict[str, frozenset[int]]):
        after = self._assigned(node, state)
        if after is not None and id(node) in self._extra:
            after = dict(after)
            self._define(after, self._extra[id(node)], node)
        return after

    def _assigned(self, node: cst.BaseSmallStatement, state: dict[str, frozenset[int]]):
        if isinstance(node, cst.Assign):
            state = self._reads(node.value, state)
            for target in node.targets:
                self._target_reads(target.target, state)
            state = dict(state)
            self._define(state, (k for t in node.targets for k in _bound(t.target)), node)
            return state
        if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            if node.value is not None:
                state = self._reads(node.value, state)
            state = self._reads(node.target, state)  # ``h += x`` reads ``h``
            if isinstance(node, cst.AnnAssign) and node.value is None:
                return state
            state = dict(state)
            self._define(state, _bound(node.target), node)
            return state
        if isinstance(node, cst.Del):
            state = dict(state)
            self._define(state, _bound(node.target), node)
            return state
        state = self._reads(node, state)
        if isinstance(node, (cst.Return, cst.Raise)):
            return None
        if isinstance(node, cst.Break) and self._breaks:
            self._breaks[-1].append(state)
            return None
        if isinstance(node, cst.Continue) and self._continues:
            self._continues[-1].append(state)
            return None
        return state

    def _loop(self, node: cst.For | cst.While, state: dict[str, frozenset[int]]):
        if isinstance(node, cst.For):
            state = self._reads(node.iter, state)
        head = dict(state)
        body_out = None
        breaks: list[State] = []
        for _ in range(_MAX_ROUNDS):
            self._breaks.append([])
            self._continues.append([])
            entry = dict(head)
            if isinstance(node, cst.For):
                self._target_reads(node.target, entry)
                self._define(entry, _bound(node.target), node)
            else:
                entry = self._reads(node.test, entry)
            body_out = self._block(node.body.body, entry)
            breaks = self._breaks.pop()
            back = _join_all([body_out, *self._continues.pop()])
            joined = _join(head, back)
            if joined == head:
                break
            head = joined
        else:
            for read in _walk(node):  # no fixpoint: what was recorded inside may miss a definition
                self._at.pop(id(read), None)
        after = dict(head)
        if isinstance(node, cst.While):
            if _always_true(node.test):
                return _join_all(breaks)  # ``while True:`` ends only by break (or return/raise)
            after = self._reads(node.test, after)
        exit_state = _join_all([after, *breaks])
        if node.orelse is not None:
            exit_state = _join(self._block(node.orelse.body.body, dict(after)), _join_all(breaks))
        return exit_state

    def _try(self, node: cst.Try, state: dict[str, frozenset[int]]):
        self._tries.append({})
        body_out = self._block(node.body.body, dict(state))
        made = self._tries.pop()
        if self._tries:  # an outer try's handlers may see these too
            for key, ids in made.items():
                self._tries[-1].setdefault(key, set()).update(ids)
        # a handler can start after any statement of the body: every definition made there may reach it
        start = {key: ids | frozenset(made.get(key, ())) for key, ids in state.items()}
        for key, ids in made.items():
            start.setdefault(key, _ENTRY_ONLY | frozenset(ids))
        outs = []
        for handler in node.handlers:
            entry = dict(start)
            if handler.name is not None:
                self._define(entry, flat_keys(handler.name.name), handler)
            outs.append(self._block(handler.body.body, entry))
        if node.orelse is not None and body_out is not None:
            body_out = self._block(node.orelse.body.body, body_out)
        out = _join_all([body_out, *outs])
        if node.finalbody is not None:
            final_in = _join(out, start) if out is not None else dict(start)
            final_out = self._block(node.finalbody.body.body, final_in)
            return None if out is None or final_out is None else final_out
        return out

    def _match(self, node: cst.Match, state: dict[str, frozenset[int]]):
        state = self._reads(node.subject, state)
        outs = [dict(state)]  # no case may match
        for case in node.cases:
            entry = dict(state)
            self._define(entry, _pattern_names(case.pattern), case)
            if case.guard is not None:
                entry = self._reads(case.guard, entry)
            outs.append(self._block(case.body.body, entry))
        return _join_all(outs)

    # -- reads and definitions -------------------------------------------------------------
    def _define(self, state: dict[str, frozenset[int]], keys: Iterable[str], node: cst.CSTNode) -> None:
        mark = frozenset({id(node)})
        for key in keys:
            for stale in [k for k in state if k.startswith(key + ".")]:
                del state[stale]  # ``h = ...`` also replaces whatever ``h.data`` held: unknown again
            state[key] = mark
            if self._tries:
                self._tries[-1].setdefault(key, set()).add(id(node))

    def _target_reads(self, target: cst.CSTNode, state: State) -> None:
        """A target's own reads: ``self`` in ``self.h = ...``, ``i`` in ``a[i] = ...``."""
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target_reads(element.value, state)
        elif isinstance(target, cst.StarredElement):
            self._target_reads(target.value, state)
        elif isinstance(target, cst.Attribute):
            self._place(target.value, state)
        elif isinstance(target, cst.Subscript):
            self._place(target, state)

    def _place(self, node: cst.CSTNode, state: State) -> None:
        for read in _walk(node):
            if isinstance(read, (cst.Name, cst.Attribute)):
                self._at[id(read)] = state

    def _reads(self, node: cst.CSTNode, state: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
        """Place every read in ``node`` at ``state``; the state after it (walrus targets, calls' effects).

        States are never changed once made (every definition copies), so reads share them.
        """
        walruses, calls = [], False
        for current in _walk(node):
            if isinstance(current, (cst.Name, cst.Attribute)):
                self._at[id(current)] = state
            elif isinstance(current, cst.NamedExpr):
                walruses.append(current)
            elif isinstance(current, cst.Call):
                calls = True
        if not walruses and not calls:
            return state
        state = dict(state)
        if calls:  # a call may rebind any attribute it can reach (``self.reset()``): the incoming value too
            for key in [k for k in state if "." in k]:
                state[key] = state[key] | _ENTRY_ONLY
        for walrus in walruses:
            self._define(state, _bound(walrus.target), walrus)
        return state


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node inside ``node`` that runs with it: not the bodies of nested functions or classes."""
    for current in code_nodes(node, _NESTED):
        if not isinstance(current, _NESTED):
            yield current


_NESTED = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _always_true(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "True") or (
        isinstance(test, cst.Integer) and test.evaluated_value != 0)


def _bound(target: cst.CSTNode) -> list[str]:
    """Keys a target rebinds: ``out, (h, c)`` -> out, h, c; ``*rest`` -> rest; ``a[i]`` rebinds nothing."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return [k for element in target.elements for k in _bound(element.value)]
    if isinstance(target, cst.StarredElement):
        return _bound(target.value)
    key = key_of(target)
    return [key] if key is not None else []


def _pattern_names(pattern: cst.CSTNode) -> list[str]:
    names = []
    stack = [pattern]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.MatchAs) and current.name is not None:
            names.append(current.name.value)
        elif isinstance(current, cst.MatchStar) and current.name is not None:
            names.append(current.name.value)
        stack.extend(current.children)
    return names


def _join(a: State | None, b: State | None) -> dict[str, frozenset[int]] | None:
    if a is None:
        return None if b is None else dict(b)
    if b is None:
        return dict(a)
    joined = dict(a)
    for key, ids in b.items():
        joined[key] = joined.get(key, _ENTRY_ONLY) | ids
    for key in a.keys() - b.keys():
        joined[key] = joined[key] | _ENTRY_ONLY
    return joined


def _join_all(states: Iterable[State | None]) -> dict[str, frozenset[int]] | None:
    joined = None
    for state in states:
        joined = _join(joined, state)
    return joined
