"""HS5xx: gradient clipping in a recurrent training step."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import CallSite, FileFacts, GradEvent, Loop, Scope
from hs_lint.fix import Fix, move_statement
from hs_lint.names import key_of, keyword_arg, method_name, positional_args, receiver
from hs_lint.rule import Rule, Violation, snippet
from hs_lint.values import options

_BACKWARD = ("backward", "scaled-backward")


def _complete(events: list[GradEvent]) -> bool:
    kinds = {e.kind for e in events}
    return "step" in kinds and bool(kinds.intersection(_BACKWARD))


def _exclusive(a: GradEvent, b: GradEvent) -> bool:
    """At most one of the two runs: they sit in different branches of one ``if``."""
    if a.at is b.at:
        return a.site.exclusive_with(b.site)
    return a.at.exclusive_with(b.at)


def iterations(facts: FileFacts) -> Iterator[tuple[Scope, Loop | None, list[GradEvent]]]:
    """Each loop body and each function body with its gradient events; innermost loops first."""
    by_scope: dict[int, list[Loop]] = {}
    for loop in facts.loops:
        by_scope.setdefault(id(loop.scope), []).append(loop)
    for scope in facts.scopes:
        for loop in reversed(by_scope.get(id(scope), [])):
            yield scope, loop, facts.grad_events(scope, loop)
        yield scope, None, facts.grad_events(scope)


def _home(facts: FileFacts, site: CallSite, complete: set[tuple[int, int]]) -> tuple[int, int] | None:
    """The innermost complete iteration (loop, else function body) of the clip's own scope."""
    loop = site.loop
    while loop is not None:
        if (id(site.scope), id(loop)) in complete:
            return id(site.scope), id(loop)
        loop = loop.parent
    return (id(site.scope), id(None)) if (id(site.scope), id(None)) in complete else None


_PROBLEMS = {
    "after-step": (
        "runs after `{other}`, which already used the unclipped gradients: move it between backward() and "
        "`{other}`"
    ),
    "before-backward": (
        "runs before `{other}`, so it clips the previous gradients: move it after `{other}`, right before the "
        "optimizer step"
    ),
    "scaled": (
        "clips the still-scaled gradients of `{other}` (AMP), so it clips almost every step: call "
        "`scaler.unscale_(optimizer)` right before it"
    ),
}


def misplaced(events: list[GradEvent], index: int) -> tuple[str, GradEvent] | None:
    """Why the clip at ``events[index]`` is in the wrong place, and the event it is misplaced against."""
    clip = events[index]
    before = [e for e in events[:index] if not _exclusive(e, clip)]
    after = [e for e in events[index + 1:] if not _exclusive(e, clip)]
    backwards = [e for e in before if e.kind in _BACKWARD]
    steps = [e for e in before if e.kind == "step"]
    if steps and not any(e.kind in _BACKWARD for e in before[before.index(steps[-1]):]):
        return "after-step", steps[-1]
    if not backwards:
        later = [e for e in after if e.kind in _BACKWARD]
        if later and any(e.kind == "step" for e in after[after.index(later[0]):]):
            return "before-backward", later[0]
        return None
    last = backwards[-1]
    if last.kind == "scaled-backward" and not any(e.kind == "unscale" for e in before[before.index(last):]):
        return "scaled", last
    return None


class ClipOrder(Rule):
    code = "HS501"
    name = "clip-order"
    summary = "Gradients are clipped after optimizer.step(), before backward(), or (under AMP) before unscale_()"
    message = "`{clip}` {problem}"
    rationale = (
        "Gradient clipping only has an effect between backward(), which fills `.grad`, and optimizer.step(), "
        "which uses it. Clipping after the step or before backward() silently does nothing, which for a "
        "recurrent network means the exploding gradients it was meant to prevent are back. Under AMP the "
        "gradients are scaled until `scaler.unscale_(optimizer)`; clipping them before that compares the "
        "threshold with norms tens of thousands of times too large."
    )
    torch_error = "Nothing: training runs without effective clipping (loss spikes, NaNs)."
    fix_summary = "Moves the clip's line to just before the optimizer step (not under AMP: add `scaler.unscale_`)"
    bad = (
        """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
""",
        """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(loss_fn(model(x), y)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
""",
    )
    good = (
        """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(loss_fn(model(x), y)).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for clip, problem, other, _ in _misplaced_clips(facts):
            text = _PROBLEMS[problem].format(other=snippet(facts.source(other.at.node)))
            yield self.violation(clip.at.node, clip=facts.source(clip.at.node), problem=text)

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        """Move the clip's line to just before the optimizer step it belongs in front of (not for AMP:
        there the missing ``scaler.unscale_(optimizer)`` needs names only the author knows)."""
        for clip, problem, other, events in _misplaced_clips(facts):
            if clip.at.node is not violation.node or problem == "scaled":
                continue
            step = other if problem == "after-step" else next(
                (e for e in events[events.index(other) + 1:] if e.kind == "step"), None)
            if step is not None and step.at.node is not clip.at.node:
                return Fix((move_statement(clip.at.node, before=step.at.node),))
        return None


@functools.lru_cache(maxsize=1)  # check() and then fix() for each finding ask about the same file
def _misplaced_clips(facts: FileFacts) -> list[tuple[GradEvent, str, GradEvent, list[GradEvent]]]:
    """Every clip in the wrong place: (the clip, the problem, the event it is misplaced against, its iteration)."""
    return list(_find_misplaced_clips(facts))


def _find_misplaced_clips(facts: FileFacts) -> Iterator[tuple[GradEvent, str, GradEvent, list[GradEvent]]]:
    if not facts.clips_gradients:
        return
    units = [(scope, loop, events) for scope, loop, events in iterations(facts) if _complete(events)]
    complete = {(id(scope), id(loop)) for scope, loop, _ in units}
    for scope, loop, events in units:
        for index, event in enumerate(events):
            if event.kind != "clip":
                continue
            home = _home(facts, event.site, complete)
            if home is not None and home != (id(scope), id(loop)):
                continue  # judged in the innermost iteration around it
            found = misplaced(events, index)
            if found is not None:
                yield event, found[0], found[1], events


class NoClipping(Rule):
    code = "HS502"
    name = "no-clipping"
    summary = "A recurrent training loop with backward() and step() never clips gradients (advisory)"
    message = (
        "this recurrent training step (`{step}`) never clips gradients: add "
        "`torch.nn.utils.clip_grad_norm_({params}, max_norm={clip})` between backward() and `{step}`"
    )
    rationale = (
        "Back-propagation through time multiplies the recurrent Jacobian once per time step, so gradient norms "
        "can grow exponentially with the sequence length. Clipping the global norm is the standard guard "
        "(pytorch/examples word_language_model clips at 0.25). The message names the parameters the optimizer "
        "updates and a clip value the file defines (`clip = 0.25`, `--clip`), if any. Advisory: some models "
        "(GRUs with layer norm, short sequences) train fine without it. Silent under Horovod's "
        "`DistributedOptimizer`, whose gradients are clipped after `optimizer.synchronize()`."
    )
    default_enabled = False
    bad = (
        """\
