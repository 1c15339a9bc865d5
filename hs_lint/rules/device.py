"""HS4xx: where a hidden state lives (device)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from hs_lint.device_facts import accelerator_evidence
from hs_lint.facts import TENSOR_FACTORIES, CallSite, ClassInfo, FileFacts, Scope
from hs_lint.names import flat_keys, key_of, keyword_arg, mentions, method_name, positional_args, receiver
from hs_lint.project.summary import ClassSummary
from hs_lint.rule import Rule, Violation

_MOVES = frozenset({"to", "cuda", "type_as"})
_MOVE_CALL = re.compile(r"\.(to|cuda|type_as)\(")
_GPU_WORDS = ("cuda", "gpu", "mps")
_SHAPED_FACTORIES = frozenset(f"torch.{name}" for name in ("zeros", "ones", "empty", "randn", "rand", "full"))


def _factories(facts: FileFacts, value: cst.BaseExpression | None) -> list[cst.Call]:
    """``torch.zeros(...)`` or ``(torch.zeros(...), torch.zeros(...))`` without ``device=``."""
    values = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
    values = [v.left if isinstance(v, cst.BinaryOperation) else v for v in values]  # ``torch.randn(...) * 0.01``
    return [
        v for v in values
        if isinstance(v, cst.Call) and facts.qualify(v.func) in TENSOR_FACTORIES and keyword_arg(v, "device") is None
    ]


def _on_cpu_branch(facts: FileFacts, site: CallSite) -> bool:
    """The site is in the CPU branch of ``if torch.cuda.is_available():`` / ``if not use_gpu:``."""
    for node, branch in site.branches:
        test = facts.if_tests.get(node)
        if test is None or not any(word in facts.source(test).lower() for word in _GPU_WORDS):
            continue
        negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
        if (branch == "orelse") != negated:
            return True
    return False


def _device_move(facts: FileFacts, scope: Scope) -> str | None:
    """The device the scope moves its model or inputs to (``.to(device)`` / ``.cuda()``), if it does."""
    for site in facts.calls_in(scope):
        name = method_name(site.node)
        if name == "cuda":
            return "'cuda'"
        args = positional_args(site.node) or [keyword_arg(site.node, "device")]
        if name == "to" and args[0] is not None:
            text = facts.source(args[0])
            if any(word in text.lower() for word in ("device", *_GPU_WORDS)):
                return text
    return None


def _state_factories(facts: FileFacts, scope: Scope, state: cst.BaseExpression | None,
                     depth: int = 0) -> list[cst.Call]:
    """Factories that build the state passed in ``state``, inline, through local assignments, or returned by a
    same-file helper function (``h0 = initial_state(x)``)."""
    found = _factories(facts, state) + _helper_factories(facts, scope, state, depth)
    keys = set(flat_keys(state))
    for site in facts.assignments:
        if site.scope is not scope or not keys.intersection(site.target_keys):
            continue
        moved = isinstance(site.value, cst.Call) and method_name(site.value) in _MOVES
        if moved and key_of(receiver(site.value)) in keys:
            return []  # ``h = h.to(x.device)`` later on
        if len(site.targets) == 1:
            found.extend(_factories(facts, site.value) + _helper_factories(facts, scope, site.value, depth))
    return found


def _helper_factories(facts: FileFacts, scope: Scope, value: cst.BaseExpression | None, depth: int) -> list[cst.Call]:
    """The factories a plain function returns when ``value`` calls it (methods are state initialisers)."""
    function = facts.callee_function(value, scope) if isinstance(value, cst.Call) and depth < 3 else None
    if function is None or function.is_method:
        return []
    return [f for returned in function.returns for f in _state_factories(facts, function, returned, depth + 1)]


def _moved_by_caller(facts: FileFacts, method: Scope) -> bool:
    """Some caller moves what the initialiser returns: ``model.init_hidden(n).to(device)``, or
    ``hidden = model.init_hidden(n)`` followed by ``hidden = tuple(h.to(device) for h in hidden)``."""
    receivers = {id(receiver(site.node)) for site in facts.calls if method_name(site.node) in _MOVES}
    for site in facts.calls:
        if method_name(site.node) != method.name or facts.method_called(site.node, site.scope) is not method:
            continue
        if id(site.node) in receivers:
            return True
        keys = frozenset(flat_keys(site.target))
        if keys and any(
            later.scope is site.scope and later.index > site.index and later.value is not None
            and mentions(later.value, keys) and _MOVE_CALL.search(facts.source(later.value))
            for later in facts.assignments
        ):
            return True
    return False


def _is_module_class(facts: FileFacts, cls: ClassInfo) -> bool:
    """A subclass of ``nn.Module`` (directly, through a torch module, or a class here or in another module of the
    project that is one)."""
    seen: set[str] = set()
    todo = [cls]
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if current.recurrent_kind is not None or (current.summary is not None and _summary_is_module(
                facts, current.summary.bases)):
            return True
        for base in current.base_keys:
            head, _, rest = base.partition(".")
            qualified = ".".join(filter(None, (facts.imports.get(head, ""), rest)))
            if qualified.startswith("torch.nn."):
                return True
            if base in facts.classes:
                todo.append(facts.classes[base])
    return False


def _summary_is_module(facts: FileFacts, bases: tuple[str, ...], depth: int = 0) -> bool:
    """Absolute base names (a summary's) that reach ``torch.nn``, through the project's classes."""
    for base in bases:
        if base.startswith("torch.nn."):
            return True
        found = facts.project.resolve(base) if facts.project is not None and depth < 8 else None
        if isinstance(found, ClassSummary) and (found.recurrent_kind or _summary_is_module(facts, found.bases,
                                                                                            depth + 1)):
            return True
    return False


def _defined_at(facts: FileFacts, root: str, site: CallSite) -> bool:
    """``root`` names something that exists when ``site`` runs: a parameter, an import, an earlier
    assignment in the same scope, a module-level name (read from a function), or an enclosing loop's target."""
    scope = site.scope
    if root in scope.params or root in facts.imports:
        return True
    for assign in facts.assignments:
        if root in assign.target_keys and (
            (assign.scope is scope and assign.index < site.index)
            or (assign.scope is facts.module_scope and scope is not facts.module_scope)
        ):
            return True
    loop = site.loop
    while loop is not None:
        if isinstance(loop.node, cst.For) and root in flat_keys(loop.node.target):
            return True
        loop = loop.parent
    return False


def _device_at(facts: FileFacts, site: CallSite, candidates: list[str | None]) -> str | None:
    """The first candidate device expression whose names all exist at the factory's line."""
    for candidate in candidates:
        if candidate is None:
            continue
        if candidate.startswith(("'", '"')):
            return candidate
        roots = set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)", candidate)) - {"next", "iter"}
        if all(_defined_at(facts, root, site) for root in roots):
            return candidate
    return None


