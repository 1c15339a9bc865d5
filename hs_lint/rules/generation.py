"""HS306, HS308: generation loops that feed a recurrent model one step at a time and mishandle its state.

A generation (sampling) loop runs no backward(); each step feeds the model what it produced in
the step before. Its state has to follow the tokens: carried from step to step when one new token
goes in, or started afresh when the whole window is fed again. These rules look for the two ways
of getting that wrong that real code shows.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import STATE_MOVES, CallSite, FileFacts, Loop
from hs_lint.names import descendants, flat_keys, key_of, method_name, positional_args, receiver, referenced_keys
from hs_lint.rule import Rule, Violation

_INPLACE_WRITES = frozenset({"fill_", "copy_"})
_GROWTH = frozenset({"append", "extend"})
_JOINS = frozenset({"hstack", "concatenate", "cat", "append", "column_stack"})


def _is_generation_loop(loop: Loop | None) -> bool:
    return loop is not None and not loop.has_backward


def _derived(facts: FileFacts, loop: Loop, keys: set[str]) -> set[str]:
    """``keys`` and every name the loop body computes from them (any order: the body repeats)."""
    found, changed = set(keys), True
    sites = list(facts.assignments_in(loop))
    while changed:
        changed = False
        for site in sites:
            if site.value is not None and found.intersection(referenced_keys(site.value)):
                new = set(site.target_keys) - found
                if new:
                    found |= new
                    changed = True
    return found


def _sources(facts: FileFacts, loop: Loop, keys: set[str]) -> list[cst.BaseExpression]:
    """The values the loop body assigns to ``keys`` and, transitively, to the names those values read."""
    needed, values, seen = set(keys), [], set()
    sites = list(facts.assignments_in(loop))
    changed = True
    while changed:
        changed = False
        for site in sites:
            if id(site) in seen or site.value is None or not needed.intersection(site.target_keys):
                continue
            seen.add(id(site))
            values.append(site.value)
            needed |= set(referenced_keys(site.value))
            changed = True
    return values


def _recurrent_callee(facts: FileFacts, kind: str) -> bool:
    """The callee is a torch recurrent module, a recurrent class, or unknown in a file with recurrent code."""
    return kind in ("module", "instance") or kind == "unknown" and facts.has_recurrent_code


class GenerationDropsState(Rule):
    code = "HS306"
    name = "generation-drops-state"
    summary = "A generation loop feeds one new token per step but throws the returned state away"
    message = (
        "`{call}` drops the returned state: every step starts from the same `{state}` while `{input}` holds only "
        "the newest token. Carry it: `{fix}`"
    )
    rationale = (
        "When a model generates one token at a time, the recurrent state is its only memory of the tokens "
        "before. A sampling loop that writes `out, _ = model(token, (h0, c0))` feeds the initial state at "
        "every step, so each prediction depends on the last token alone (a bigram model), however well the "
        "network was trained on long contexts. Keep the returned state and pass it into the next step."
    )
    torch_error = "No error: every step's output equals what the model gives for that token from the initial state."
    bad = (
        """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 32, batch_first=True)
head = nn.Linear(32, 8)
h = torch.zeros(1, 1, 32)
c = torch.zeros(1, 1, 32)
token = torch.zeros(1, 1, 8)
with torch.no_grad():
    for _ in range(3):
        out, _ = lstm(token, (h, c))
        choice = head(out[:, -1]).argmax(-1)
        token = nn.functional.one_hot(choice, 8).float().unsqueeze(1)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 32, batch_first=True)