import torch
import torch.nn as nn

rnn = nn.LSTM(8, 16)
optimizer = torch.optim.Adam(rnn.parameters())
for x, y in loader:
    out, _ = rnn(x)
    optimizer.zero_grad()
    ((out - y) ** 2).mean().backward()
    optimizer.step()
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

rnn = nn.LSTM(8, 16)
optimizer = torch.optim.Adam(rnn.parameters())
for x, y in loader:
    out, _ = rnn(x)
    optimizer.zero_grad()
    ((out - y) ** 2).mean().backward()
    nn.utils.clip_grad_norm_(rnn.parameters(), 1.0)
    optimizer.step()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        if facts.clips_gradients or not facts.recurrent_calls:
            return
        units = {(id(scope), id(loop)): events for scope, loop, events in iterations(facts) if _complete(events)}
        reported: set[int] = set()
        for call in facts.recurrent_calls:
            if call.site.no_grad:
                continue
            chain = [*call.loops, None]
            events = next((units[key] for loop in chain if (key := (id(call.site.scope), id(loop))) in units), None)
            step = next((e for e in events or () if e.kind == "step"), None)
            if step is not None and id(step.site.node) not in reported:
                reported.add(id(step.site.node))
                optimizer = _optimizer(facts, step.site)
                built = (facts.qualify(optimizer.func) or key_of(optimizer.func) or "") if optimizer else ""
                if built.endswith("DistributedOptimizer"):
                    continue  # Horovod: clipping needs optimizer.synchronize() first, a different recipe
                yield self.violation(step.site.node, step=facts.source(step.site.node),
                                     params=_clipped(facts, step.site, optimizer), clip=_clip_value(facts))


_CLIP_NAME = re.compile(r"(grad(ient)?_?)?clip(_?(norm|value|grad|max))?|max_?grad_?norm", re.IGNORECASE)


def _optimizer(facts: FileFacts, step: CallSite) -> cst.Call | None:
    """The call that built the optimizer whose ``step()`` this is, when one assignment in sight builds it."""
    key = key_of(receiver(step.node))
    binding = facts.lookup(key, step.scope) if key is not None else None
    if binding is not None:
        return binding.construction
    values = [site.value for site in facts.assignments if key is not None and key in site.target_keys]
    return values[0] if len(values) == 1 and isinstance(values[0], cst.Call) else None


def _clipped(facts: FileFacts, step: CallSite, optimizer: cst.Call | None) -> str:
    """What to clip: what the optimizer was built on, if that can be written again (``rnn.parameters()``, a
    name); the optimizer's own parameters for param groups; else ``model.parameters()``."""
    given = (keyword_arg(optimizer, "params") or next(iter(positional_args(optimizer)), None)) if optimizer else None
    text = facts.source(given) if given is not None else ""
    if isinstance(given, (cst.Name, cst.Attribute, cst.Call, cst.BinaryOperation)) and "\n" not in text and (
            len(text) <= 60):
        return text
    name = key_of(receiver(step.node))
    if isinstance(given, (cst.List, cst.Tuple)) and name is not None:
        return f'(p for group in {name}.param_groups for p in group["params"])'
    return "model.parameters()"


def _clip_value(facts: FileFacts) -> str:
    """A clip value the file defines: a module constant (``CLIP = 0.25``) or an argparse option (``--clip``)
    read through the namespace ``parse_args()`` returns; else 1.0."""
    for site in facts.assignments:
        if site.scope.parent is None and len(site.targets) == 1 and isinstance(site.targets[0], cst.Name) and (
                _CLIP_NAME.fullmatch(site.targets[0].value)):
            return site.targets[0].value
    namespace = next((key_of(site.targets[0]) for site in facts.assignments if len(site.targets) == 1
                      and isinstance(site.value, cst.Call) and method_name(site.value) == "parse_args"), None)
    dest = next((name for name in options(facts) if _CLIP_NAME.fullmatch(name)), None)
    return f"{namespace}.{dest}" if namespace is not None and dest is not None else "1.0"
