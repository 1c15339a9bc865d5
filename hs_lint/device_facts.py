"""What one module says about where models and their initial states live (HS402's evidence).

A model that puts its initial state on CUDA "whenever one is available" is only wrong if the
code that builds the model never moves it there. Those two facts usually sit in different files,
so each module's part is summarised here as plain, JSON-serialisable data (no syntax nodes), and
``device_splits`` combines the summaries of every module it is given. The rule passes only the
current file's summary; a project index can pass those of all modules.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import libcst as cst

from hs_lint.facts import TENSOR_FACTORIES, VARIABLE_CLASSES, AssignSite, CallSite, FileFacts, Scope
from hs_lint.names import descendants, key_of, method_name, positional_args, receiver, referenced_keys

_MOVES = frozenset({"to", "cuda"})
_CUDA_AVAILABLE = "torch.cuda.is_available"
# Methods that may move a model without saying where (``apply(fn)``, ``to_empty(device=...)``).
_OPAQUE_METHODS = frozenset({"apply", "_apply", "to_empty"})


@dataclass(frozen=True)
class CudaState:
    """A recurrent class whose ``method`` puts the initial state on CUDA when ``torch.cuda.is_available()``."""

    cls: str
    method: str


@dataclass(frozen=True)
class Placement:
    """An instance built (``callee`` a class) or obtained (``callee`` a function) and what happens to it here.

    ``moved``: True when it is moved with ``.to()``/``.cuda()``, False when it provably stays where it
    was built, None when it escapes to code this module cannot see. ``returned_by`` names the function
    that hands the unmoved instance to its caller.
    """

    callee: str  # the qualified name as this module imports it ("backend.lstm.LSTM", "RNN", "data.load_model")
    moved: bool | None
    returned_by: str | None = None


@dataclass(frozen=True)
class DeviceFacts:
    cuda_states: tuple[CudaState, ...]
    placements: tuple[Placement, ...]

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        return {"cuda_states": [asdict(s) for s in self.cuda_states],
                "placements": [asdict(p) for p in self.placements]}

    @classmethod
    def from_dict(cls, data: dict[str, list[dict[str, object]]]) -> DeviceFacts:
        """The summary back from ``as_dict`` (as a project index may store it)."""
        return cls(tuple(CudaState(**s) for s in data["cuda_states"]),
                   tuple(Placement(**p) for p in data["placements"]))


def device_facts(facts: FileFacts) -> DeviceFacts:
    """This module's part of the evidence: its CUDA-when-available states and what it does with models."""
    return DeviceFacts(tuple(state for state, _ in cuda_state_sites(facts)), tuple(_placements(facts)))


def accelerator_evidence(facts: FileFacts) -> str | None:
    """How this file puts something on an accelerator (a ``.cuda()`` call, a ``"cuda"``/``"mps"`` device, a
    device of another module it imports: ``from config import device``), or None: without it a CPU state is
    what the code runs with."""
    for site in facts.calls:
        if method_name(site.node) == "cuda":
            return facts.source(site.node)
    if facts.accelerator_literals:
        return facts.source(facts.accelerator_literals[0])
    return next((key for key, binding in facts.module_scope.bindings.items() if binding.kind == "device"
                 and binding.construction is None and binding.detail in ("accelerator", "cuda-if-available")), None)


def device_splits(seen: Sequence[DeviceFacts], subclasses: Mapping[str, Collection[str]] = {}) -> list[CudaState]:
    """The CUDA-when-available states whose class (or a subclass of it: ``subclasses``, by class name) is built
    (in the modules seen) only into models that are never moved; silent for a class no seen module builds, or
    whose instances escape from view."""
    placements = [p for module in seen for p in module.placements]
    split = []
    for module in seen:
        for state in module.cuda_states:
            built = (state.cls, *subclasses.get(state.cls, ()))
            fates = [_fate(p, placements) for p in placements if any(_names(p.callee, c) for c in built)]
            if fates and all(fate is False for fate in fates):
                split.append(state)
    return split


def _names(qualified: str, name: str) -> bool:
    return not qualified.startswith("torch.") and (qualified == name or qualified.endswith(f".{name}"))


def _fate(placement: Placement, placements: list[Placement], depth: int = 0) -> bool | None:
    """Whether the instance ends up moved: follows a returning function to the places that call it."""
    if placement.moved is not False or placement.returned_by is None:
        return placement.moved
    if depth > 4:
        return None
    callers = [_fate(p, placements, depth + 1) for p in placements if _names(p.callee, placement.returned_by)]
    if not callers or any(fate is not False for fate in callers):
        return None if not callers or None in callers else True
    return False