head = nn.Linear(32, 8)
state = (torch.zeros(1, 1, 32), torch.zeros(1, 1, 32))
token = torch.zeros(1, 1, 8)
with torch.no_grad():
    for _ in range(3):
        out, state = lstm(token, state)
        choice = head(out[:, -1]).argmax(-1)
        token = nn.functional.one_hot(choice, 8).float().unsqueeze(1)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.calls:
            loop = site.loop
            dropped = _dropped_state(facts, site) if _is_generation_loop(loop) else None
            args = positional_args(site.node)
            if dropped is None or len(args) < 2 or not _recurrent_callee(facts, facts.callee(site).kind):
                continue
            output, where = dropped
            passed = facts.passed_value(args[1], site)  # ``tmp = (h, c)`` before the call: ``(h, c)``
            state_keys = set(flat_keys(passed))
            output_key = key_of(output)
            input_keys = set(flat_keys(args[0]))
            if not state_keys or output_key is None or not input_keys:
                continue
            if not self._fixed_initial_state(facts, loop, state_keys):
                continue
            if self._one_new_token(facts, loop, input_keys, output_key):
                state = facts.source(passed)
                call = _one_line(facts.source(site.node))
                yield self.violation(
                    where, call=call, loop=facts.loop_header(loop), state=state, input=facts.source(args[0]),
                    fix=f"{facts.source(output)}, {state} = {call}",
                )

    @staticmethod
    def _fixed_initial_state(facts: FileFacts, loop: Loop, keys: set[str]) -> bool:
        """Every state key is built before the loop from a tensor factory or an ``init_hidden``-style call,
        and nothing in the loop writes it."""
        if any(keys.intersection(site.target_keys) for site in facts.assignments_in(loop)):
            return False
        for key in keys:
            before = [s for s in facts.assignments
                      if s.scope is loop.scope and s.index < loop.index and key in s.target_keys]
            while before and _moves_itself(before[-1].value, key):
                before.pop()  # ``h = h.to(device)`` after ``h = torch.zeros(...)``
            if not before or not facts.fresh_state(before[-1].value, loop.scope):
                return False
        return True

    @staticmethod
    def _one_new_token(facts: FileFacts, loop: Loop, input_keys: set[str], output_key: str) -> bool:
        """The loop replaces the input with something computed from this step's output, and never with a
        slice of a longer history (that would be a window, fed statelessly on purpose)."""
        from_output = _derived(facts, loop, {output_key})
        for site in facts.calls:
            if (site.loop is not None and loop.encloses(site.loop) and method_name(site.node) in _INPLACE_WRITES
                    and key_of(receiver(site.node)) in input_keys
                    and from_output.intersection(k for a in site.node.args for k in referenced_keys(a.value))):
                return True
        values = _sources(facts, loop, input_keys)
        if not values or any(_has_slice(v) for v in values):
            return False
        direct = [s for s in facts.assignments_in(loop) if input_keys.intersection(s.target_keys)]
        return bool(direct) and all(
            s.value is not None and not isinstance(s.value, cst.Name)
            and from_output.intersection(referenced_keys(s.value)) for s in direct
        )


def _dropped_state(facts: FileFacts, site: CallSite) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    """Where a call's output goes and where its returned state is thrown away: ``out, _ = f(x, s)`` and
    ``out = f(x, s)[0]`` (at the call), ``r = f(x, s)`` then ``out = r[0]`` and ``_ = r[1]`` (at the last)."""
    output = facts.output_target(site)
    target = site.target
    if output is None:
        return None
    if isinstance(target, cst.Tuple):
        return (output, site.node) if _is_blank(target.elements[1].value) else None
    if target is None:
        return output, site.node  # ``out = f(x, s)[0]``: nothing else of the result is kept
    reads = facts.result_reads(site)
    if set(reads) == {0, 1} and all(_is_blank(a.targets[0]) for a in reads[1]):
        return output, reads[1][0].node
    return None


def _is_blank(target: cst.BaseExpression) -> bool:
    return isinstance(target, cst.Name) and target.value == "_"


def _moves_itself(value: cst.BaseExpression | None, key: str) -> bool:
    return isinstance(value, cst.Call) and method_name(value) in STATE_MOVES and key_of(receiver(value)) == key


def _one_line(code: str) -> str:
    return " ".join(code.split()).replace("( ", "(").replace(", )", ")")


def _has_slice(expr: cst.CSTNode) -> bool:
    """A bounded slice (``seq[-n:]``, ``seq[i:j]``): a window, not the ``:`` of a whole axis."""
    return any(isinstance(n, cst.Slice) and (n.lower or n.upper) is not None for n in descendants(expr))



