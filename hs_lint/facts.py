"""Facts about recurrent modules, hidden states and training loops, derived once per file.

The collector walks the concrete syntax tree once and records raw sites (imports, assignments,
calls, loops, ``no_grad`` regions, returns). ``FileFacts`` then resolves them into the facts that
rules share: which names hold a recurrent module, which calls feed a hidden state into one and
where the state comes back, which loops run ``backward()`` every iteration, and one summary per
function (does it detach, does it call ``backward``, is it a recurrent step). Rules read these
facts; they never walk the tree themselves.

Names are resolved through the file's own import table rather than libcst's
``QualifiedNameProvider``: the scope analysis behind that provider costs several times the
parse itself (measured in the README), and the analysis only needs to know what ``nn``,
``torch`` or an imported ``LSTM`` stand for.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from hs_lint.walk import walk
from hs_lint.names import (
    flat_keys,
    key_of,
    keyword_arg,
    method_name,
    positional_args,
    receiver,
    referenced_keys,
)

RECURRENT_KINDS = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
CELL_KINDS = frozenset({"RNNCell", "LSTMCell", "GRUCell"})
TUPLE_STATE_KINDS = frozenset({"LSTM", "LSTMCell"})

_TORCH_RECURRENT = {
    f"{prefix}.{kind}": kind
    for kind in RECURRENT_KINDS
    for prefix in ("torch.nn", "torch.nn.modules.rnn")
}
_NO_GRAD_CONTEXTS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.inference_mode",
        "torch.autograd.grad_mode.inference_mode",
    }
)
_SET_GRAD_ENABLED = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled"})
_AUTOGRAD_BACKWARD = frozenset(
    {"torch.autograd.backward", "torch.autograd.grad", "torch.autograd.grad_mode.grad"}
)
_BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
# Methods that return the module itself, so ``m = Model().to(device)`` still binds a Model.
_SELF_RETURNING_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "train", "eval"})
# Methods that return a tensor still attached to the receiver's graph.
_GRAPH_KEEPING_METHODS = frozenset(
    {
        "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "type_as",
        "view", "view_as", "reshape", "reshape_as", "contiguous", "clone", "permute",
        "transpose", "t", "squeeze", "unsqueeze", "expand", "expand_as", "repeat", "flatten",
        "narrow", "chunk", "split", "index_select", "masked_fill", "mul", "add", "sub", "div",
        "__getitem__", "requires_grad_",
    }
)
_DETACH_METHODS = frozenset({"detach", "detach_"})
_FRESH_LIKE = frozenset(
    {"torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.randn_like", "torch.rand_like",
     "torch.full_like"}
)
_DETACHING_CONSTRUCTORS = frozenset({"torch.tensor", "torch.autograd.Variable", "torch.autograd.variable.Variable"})


class Flow(enum.IntEnum):
    """What an expression does to the autograd graph of the hidden state it is computed from.

    Ordered so that combining parts keeps the most decisive one: a detach anywhere counts as
    handled, and anything the analysis cannot see into makes it stay silent.
    """

    FRESH = 0  # does not depend on the state (a re-initialisation)
    CARRIED = 1  # depends on the state and keeps its graph
    DETACHED = 2  # depends on the state through a detach
    OPAQUE = 3  # passes through something the analysis cannot see into


@dataclass(eq=False)
class Loop:
    node: cst.For | cst.While
    scope: Scope
    parent: Loop | None
    no_grad: bool
    has_backward: bool = False

    def encloses(self, other: Loop) -> bool:
        loop: Loop | None = other
        while loop is not None:
            if loop is self:
                return True
            loop = loop.parent
        return False


@dataclass(eq=False)
class Scope:
    """A function body (or the module itself) and its summary."""

    node: cst.Module | cst.FunctionDef
    name: str
    parent: Scope | None
    cls: ClassInfo | None = None  # set for methods
    params: list[str] = field(default_factory=list)
    no_grad: bool = False  # decorated with @torch.no_grad() / @torch.inference_mode()
    bindings: dict[str, Binding] = field(default_factory=dict)
    returns: list[cst.BaseExpression] = field(default_factory=list)
    detaches: bool = False  # its body detaches something (summary used at call sites)
    calls_backward: bool = False  # directly or through a same-file helper
    is_recurrent_step: bool = False  # runs a recurrent call and returns the new state
    state_kind: str | None = None  # the module kind of that call, when it is known

    @property
    def is_method(self) -> bool:
        return self.cls is not None


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    base_keys: list[str]
    attrs: dict[str, Binding] = field(default_factory=dict)
    methods: dict[str, Scope] = field(default_factory=dict)
    recurrent_kind: str | None = None  # subclass of a torch recurrent module
    is_recurrent: bool = False  # a recurrent module, or its forward runs one

    @property
    def forward_detaches(self) -> bool:
        forward = self.methods.get("forward")
        return forward is not None and forward.detaches


@dataclass(frozen=True)
class Binding:
    """What a name or attribute holds: a torch recurrent module, a user class instance, an optimizer."""

    kind: str  # "module" | "instance" | "optimizer"
    detail: str  # the recurrent kind, the class name, the optimizer's qualified name
    construction: cst.Call | None = None


@dataclass(eq=False)
class AssignSite:
    targets: list[cst.BaseExpression]
    value: cst.BaseExpression | None
    node: cst.CSTNode
    scope: Scope
    loop: Loop | None
    augmented: bool = False

    @property
    def target_keys(self) -> list[str]:
        return [k for t in self.targets for k in flat_keys(t)]


@dataclass(eq=False)
class CallSite:
    node: cst.Call
    scope: Scope
    loop: Loop | None
    no_grad: bool
    target: cst.BaseExpression | None  # the assignment target when the call is a whole right-hand side
    discarded: bool  # an expression statement: the result is dropped
    qualified: str | None  # the callee's qualified name through the import table


@dataclass(frozen=True)
class Callee:
    kind: str  # "module" | "instance" | "function" | "constructor" | "unknown"
    module_kind: str | None = None  # for a torch module: "LSTM", "GRUCell", ...
    cls: ClassInfo | None = None
    function: Scope | None = None

    @property
    def recurrent_kind(self) -> str | None:
        """The torch module kind behind the call, when one kind is known (a wrapper's inner layer too)."""
        if self.module_kind is not None:
            return self.module_kind
        if self.cls is not None:
            forward = self.cls.methods.get("forward")
            return self.cls.recurrent_kind or (forward.state_kind if forward is not None else None)
        return self.function.state_kind if self.function is not None else None

    @property
    def detaches_input(self) -> bool:
        if self.cls is not None:
            return self.cls.forward_detaches
        return self.function is not None and self.function.detaches


@dataclass(eq=False)
class RecurrentCall:
    """A call that feeds a hidden state into a recurrent module (or a step that runs one)."""

    site: CallSite
    callee: Callee
    state_arg: cst.BaseExpression | None
    state_keys: frozenset[str]  # the keys passed in as the state
    result_keys: frozenset[str]  # the keys that receive the returned state
    heuristic: bool  # callee unknown; recognised by the ``out, h = f(x, h)`` shape

    @property
    def carried_keys(self) -> frozenset[str]:
        return self.state_keys & self.result_keys

    @property
    def loops(self) -> Iterator[Loop]:
        loop = self.site.loop
        while loop is not None:
            yield loop
            loop = loop.parent


@dataclass(eq=False)
class RecurrentModule:
    """A construction of ``nn.RNN/LSTM/GRU`` or a cell, and where it is stored."""

    kind: str
    node: cst.Call
    key: str | None
    scope: Scope
    cls: ClassInfo | None


class _Collector(cst.CSTVisitor):
    """One walk over the tree, recording raw sites for ``FileFacts`` to resolve."""

    def __init__(self) -> None:
        super().__init__()
        self.imports: dict[str, str] = {}
        self.module_scope = Scope(node=cst.Module(body=()), name="<module>", parent=None)
        self.scopes: list[Scope] = [self.module_scope]
        self.classes: list[ClassInfo] = []
        self.assignments: list[AssignSite] = []
        self.calls: list[CallSite] = []
        self.loops: list[Loop] = []
        self.detach_calls: list[CallSite] = []
        self.function_scopes: list[Scope] = []
        self._containers: list[Scope | ClassInfo] = [self.module_scope]
        self._loop_stack: list[Loop | None] = [None]
        self._no_grad_stack: list[bool] = [False]
        self._call_targets: dict[int, cst.BaseExpression] = {}
        self._discarded: set[int] = set()

    # -- imports ---------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _dotted_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.imports[alias.asname.name.value] = full
            else:
                top = full.split(".", 1)[0]
                self.imports[top] = top

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = _dotted_name(node.module)
        for alias in node.names:
            name = _dotted_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.imports[local] = f"{module}.{name}"

    def qualify(self, node: cst.CSTNode) -> str | None:
        key = key_of(node)
        if key is None:
            return None
        head, _, rest = key.partition(".")
        origin = self.imports.get(head)
        if origin is None:
            return None
        return f"{origin}.{rest}" if rest else origin

    # -- containers ------------------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def loop(self) -> Loop | None:
        return self._loop_stack[-1]

    @property
    def no_grad(self) -> bool:
        return self._no_grad_stack[-1] or self.scope.no_grad

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = [k for arg in node.bases if (k := key_of(arg.value)) is not None]
        info = ClassInfo(node=node, name=node.name.value, base_keys=bases)
        info.recurrent_kind = next(
            (kind for arg in node.bases if (kind := _TORCH_RECURRENT.get(self.qualify(arg.value) or ""))),
            None,
        )
        self.classes.append(info)
        self._containers.append(info)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._containers.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        container = self._containers[-1]
        cls = container if isinstance(container, ClassInfo) else None
        scope = Scope(
            node=node,
            name=node.name.value,
            parent=self.scope,
            cls=cls,
            params=[p.name.value for p in (*node.params.posonly_params, *node.params.params)],
            no_grad=self.no_grad or any(self._is_no_grad(d.decorator) for d in node.decorators),
        )
        if cls is not None:
            cls.methods.setdefault(scope.name, scope)
        self.function_scopes.append(scope)
        self.scopes.append(scope)
        self._containers.append(scope)
        self._loop_stack.append(None)
        self._no_grad_stack.append(scope.no_grad)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self._containers.pop()
        self._loop_stack.pop()
        self._no_grad_stack.pop()

    def _is_no_grad(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Call):
            qualified = self.qualify(expr.func)
            if qualified in _SET_GRAD_ENABLED:
                args = positional_args(expr) or [keyword_arg(expr, "mode")]
                return isinstance(args[0], cst.Name) and args[0].value == "False"
            expr = expr.func
        return self.qualify(expr) in _NO_GRAD_CONTEXTS

    # -- regions ---------------------------------------------------------------------------
    def visit_With(self, node: cst.With) -> None:
        self._no_grad_stack.append(self.no_grad or any(self._is_no_grad(i.item) for i in node.items))

    def leave_With(self, original_node: cst.With) -> None:
        self._no_grad_stack.pop()

    def _enter_loop(self, node: cst.For | cst.While) -> None:
        loop = Loop(node=node, scope=self.scope, parent=self.loop, no_grad=self.no_grad)
        self.loops.append(loop)
        self._loop_stack.append(loop)

    def _leave_loop(self) -> None:
        self._loop_stack.pop()

    def visit_For_body(self, node: cst.For) -> None:
        self._enter_loop(node)

    def leave_For_body(self, node: cst.For) -> None:
        self._leave_loop()

    def visit_While(self, node: cst.While) -> None:
        self._enter_loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._leave_loop()

    # -- statements ------------------------------------------------------------------------
    def _record_assignment(
        self, targets: list[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode,
        augmented: bool = False,
    ) -> None:
        self.assignments.append(
            AssignSite(targets=targets, value=value, node=node, scope=self.scope, loop=self.loop, augmented=augmented)
        )
        if isinstance(value, cst.Call) and targets:
            self._call_targets[id(value)] = targets[0]

    def visit_Assign(self, node: cst.Assign) -> None:
        self._record_assignment([t.target for t in node.targets], node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._record_assignment([node.target], node.value, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._record_assignment([node.target], node.value, node, augmented=True)

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self._discarded.add(id(node.value))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "data":
            self.scope.detaches = True

    def visit_Call(self, node: cst.Call) -> None:
        site = CallSite(
            node=node,
            scope=self.scope,
            loop=self.loop,
            no_grad=self.no_grad,
            target=self._call_targets.get(id(node)),
            discarded=id(node) in self._discarded,
            qualified=self.qualify(node.func),
        )
        self.calls.append(site)
        if method_name(node) in _DETACH_METHODS:
            self.scope.detaches = True
            self.detach_calls.append(site)


def _dotted_name(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr.value}"
    return ""


def _unwrap_self_returning(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``Model(...).to(device).train()`` -> ``Model(...)``."""
    while isinstance(expr, cst.Call) and method_name(expr) in _SELF_RETURNING_METHODS:
        inner = receiver(expr)
        if not isinstance(inner, cst.Call):
            break
        expr = inner
    return expr


class FileFacts:
    """Everything the rules know about one file, resolved from a single walk of its tree."""

    def __init__(self, module: cst.Module) -> None:
        collector = _Collector()
        walk(module, collector)
        self.module = module
        self.imports = collector.imports
        self.qualify = collector.qualify
        self.module_scope = collector.module_scope
        self.module_scope.node = module
        self.classes = {c.name: c for c in collector.classes}
        self.assignments = collector.assignments
        self.calls = collector.calls
        self.loops = collector.loops
        self.detach_calls = collector.detach_calls
        self.functions = {
            s.name: s for s in collector.function_scopes if s.parent is self.module_scope and not s.is_method
        }
        self._callees: dict[int, Callee] = {}
        self.recurrent_modules: list[RecurrentModule] = []
        self._bind_constructions()
        self._mark_recurrent_classes()
        self._summarise_backward()
        self.recurrent_calls = self._find_recurrent_calls()
        self.state_keys_by_scope = self._state_keys_by_scope()

    # -- bindings --------------------------------------------------------------------------
    def _construction(self, value: cst.BaseExpression | None) -> Binding | None:
        if not isinstance(value, cst.Call):
            return None
        call = _unwrap_self_returning(value)
        if not isinstance(call, cst.Call):
            return None
        qualified = self.qualify(call.func) or ""
        if qualified in _TORCH_RECURRENT:
            return Binding("module", _TORCH_RECURRENT[qualified], call)
        if isinstance(call.func, cst.Name) and call.func.value in self.classes:
            return Binding("instance", call.func.value, call)
        if qualified.startswith("torch.optim.") and ".lr_scheduler" not in qualified:
            return Binding("optimizer", qualified, call)
        return None

    def _bind_constructions(self) -> None:
        for site in self.assignments:
            binding = self._construction(site.value)
            if binding is None or len(site.targets) != 1:
                continue
            key = key_of(site.targets[0])
            if key is None:
                continue
            scope = site.scope
            if scope.cls is not None and key.startswith("self.") and key.count(".") == 1:
                scope.cls.attrs[key[5:]] = binding
            else:
                scope.bindings[key] = binding
            if binding.kind == "module":
                self.recurrent_modules.append(
                    RecurrentModule(binding.detail, binding.construction, key, scope, scope.cls)
                )

    def lookup(self, key: str, scope: Scope) -> Binding | None:
        """What ``key`` holds when read in ``scope``: locals, enclosing functions, the module, ``self``."""
        head, _, attr = key.rpartition(".")
        if scope.cls is not None and head == "self":
            return self._class_attr(scope.cls, attr)
        current: Scope | None = scope
        while current is not None:
            if key in current.bindings:
                return current.bindings[key]
            current = current.parent
        if head:
            owner = self.lookup(head, scope)
            if owner is not None and owner.kind == "instance":
                return self._class_attr(self.classes[owner.detail], attr)
        return None

    def _class_attr(self, cls: ClassInfo, attr: str) -> Binding | None:
        seen: set[str] = set()
        while cls.name not in seen:
            seen.add(cls.name)
            if attr in cls.attrs:
                return cls.attrs[attr]
            base = next((self.classes[b] for b in cls.base_keys if b in self.classes), None)
            if base is None:
                return None
            cls = base
        return None

    # -- callees ---------------------------------------------------------------------------
    def callee(self, site: CallSite) -> Callee:
        cached = self._callees.get(id(site.node))
        if cached is None:
            cached = self._callees[id(site.node)] = self._resolve_callee(site)
        return cached

    def _resolve_callee(self, site: CallSite) -> Callee:
        func = site.node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "forward":
            func = func.value
        key = key_of(func)
        if key is None:
            return Callee("unknown")
        binding = self.lookup(key, site.scope)
        if binding is not None:
            if binding.kind == "module":
                return Callee("module", module_kind=binding.detail)
            if binding.kind == "instance":
                return Callee("instance", cls=self.classes[binding.detail])
            return Callee(binding.kind)
        function = self._function_named(key, site.scope)
        if function is not None:
            return Callee("function", function=function)
        if key in self.classes:
            return Callee("constructor", cls=self.classes[key])
        return Callee("unknown")

    def _function_named(self, key: str, scope: Scope) -> Scope | None:
        head, _, name = key.rpartition(".")
        if head == "self" and scope.cls is not None:
            return scope.cls.methods.get(name)
        if not head:
            return self.functions.get(name)
        return None

    # -- summaries -------------------------------------------------------------------------
    def _mark_recurrent_classes(self) -> None:
        """A class is recurrent when it is a torch recurrent module or one of its methods runs one."""
        for cls in self.classes.values():
            cls.is_recurrent = cls.recurrent_kind is not None
        changed = True
        while changed:
            changed = False
            for site in self.calls:
                cls = site.scope.cls
                if cls is None or cls.is_recurrent:
                    continue
                callee = self.callee(site)
                if callee.kind == "module" or (callee.cls is not None and callee.cls.is_recurrent
                                               and callee.kind == "instance"):
                    cls.is_recurrent = changed = True
            for cls in self.classes.values():
                bases = [self.classes[b] for b in cls.base_keys if b in self.classes]
                if not cls.is_recurrent and any(b.is_recurrent for b in bases):
                    cls.is_recurrent = changed = True

    def is_backward_call(self, site: CallSite) -> bool:
        """``loss.backward()``, ``torch.autograd.grad(...)``, or an optimizer's ``step()``."""
        name = method_name(site.node)
        if name in _BACKWARD_METHODS or site.qualified in _AUTOGRAD_BACKWARD:
            return True
        if name == "step":
            owner = key_of(receiver(site.node))
            binding = self.lookup(owner, site.scope) if owner else None
            if binding is not None and binding.kind == "optimizer":
                return True
            last = (owner or "").rsplit(".", 1)[-1].lower()
            return last.startswith(("opt", "scaler")) or last.endswith("optimizer")
        return False

    def _summarise_backward(self) -> None:
        """Which functions call backward (directly or via same-file helpers); which loops do."""
        backward_sites = [s for s in self.calls if self.is_backward_call(s)]
        for site in backward_sites:
            site.scope.calls_backward = True
        changed = True
        while changed:
            changed = False
            for site in self.calls:
                function = self.callee(site).function
                if function is not None and function.calls_backward and not site.scope.calls_backward:
                    site.scope.calls_backward = changed = True
        for site in self.calls:
            function = self.callee(site).function
            if site.no_grad or not (site in backward_sites or (function is not None and function.calls_backward)):
                continue
            loop = site.loop
            while loop is not None:
                loop.has_backward = True
                loop = loop.parent

    # -- recurrent calls -------------------------------------------------------------------
    def _find_recurrent_calls(self) -> list[RecurrentCall]:
        found: dict[int, RecurrentCall] = {}
        changed = True
        while changed:  # a helper becomes a recurrent step once the call inside it is known
            changed = False
            for site in self.calls:
                if id(site.node) in found:
                    continue
                call = self._recurrent_call(site)
                if call is None:
                    continue
                found[id(site.node)] = call
                scope = site.scope
                returned = {key for value in scope.returns for key in referenced_keys(value)}
                if not scope.is_recurrent_step and scope.parent is not None and call.result_keys & returned:
                    scope.is_recurrent_step = changed = True
                    scope.state_kind = call.callee.recurrent_kind
        return [found[id(site.node)] for site in self.calls if id(site.node) in found]

    def _recurrent_call(self, site: CallSite) -> RecurrentCall | None:
        callee = self.callee(site)
        target = site.target
        if callee.kind == "module":
            return self._module_call(site, callee)
        if callee.kind == "instance" and callee.cls is not None and callee.cls.is_recurrent:
            results = _tail_keys(target) if isinstance(target, cst.Tuple) else flat_keys(target)
            return self._matched_call(site, callee, results, skip_first=True, heuristic=False)
        if callee.kind == "function" and callee.function is not None and callee.function.is_recurrent_step:
            return self._matched_call(site, callee, flat_keys(target), skip_first=False, heuristic=False)
        if callee.kind == "unknown" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
            return self._matched_call(site, callee, flat_keys(target.elements[1].value), skip_first=True,
                                      heuristic=True)
        return None

    def _module_call(self, site: CallSite, callee: Callee) -> RecurrentCall:
        kind = callee.recurrent_kind
        args = positional_args(site.node)
        state_arg = args[1] if len(args) > 1 else keyword_arg(site.node, "hx")
        target = site.target
        if kind in CELL_KINDS:
            results = flat_keys(target)
        elif isinstance(target, cst.Tuple) and len(target.elements) == 2:
            results = flat_keys(target.elements[1].value)
        else:
            results = []
        return RecurrentCall(site, callee, state_arg, frozenset(flat_keys(state_arg)), frozenset(results), False)

    def _matched_call(
        self, site: CallSite, callee: Callee, results: list[str], *, skip_first: bool, heuristic: bool
    ) -> RecurrentCall | None:
        """The state argument is the one whose names come back as results (``out, h = f(x, h)``)."""
        result_keys = frozenset(results)
        candidates = [a.value for a in site.node.args if not a.star]
        if skip_first and site.node.args and site.node.args[0].keyword is None:
            candidates = candidates[1:]
        for arg in candidates:
            keys = frozenset(flat_keys(arg))
            if keys & result_keys:
                return RecurrentCall(site, callee, arg, keys, result_keys, heuristic)
        if heuristic:
            return None
        return RecurrentCall(site, callee, None, frozenset(), result_keys, heuristic)

    def _state_keys_by_scope(self) -> dict[int, frozenset[str]]:
        """Keys that hold a hidden state in each scope; ``self.*`` states count in every method."""
        by_scope: dict[int, set[str]] = {}
        class_keys: dict[str, set[str]] = {}
        for call in self.recurrent_calls:
            keys = call.state_keys | call.result_keys
            by_scope.setdefault(id(call.site.scope), set()).update(keys)
            cls = call.site.scope.cls
            if cls is not None:
                class_keys.setdefault(cls.name, set()).update(k for k in keys if k.startswith("self."))
        for cls_name, keys in class_keys.items():
            for method in self.classes[cls_name].methods.values():
                by_scope.setdefault(id(method), set()).update(keys)
        return {scope: frozenset(keys) for scope, keys in by_scope.items()}

    def state_keys(self, scope: Scope) -> frozenset[str]:
        return self.state_keys_by_scope.get(id(scope), frozenset())

    # -- data flow -------------------------------------------------------------------------
    def flow(self, expr: cst.CSTNode | None, keys: frozenset[str], scope: Scope) -> Flow:
        """How the value of ``expr`` depends on the graph of the state held in ``keys``."""
        if expr is None:
            return Flow.FRESH
        key = key_of(expr)
        if key is not None:
            if key in keys:
                return Flow.CARRIED
            if isinstance(expr, cst.Attribute):
                inner = self.flow(expr.value, keys, scope)
                if expr.attr.value == "data" and inner is not Flow.FRESH:
                    return Flow.DETACHED
                return inner
            return Flow.FRESH
        if isinstance(expr, cst.Call):
            return self._call_flow(expr, keys, scope)
        if isinstance(expr, (cst.GeneratorExp, cst.ListComp, cst.SetComp)):
            return self._comprehension_flow(expr, keys, scope)
        if isinstance(expr, cst.Attribute):
            inner = self.flow(expr.value, keys, scope)
            return Flow.DETACHED if expr.attr.value == "data" and inner is not Flow.FRESH else inner
        return _combine(self.flow(child, keys, scope) for child in _value_children(expr))

    def _call_flow(self, call: cst.Call, keys: frozenset[str], scope: Scope) -> Flow:
        args = _combine(self.flow(a.value, keys, scope) for a in call.args)
        qualified = self.qualify(call.func)
        name = method_name(call)
        if name is not None and qualified is None:  # a method of a value: h.detach(), model.init_hidden(b)
            inner = self.flow(receiver(call), keys, scope)
            if inner is Flow.FRESH and args is Flow.FRESH:
                return Flow.FRESH
            if inner is not Flow.FRESH and name in _DETACH_METHODS:
                return Flow.DETACHED
            if name in _GRAPH_KEEPING_METHODS:
                return _combine((inner, args))
            return self._opaque_call_flow(call, scope, _combine((inner, args)))
        if args is Flow.FRESH or qualified in _FRESH_LIKE:
            return Flow.FRESH
        if qualified in _DETACHING_CONSTRUCTORS or _is_builtin_call(call, "Variable"):
            return Flow.DETACHED if args is not Flow.OPAQUE else Flow.OPAQUE
        if (qualified or "").startswith("torch.") or _is_builtin_call(call, "tuple", "list"):
            return args
        return self._opaque_call_flow(call, scope, args)

    def _opaque_call_flow(self, call: cst.Call, scope: Scope, args: Flow) -> Flow:
        """A call the state passes through: a same-file helper that detaches, or unknown."""
        function = self.callee_function(call, scope)
        if (function is not None and function.detaches) or args is Flow.DETACHED:
            return Flow.DETACHED
        return Flow.OPAQUE

    def callee_function(self, call: cst.Call, scope: Scope) -> Scope | None:
        key = key_of(call.func)
        return None if key is None else self._function_named(key, scope)

    def _comprehension_flow(self, expr: cst.GeneratorExp | cst.ListComp | cst.SetComp, keys: frozenset[str],
                            scope: Scope) -> Flow:
        inner_keys = set(keys)
        sources: list[Flow] = []
        comp: cst.CompFor | None = expr.for_in
        while comp is not None:
            source = self.flow(comp.iter, frozenset(inner_keys), scope)
            sources.append(source)
            if source is not Flow.FRESH:
                inner_keys.update(flat_keys(comp.target))
            comp = comp.inner_for_in
        if all(s is Flow.FRESH for s in sources):
            return Flow.FRESH
        return _combine((self.flow(expr.elt, frozenset(inner_keys), scope), *sources[1:]))

    def state_updates(self, loop: Loop, keys: frozenset[str], call: RecurrentCall) -> set[Flow]:
        """How the state in ``keys`` is rewritten inside ``loop``, apart from by ``call`` itself.

        An empty set or ``{CARRIED}`` means the state flows unchanged (graph and all) from one
        iteration into the next; ``FRESH`` is a re-initialisation, ``DETACHED`` a detach, and
        ``OPAQUE`` a pass through something the analysis cannot see into.
        """
        flows = {
            self.flow(site.node if site.augmented else site.value, keys, site.scope)
            if site.value is not None else Flow.FRESH
            for site in self._assignments_in(loop)
            if site.value is not call.site.node and keys.intersection(site.target_keys)
        }
        if keys & self._inplace_detached_keys(loop):
            flows.add(Flow.DETACHED)
        return flows

    def _inplace_detached_keys(self, loop: Loop) -> set[str]:
        keys: set[str] = set()
        for site in self.detach_calls:
            if method_name(site.node) == "detach_" and site.loop is not None and loop.encloses(site.loop):
                keys.update(referenced_keys(receiver(site.node)))
        return keys

    def _assignments_in(self, loop: Loop) -> Iterator[AssignSite]:
        for site in self.assignments:
            if site.loop is not None and loop.encloses(site.loop):
                yield site

    def assigns_none(self, key: str, scope: Scope) -> bool:
        """``h = None`` somewhere in ``scope``: the state starts (or restarts) as None."""
        return any(
            isinstance(site.value, cst.Name) and site.value.value == "None" and key in site.target_keys
            for site in self.assignments
            if site.scope is scope
        )

    def loop_header(self, loop: Loop) -> str:
        """``for batch in loader`` / ``while step < n``: how a message names a loop."""
        node = loop.node
        if isinstance(node, cst.For):
            return f"for {self.module.code_for_node(node.target)} in {self.module.code_for_node(node.iter)}"
        return f"while {self.module.code_for_node(node.test)}"

    def source(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def _is_builtin_call(call: cst.Call, *names: str) -> bool:
    return isinstance(call.func, cst.Name) and call.func.value in names


def _tail_keys(target: cst.Tuple) -> list[str]:
    return [k for element in target.elements[1:] for k in flat_keys(element.value)]


def _value_children(expr: cst.CSTNode) -> Iterable[cst.CSTNode]:
    """The sub-expressions that contribute to a value (not lambdas' bodies, not keywords)."""
    if isinstance(expr, cst.Lambda):
        return ()
    return [c for c in expr.children if isinstance(c, (cst.BaseExpression, cst.Element, cst.Arg, cst.SubscriptElement,
                                                       cst.Index, cst.Slice, cst.DictElement))]


def _combine(flows: Iterable[Flow]) -> Flow:
    return max(flows, default=Flow.FRESH)