# -- this module's CUDA-when-available states ---------------------------------------------------

@functools.lru_cache(maxsize=1)  # HS402's check and the module's device summary both ask about the same file
def cuda_state_sites(facts: FileFacts) -> list[tuple[CudaState, cst.Call]]:
    """Each ``.cuda()`` / ``.to(self.device)`` that puts a recurrent class's initial state on CUDA because
    a GPU is available, in a class that does not move itself there."""
    found: list[tuple[CudaState, cst.Call]] = []
    cuda_names = _cuda_if_available_names(facts)
    if not cuda_names and not any(site.qualified == _CUDA_AVAILABLE for site in facts.calls):
        return found  # each way below asks torch.cuda.is_available(), here or where an imported device is made
    for cls in facts.classes.values():
        # a class that runs a recurrent module, or builds one for the subclasses that run it
        holds = cls.is_recurrent or any(binding.kind == "module" for binding in cls.attrs.values())
        if not holds or _moves_itself(facts, cls.methods.values()):
            continue
        for method in cls.methods.values():
            if not (facts.is_state_initialiser(method) or method.name == "forward"):
                continue
            for site in facts.calls_in(method):
                if _state_to_cuda(facts, site.node, method, cuda_names):
                    found.append((CudaState(cls.name, method.name), site.node))
                    break
    return found


def _cuda_if_available_names(facts: FileFacts) -> set[str]:
    """Keys assigned from an expression that asks ``torch.cuda.is_available()`` (``self.device``, ``use_gpu``),
    and names imported from another module bound to such a device (``from config import DEVICE``)."""
    names = {key for key, binding in facts.module_scope.bindings.items()
             if binding.kind == "device" and binding.detail == "cuda-if-available" and binding.construction is None}
    for call in facts.calls:
        site = facts.assignment_containing(call) if call.qualified == _CUDA_AVAILABLE else None
        if site is not None and len(site.targets) == 1:
            key = key_of(site.targets[0])
            if key is not None:
                names.add(key)
    return names


def _asks_cuda(facts: FileFacts, expr: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Call) and facts.qualify(n.func) == _CUDA_AVAILABLE for n in descendants(expr))


def _moves_itself(facts: FileFacts, methods) -> bool:
    scopes = set(map(id, methods))
    return any(
        id(site.scope) in scopes and method_name(site.node) in _MOVES and key_of(receiver(site.node)) == "self"
        for site in facts.calls
    )


def _state_to_cuda(facts: FileFacts, call: cst.Call, method: Scope, cuda_names: set[str]) -> bool:
    """``torch.zeros(...).cuda()`` under ``if torch.cuda.is_available()`` (or a flag set from it), or
    ``torch.zeros(...).to(self.device)`` with ``self.device`` chosen by ``torch.cuda.is_available()``."""
    name = method_name(call)
    if name not in _MOVES or not _is_factory(facts, receiver(call), method):
        return False
    if name == "cuda":
        return _reads_flag(facts, method, cuda_names)
    target = (positional_args(call) or [None])[0]
    return target is not None and (key_of(target) in cuda_names or _asks_cuda(facts, target))


def _reads_flag(facts: FileFacts, method: Scope, cuda_names: set[str]) -> bool:
    """The method asks ``torch.cuda.is_available()`` or reads a flag set from it (``if train_on_gpu:``)."""
    node = method.node
    return isinstance(node, cst.FunctionDef) and (
        _asks_cuda(facts, node.body) or bool(cuda_names.intersection(referenced_keys(node.body)))
    )


def _is_factory(facts: FileFacts, expr: cst.BaseExpression | None, method: Scope) -> bool:
    if isinstance(expr, cst.Call):
        qualified = facts.qualify(expr.func)
        if qualified in VARIABLE_CLASSES:
            args = positional_args(expr)
            return bool(args) and _is_factory(facts, args[0], method)
        return qualified in TENSOR_FACTORIES
    key = key_of(expr)
    values = [s.value for s in facts.assignments if s.scope is method and key is not None and key in s.target_keys
              and key not in referenced_keys(s.value)]  # ``h = h.cuda()``, ``h, c = h.cuda(), c.cuda()``
    return bool(values) and all(_is_factory(facts, v, method) for v in values)


# -- what this module does with the models it builds or obtains ---------------------------------