class GenerationRefeedsWindow(Rule):
    code = "HS308"
    name = "generation-refeeds-window"
    summary = "A generation loop re-feeds a window of its history on top of a state that has already read it"
    message = (
        "`{call}` feeds `{window}`, a window of the growing `{history}`, on top of `{state}` carried from the last "
        "step, which has read those tokens already: feed only the newest token, or start from a fresh state"
    )
    rationale = (
        "A sampling loop can either feed the whole recent window with a fresh state every step (stateless), "
        "or feed only the newest token and carry the state (stateful). Doing both -- a sliding window of the "
        "history plus the state returned by the previous step -- makes the model read each token many times: "
        "the state describes a sequence in which the context repeats, unlike anything it saw in training, and "
        "the generated text degrades."
    )
    torch_error = "No error: the outputs differ from those of the same model fed one token at a time."
    bad = (
        """\
import torch
import torch.nn as nn

gru = nn.GRU(8, 32, batch_first=True)
history = [0, 1, 2, 3]
h = None
for _ in range(3):
    x = nn.functional.one_hot(torch.tensor([history[-4:]]), 8).float()
    out, h = gru(x, h)
    history.append(int(out[0, -1].argmax()))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

gru = nn.GRU(8, 32, batch_first=True)
history = [0, 1, 2, 3]
h = None
x = nn.functional.one_hot(torch.tensor([history]), 8).float()
for _ in range(3):
    out, h = gru(x, h)
    history.append(int(out[0, -1].argmax()))
    x = nn.functional.one_hot(torch.tensor([history[-1:]]), 8).float()
""",
        """\
import torch
import torch.nn as nn

gru = nn.GRU(8, 32, batch_first=True)
history = [0, 1, 2, 3]
for _ in range(3):
    x = nn.functional.one_hot(torch.tensor([history[-4:]]), 8).float()
    out, _ = gru(x)
    history.append(int(out[0, -1].argmax()))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in facts.recurrent_calls:
            loop = call.site.loop
            keys = call.carried_keys
            args = positional_args(call.site.node)
            if not _is_generation_loop(loop) or not keys or not args:
                continue
            if any(keys.intersection(s.target_keys) for s in facts.assignments_in(loop)
                   if not facts.binds_result(call.site, s)):
                continue  # re-initialised or changed inside the loop
            found = self._window(facts, loop, args[0])
            if found is not None:
                window, history = found
                yield self.violation(call.site.node, call=_one_line(facts.source(call.site.node)), window=facts.source(window),
                                     history=history, state=facts.source(call.state_arg))

    def _window(self, facts: FileFacts, loop: Loop, fed: cst.BaseExpression) -> tuple[cst.Subscript, str] | None:
        """A slice ``hist[..., -n:]`` (n not 1) or ``hist[i:]`` (i the loop counter) of a history the loop grows,
        from which the fed input is computed."""
        counter = key_of(loop.node.target) if isinstance(loop.node, cst.For) else None
        for value in (fed, *_sources(facts, loop, set(referenced_keys(fed)))):
            for node in descendants(value):
                if not isinstance(node, cst.Subscript):
                    continue
                history = key_of(node.value)
                last = node.slice[-1].slice if node.slice else None
                if history is None or not isinstance(last, cst.Slice) or last.upper is not None:
                    continue
                if _sliding(last.lower, counter) and self._grows(facts, loop, history):
                    return node, history
        return None

    @staticmethod
    def _grows(facts: FileFacts, loop: Loop, history: str) -> bool:
        """``hist.append(t)``, ``hist += [t]``, ``hist = np.hstack([hist, t])`` / ``torch.cat((hist, t))``."""
        for site in facts.calls:
            if (site.loop is not None and loop.encloses(site.loop) and method_name(site.node) in _GROWTH
                    and key_of(receiver(site.node)) == history):
                return True
        for site in facts.assignments_in(loop):
            if history not in site.target_keys or site.value is None:
                continue
            if site.augmented:
                return True
            joined = isinstance(site.value, cst.Call) and (method_name(site.value) or key_of(site.value.func)) in _JOINS
            if (joined or isinstance(site.value, cst.BinaryOperation)) and history in referenced_keys(site.value):
                return True
        return False


def _sliding(lower: cst.BaseExpression | None, counter: str | None) -> bool:
    """``-n:`` with n other than 1, or ``i:`` with i the loop counter (a window of constant length)."""
    if isinstance(lower, cst.UnaryOperation) and isinstance(lower.operator, cst.Minus):
        return not (isinstance(lower.expression, cst.Integer) and lower.expression.value == "1")
    return counter is not None and key_of(lower) == counter