class HiddenDevice(Rule):
    code = "HS401"
    name = "hidden-device"
    summary = ("An initial hidden state is created without device= in a file that runs its model or inputs on "
               "an accelerator")
    message = "`{call}` builds the state on the CPU while the model runs on a GPU (`{evidence}`{where}): {fix}"
    rationale = (
        "`torch.zeros(...)` without `device=` always allocates on the CPU. A module whose forward (or "
        "`init_hidden`) builds its h0/c0 this way works in CPU tests and fails the first time the model is "
        "moved to a GPU; a script that moves the model and the batches with `.to(device)` but not the state "
        "fails the same way. Reported only where the file itself puts something on an accelerator (`.cuda()`, "
        "a `\"cuda\"`/`\"mps\"` device) or, for a state a model class builds in its forward, where another "
        "module of the project builds that class, moves the instance and names an accelerator (the model in "
        "`model.py`, the `.to(device)` in `train.py`); outside the CPU branch of `if torch.cuda.is_available():`; "
        "and when no caller moves the state afterwards (an `init_hidden`-style method's callers in other modules "
        "are not seen, so it is judged only where the file itself names an accelerator)."
    )
    torch_error = (
        "RuntimeError: Input and hidden tensors are not at the same device, found input tensor at cuda:0 and "
        "hidden tensor at cpu"
    )
    bad = (
        """\
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), 16)
        out, h = self.gru(x, h0)
        return out


encoder = Encoder().to("cuda")
""",
        """\
import torch
import torch.nn as nn

device = torch.device("cuda")
rnn = nn.GRU(8, 16).to(device)
for x in batches:
    h0 = torch.zeros(1, x.size(1), 16)
    out, h = rnn(x.to(device), h0)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), 16, device=x.device)
        out, h = self.gru(x, h0)
        return out


encoder = Encoder().to("cuda")
""",
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
for x in batches:
    h0 = torch.zeros(1, x.size(1), 16)
    out, h = rnn(x, h0)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        evidence = accelerator_evidence(facts)
        sites = {id(site.node): site for site in facts.calls}
        reported: set[int] = set()
        for call in facts.recurrent_calls:
            scope = call.site.scope
            inputs = positional_args(call.site.node)
            given = f"{inputs[0].value}.device" if inputs and isinstance(inputs[0], cst.Name) else None
            if scope.cls is not None and scope.cls.is_recurrent and _is_module_class(facts, scope.cls):
                candidates, where = [given, _self_device(facts, scope)], _class_evidence(facts, scope.cls, evidence)
            elif (moved := _device_move(facts, scope)) is not None:
                candidates, where = [moved, given], (evidence, "") if evidence is not None else None
            else:
                continue
            for factory in _state_factories(facts, scope, call.state_arg) if where is not None else ():
                site = sites.get(id(factory))
                if site is not None and id(factory) not in reported and not _on_cpu_branch(facts, site):
                    reported.add(id(factory))
                    device = _device_at(facts, site, candidates)
                    yield self._report(facts, factory, where, device, call.callee.recurrent_kind)
        # an initialiser's state may be moved by its callers: in another module they are not seen, so only here
        for cls in facts.classes.values():
            where = (evidence, "") if cls.is_recurrent and evidence is not None else None
            for method in cls.methods.values() if where is not None else ():
                if not facts.is_state_initialiser(method) or _moved_by_caller(facts, method):
                    continue
                for value in method.returns:
                    for factory in _state_factories(facts, method, value):
                        site = sites.get(id(factory))
                        if site is not None and id(factory) not in reported and not _on_cpu_branch(facts, site):
                            reported.add(id(factory))
                            device = _device_at(facts, site, [_self_device(facts, method)])
                            yield self._report(facts, factory, where, device, _class_kind(cls))

    def _report(self, facts: FileFacts, factory: cst.Call, evidence: tuple[str, str], device: str | None,
                kind: str | None) -> Violation:
        suggestion = suggested_call(facts, factory, device) if device is not None else None
        if suggestion is None:
            fix = "pass `device=` the device of the model's parameters"
        elif len(suggestion) <= 110:
            fix = f"write `{suggestion}`"
        else:
            fix = f"add `device={device}`"
        data = {"kind": kind} if kind is not None else {}  # --confirm builds this module kind
        if suggestion is not None:
            data["suggestion"] = suggestion
        return self.violation(factory, data, call=f"{facts.source(factory.func)}(…)", evidence=evidence[0],
                              where=evidence[1], fix=fix)


def _class_evidence(facts: FileFacts, cls: ClassInfo, evidence: str | None) -> tuple[str, str] | None:
    """How the model of class ``cls`` is put on an accelerator, and where ("" for this file): this file's
    evidence, else another module of the project that builds the class, moves the instance and names an
    accelerator (a model in ``model.py`` that ``train.py`` moves with ``model.cuda()``)."""
    if evidence is not None or cls.node is None or facts.project is None:
        return (evidence, "") if evidence is not None else None
    found = facts.project.accelerated(f"{facts.project.name}.{cls.name}")
    return (found[0], f" in {found[1]}") if found is not None else None


def _class_kind(cls: ClassInfo) -> str | None:
    """The torch module kind a recurrent class runs (its base, or its forward's recurrent call)."""
    forward = cls.methods.get("forward")
    return cls.recurrent_kind or (forward.state_kind if forward is not None else None)


def _self_device(facts: FileFacts, scope: Scope) -> str | None:
    """``next(self.parameters()).device`` inside a method of an ``nn.Module``."""
    if scope.cls is not None and scope.params[:1] == ["self"] and _is_module_class(facts, scope.cls):
        return "next(self.parameters()).device"
    return None


def suggested_call(facts: FileFacts, factory: cst.Call, device: str) -> str | None:
    """The factory call with ``device=`` added, every other argument as written (keywords stay keywords)."""
    if facts.qualify(factory.func) not in _SHAPED_FACTORIES:
        return None  # ``torch.Tensor(...)`` / ``FloatTensor(...)``: legacy constructors take no other device
    args = [f"{a.star}{a.keyword.value + '=' if a.keyword else ''}{facts.source(a.value)}" for a in factory.args]
    return f"{facts.source(factory.func)}({', '.join([*args, f'device={device}'])})"