def _placements(facts: FileFacts) -> Iterator[Placement]:
    """Instances of classes (capitalised names, by convention) and results of the file's own functions (which
    may build the model): everything else cannot be the model a CUDA state belongs to."""
    passed = _passed_keys(facts)
    by_receiver: dict[str, list[CallSite]] = {}  # ``model.to(...)`` under "model"
    for call in facts.calls:
        key = key_of(receiver(call.node))
        if key is not None:
            by_receiver.setdefault(key, []).append(call)
    for site in facts.assignments:
        call = _innermost(site.value)
        if not isinstance(call, cst.Call) or len(site.targets) != 1 or key_of(site.targets[0]) is None:
            continue
        callee = facts.qualify(call.func) or key_of(call.func)
        if callee is None or callee.startswith("torch."):
            continue
        if callee.rsplit(".", 1)[-1][:1].isupper() or callee in facts.functions:
            yield _placement(facts, site, callee, passed, by_receiver)
    for call in facts.calls:  # built and moved in one expression, bound to nothing: ``Net().to(device)(x)``
        built = receiver(call.node) if method_name(call.node) in _MOVES else None
        callee = (facts.qualify(built.func) or key_of(built.func)) if isinstance(built, cst.Call) else None
        if callee is not None and not callee.startswith("torch.") and (
                callee.rsplit(".", 1)[-1][:1].isupper() or callee in facts.functions):
            yield Placement(callee, True)


def _passed_keys(facts: FileFacts) -> dict[int, dict[str, list[cst.CSTNode]]]:
    """By scope, the keys handed whole to a call, with each read that hands them (``f(model)``;
    ``f(model.device)`` reads an attribute only)."""
    found: dict[int, dict[str, list[cst.CSTNode]]] = {}
    for call in facts.calls:
        keys = found.setdefault(id(call.scope), {})
        for arg in call.node.args:
            nodes = list(descendants(arg.value))
            owners = {id(n.value) for n in nodes if isinstance(n, cst.Attribute)}
            for node in nodes:
                key = key_of(node)
                if id(node) not in owners and key is not None:
                    keys.setdefault(key, []).append(node)
    return found


def _may_hold(facts: FileFacts, read: cst.CSTNode, key: str, scope: Scope, site: AssignSite) -> bool:
    """``read`` of ``key`` in ``scope`` can see what ``site`` assigned (``path = restore(path)``: the argument
    is the old ``path``). Reads in another body always can."""
    if scope is not site.scope:
        return True
    reaching = facts.reaching(read, key, scope)
    return reaching is None or id(site.node) in reaching


def _innermost(value: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """``Model(...).to(device).eval()`` -> ``Model(...)``."""
    while isinstance(value, cst.Call) and method_name(value) in (*_MOVES, "eval", "train", "float", "double"):
        inner = receiver(value)
        if not isinstance(inner, cst.Call):
            break
        value = inner
    return value


def _placement(facts: FileFacts, site: AssignSite, callee: str, passed: dict[int, dict[str, list[cst.CSTNode]]],
               by_receiver: dict[str, list[CallSite]]) -> Placement:
    key = key_of(site.targets[0])
    if _chain_moves(site.value):
        return Placement(callee, True)
    scopes = _scopes_of(facts, key, site.scope)
    moved: bool | None = False
    for call in by_receiver.get(key, ()):
        if id(call.scope) in scopes and _may_hold(facts, receiver(call.node), key, call.scope, site):
            if method_name(call.node) in _MOVES:
                return Placement(callee, True)
            if method_name(call.node) in _OPAQUE_METHODS:
                moved = None
    scope_of = {id(s): s for s in facts.scopes}
    if any(_may_hold(facts, read, key, scope_of[scope], site)
           for scope in scopes for read in passed.get(scope, {}).get(key, ())):
        moved = None  # handed to code that might move it (a trainer, DataParallel, ...)
    for scope in facts.scopes:
        if id(scope) in scopes and any(key_of(value) == key for value in scope.returns):
            function = _function_name(scope)
            return Placement(callee, moved if function else None, function if moved is False else None)
    return Placement(callee, moved)


def _chain_moves(value: cst.BaseExpression | None) -> bool:
    while isinstance(value, cst.Call):
        if method_name(value) in _MOVES:
            return True
        value = receiver(value)
    return False


def _scopes_of(facts: FileFacts, key: str, scope: Scope) -> set[int]:
    """Where ``key`` names the same object: its scope, or every method of the class for ``self.x``."""
    if key.startswith("self.") and scope.cls is not None:
        return {id(m) for m in scope.cls.methods.values()}
    if scope is facts.module_scope:  # a global: every function that does not bind the name itself reads it
        head = key.split(".", 1)[0]
        local = {id(site.scope) for site in facts.assignments if head in site.target_keys}
        return {id(s) for s in facts.scopes if s is scope or (id(s) not in local and head not in s.params)}
    return {id(scope)}


def _function_name(scope: Scope) -> str | None:
    return scope.name if scope.parent is not None and not scope.is_method else None
