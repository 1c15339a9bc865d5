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

import bisect
import enum
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint.walk import walk
from hs_lint.names import (
    flat_keys,
    key_of,
    keyword_arg,
    method_name,
    positional_args,
    mentions,
    receiver,
    referenced_keys,
    root_key,
)

if TYPE_CHECKING:
    from hs_lint.shapes import ShapeFacts

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
TENSOR_FACTORIES = frozenset(
    f"torch.{name}" for name in ("zeros", "ones", "empty", "randn", "rand", "full", "Tensor", "FloatTensor")
)
VARIABLE_CLASSES = frozenset({"torch.autograd.Variable", "torch.autograd.variable.Variable"})
# Tensor methods people call on an LSTM's (h, c) tuple; a tuple has none of them.
TUPLE_MISUSED_METHODS = frozenset({"detach", "detach_", "cuda", "cpu", "to", "contiguous", "size"})
_STATE_INIT_NAME = re.compile(r"(init|initial|zero|begin|reset|new|default)_?(hidden|state)", re.IGNORECASE)
_INPLACE_RESETS = frozenset({"zero_", "fill_", "mul_", "masked_fill_", "copy_", "index_fill_"})
_ITER_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "trange"})
_DATA_LOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_RANDOM_SAMPLERS = frozenset(
    f"torch.utils.data{module}.{name}"
    for module in ("", ".sampler")
    for name in ("RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler")
)
_CLIP_FUNCTIONS = frozenset(
    f"torch.nn.utils{module}.{name}"
    for module in ("", ".clip_grad")
    for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_")
)
_CLIP_METHODS = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_gradients"})


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
    index: int = 0  # visiting order: sites and loops of one scope compare by it

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
    index: int = 0

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
    index: int = 0
    branches: tuple[tuple[int, str], ...] = ()  # the if-branches around it: (id of the If, "body"/"orelse")

    def exclusive_with(self, other: CallSite) -> bool:
        """The two sites sit in different branches of one ``if``: at most one of them runs."""
        mine = dict(self.branches)
        return any(mine.get(node, branch) != branch for node, branch in other.branches)


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


@dataclass(frozen=True, eq=False)
class GradEvent:
    """Something one training iteration does to the gradients, in execution order."""

    kind: str  # "backward" | "scaled-backward" | "unscale" | "clip" | "step"
    site: CallSite  # the call that does it (inside a helper, for a helper's events)
    at: CallSite  # the call in the iteration's own body that runs it (the helper call)


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
        self.subscripts: list[tuple[cst.Subscript, Scope]] = []
        self._containers: list[Scope | ClassInfo] = [self.module_scope]
        self._loop_stack: list[Loop | None] = [None]
        self._no_grad_stack: list[bool] = [False]
        self._call_targets: dict[int, cst.BaseExpression] = {}
        self._discarded: set[int] = set()
        self._order = itertools.count()
        self._branches: list[tuple[int, str]] = []
        self._stored: set[int] = set()  # attribute nodes written by an assignment
        self.attribute_reads: set[str] = set()  # attribute names read anywhere (``x.hidden`` -> "hidden")
        self.type_comparisons: list[tuple[cst.Comparison, Scope]] = []  # ``type(h) == X`` / ``type(h) is X``

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
        loop = Loop(node=node, scope=self.scope, parent=self.loop, no_grad=self.no_grad, index=next(self._order))
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
            AssignSite(targets=targets, value=value, node=node, scope=self.scope, loop=self.loop, augmented=augmented,
                       index=next(self._order))
        )
        if not augmented:
            self._stored.update(id(n) for t in targets for n in _flat_targets(t) if isinstance(n, cst.Attribute))
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
        if id(node) not in self._stored:
            self.attribute_reads.add(node.attr.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        if isinstance(left, cst.Call) and _is_builtin_call(left, "type") and len(left.args) == 1:
            self.type_comparisons.append((node, self.scope))

    def visit_If_body(self, node: cst.If) -> None:
        self._branches.append((id(node), "body"))

    def leave_If_body(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self._branches.append((id(node), "orelse"))

    def leave_If_orelse(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.subscripts.append((node, self.scope))

    def visit_Call(self, node: cst.Call) -> None:
        site = CallSite(
            node=node,
            scope=self.scope,
            loop=self.loop,
            no_grad=self.no_grad,
            target=self._call_targets.get(id(node)),
            discarded=id(node) in self._discarded,
            qualified=self.qualify(node.func),
            index=next(self._order),
            branches=tuple(self._branches),
        )
        self.calls.append(site)
        if method_name(node) in _DETACH_METHODS:
            self.scope.detaches = True
            self.detach_calls.append(site)


def _flat_targets(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _flat_targets(element.value)
    else:
        yield node


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
        self.subscripts = collector.subscripts  # (node, scope) for every ``x[...]``
        self.attribute_reads = collector.attribute_reads
        self.type_comparisons = collector.type_comparisons
        self.scopes = [self.module_scope, *collector.function_scopes]
        self.functions = {
            s.name: s for s in collector.function_scopes if s.parent is self.module_scope and not s.is_method
        }
        self._callees: dict[int, Callee] = {}
        self._state_params_by_function: dict[int, frozenset[str]] = {}
        self._function_events: dict[int, list[GradEvent]] = {}
        self.recurrent_modules: list[RecurrentModule] = []
        self._bind_constructions()
        self._mark_recurrent_classes()
        self._summarise_backward()
        self.recurrent_calls = self._find_recurrent_calls()
        self.state_keys_by_scope = self._state_keys_by_scope()

    @functools.cached_property
    def shapes(self) -> ShapeFacts:
        """Module configurations and tensor shapes (HS2xx), built on first use only."""
        from hs_lint.shapes import ShapeFacts

        return ShapeFacts(self)

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
        if qualified in _DATA_LOADERS:
            return Binding("loader", "shuffled" if self._shuffles(call) else "ordered", call)
        return None

    def _shuffles(self, loader: cst.Call) -> bool:
        """``DataLoader(..., shuffle=True)`` or a random sampler: consecutive batches are unrelated."""
        shuffle = keyword_arg(loader, "shuffle")
        if isinstance(shuffle, cst.Name) and shuffle.value == "True":
            return True
        for name in ("sampler", "batch_sampler"):
            sampler = keyword_arg(loader, name)
            while isinstance(sampler, cst.Call):
                if self.qualify(sampler.func) in _RANDOM_SAMPLERS:
                    return True
                sampler = next(iter(positional_args(sampler)), None)
        return False

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
        state_arg = _state_argument(site.node)
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
        state_arg = self._argument_for_state(site, callee)
        return RecurrentCall(site, callee, state_arg, frozenset(flat_keys(state_arg)), result_keys, heuristic)

    def _state_params(self, function: Scope) -> frozenset[str]:
        """Parameters that ``function`` passes as the state of a torch recurrent module."""
        known = self._state_params_by_function.get(id(function))
        if known is None:
            known = self._state_params_by_function[id(function)] = frozenset(
                key
                for inner in self.calls
                if inner.scope is function and self.callee(inner).kind == "module"
                for key in flat_keys(_state_argument(inner.node))
            )
        return known

    def _argument_for_state(self, site: CallSite, callee: Callee) -> cst.BaseExpression | None:
        """The argument bound to the parameter that the callee's ``forward`` hands to its recurrent layer
        (``model(x, (h0, c0))`` -> ``(h0, c0)``), when the state does not come back into the same names."""
        forward = callee.cls.methods.get("forward") if callee.cls is not None else callee.function
        if forward is None:
            return None
        state_params = self._state_params(forward)
        return next((arg for param, arg in self.bound_arguments(site, forward).items() if param in state_params),
                    None)

    @staticmethod
    def bound_arguments(site: CallSite, function: Scope) -> dict[str, cst.BaseExpression]:
        """Which argument of the call ``site`` each parameter of ``function`` receives (``self`` aside)."""
        params = function.params[1:] if function.is_method else function.params
        args = positional_args(site.node)
        bound = dict(zip(params, args))
        for param in params[len(args):]:
            value = keyword_arg(site.node, param)
            if value is not None:
                bound[param] = value
        return bound

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
        return {flow for _, flow in self.updates(loop, keys, call)}

    def updates(self, loop: Loop, keys: frozenset[str], call: RecurrentCall) -> list[tuple[cst.CSTNode, Flow]]:
        """``state_updates`` with where each happens: the assigned value, or the ``detach_()`` call."""
        found: list[tuple[cst.CSTNode, Flow]] = [
            (site.value or site.node,
             self.flow(site.node if site.augmented else site.value, keys, site.scope)
             if site.value is not None else Flow.FRESH)
            for site in self.assignments_in(loop)
            if site.value is not call.site.node and keys.intersection(site.target_keys)
        ]
        for site in self._sites_in_loop[id(loop)][1]:
            if method_name(site.node) == "detach_" and keys.intersection(referenced_keys(receiver(site.node))):
                found.append((site.node, Flow.DETACHED))
        return found

    def assignments_in(self, loop: Loop) -> Iterator[AssignSite]:
        yield from self._sites_in_loop[id(loop)][0]

    @functools.cached_property
    def _sites_in_loop(self) -> dict[int, tuple[list[AssignSite], list[CallSite]]]:
        """The assignments and calls inside each loop (nested loops too), in visiting order: an index, so
        that asking about every loop costs the file's size times its nesting, not its size squared."""
        inside: dict[int, tuple[list[AssignSite], list[CallSite]]] = {id(loop): ([], []) for loop in self.loops}
        for part, sites in ((0, self.assignments), (1, self.calls)):
            for site in sites:
                loop = site.loop
                while loop is not None:
                    inside[id(loop)][part].append(site)  # type: ignore[arg-type]
                    loop = loop.parent
        return inside

    @functools.cached_property
    def _assignments_by_scope(self) -> dict[int, list[AssignSite]]:
        by_scope: dict[int, list[AssignSite]] = {}
        for site in self.assignments:
            by_scope.setdefault(id(site.scope), []).append(site)
        return by_scope

    def assignments_between(self, scope: Scope, start: int, end: int) -> Iterator[AssignSite]:
        """The assignments of ``scope`` strictly between the points ``start`` and ``end``, in visiting order."""
        sites = self._assignments_by_scope.get(id(scope), [])
        first = bisect.bisect_right(sites, start, key=_index_of)
        return (sites[i] for i in range(first, bisect.bisect_left(sites, end, lo=first, key=_index_of)))

    def assigns_none(self, key: str, scope: Scope) -> bool:
        """``h = None`` somewhere in ``scope``: the state starts (or restarts) as None."""
        return any(
            isinstance(site.value, cst.Name) and site.value.value == "None" and key in site.target_keys
            for site in self._assignments_by_scope.get(id(scope), ())
        )

    # -- state lifetime (HS103, HS104, HS3xx) ----------------------------------------------
    def method_called(self, call: cst.Call, scope: Scope) -> Scope | None:
        """The same-file function or method ``call`` runs: ``f(...)``, ``self.m(...)``, ``model.m(...)``.

        ``model`` may be a parameter whose class is unknown: a method name that only one class of
        the file defines is taken to be that class's method (``model.init_hidden(bsz)``).
        """
        function = self.callee_function(call, scope)
        if function is not None:
            return function
        key = key_of(call.func)
        if key is None or "." not in key:
            return None
        owner, _, name = key.rpartition(".")
        binding = self.lookup(owner, scope)
        if binding is not None:
            return self.classes[binding.detail].methods.get(name) if binding.kind == "instance" else None
        owners = [cls.methods[name] for cls in self.classes.values() if name in cls.methods]
        return owners[0] if len(owners) == 1 and not name.startswith("__") else None

    @staticmethod
    def is_state_initialiser(function: Scope) -> bool:
        """Named like ``init_hidden`` / ``initial_state`` / ``zero_state``."""
        return _STATE_INIT_NAME.search(function.name) is not None

    def returns_state_pair(self, function: Scope) -> bool:
        """An ``init_hidden``-style function whose every return is a 2-tuple: an LSTM's ``(h0, c0)``."""
        return (
            self.is_state_initialiser(function)
            and bool(function.returns)
            and all(isinstance(r, cst.Tuple) and len(r.elements) == 2 for r in function.returns)
        )

    @functools.cached_property
    def _tuple_states(self) -> dict[str, frozenset[str]]:
        """Keys holding an LSTM's ``(h, c)`` tuple as a whole, by owner (a scope's id or a class name)."""
        candidates: dict[str, set[str]] = {}
        producers: set[int] = set()  # assigned values known to produce the tuple

        def owner(key: str, scope: Scope) -> str:
            return scope.cls.name if scope.cls is not None and key.startswith("self.") else str(id(scope))

        def add(key: str | None, scope: Scope) -> None:
            if key is not None:
                candidates.setdefault(owner(key, scope), set()).add(key)

        kinds_by_key: dict[str | None, set[str]] = {}
        for module in self.recurrent_modules:  # ``self.rnn = nn.LSTM(...)`` in one branch, ``nn.GRU`` in another
            kinds_by_key.setdefault(module.key, set()).add(module.kind)
        for call in self.recurrent_calls:
            target, scope = call.site.target, call.site.scope
            kind = call.callee.recurrent_kind
            if call.callee.kind == "module" and kind in TUPLE_STATE_KINDS:
                if len(kinds_by_key.get(key_of(call.site.node.func), ())) > 1:
                    continue
                add(key_of(call.state_arg), scope)
                result = target if kind == "LSTMCell" else _second(target)
            elif call.callee.kind == "instance" and call.callee.cls is not None:
                forward = call.callee.cls.methods.get("forward")
                returned = [_second(r) for r in forward.returns] if forward is not None else []
                held = candidates.get(str(id(forward)), set())
                result = _second(target) if returned and all(key_of(r) in held for r in returned) else None
            else:
                if key_of(call.state_arg) is not None and key_of(call.state_arg) == key_of(_second(target)):
                    producers.add(id(call.site.node))  # ``out, h = f(x, h)`` hands the state back as it came
                continue
            if key_of(result) is not None:
                add(key_of(result), scope)
                producers.add(id(call.site.node))
        for site in self.assignments:
            function = self.method_called(site.value, site.scope) if isinstance(site.value, cst.Call) else None
            if function is not None and self.returns_state_pair(function) and len(site.targets) == 1:
                add(key_of(site.targets[0]), site.scope)
                producers.add(id(site.value))
        for site in self.assignments:
            for key in site.target_keys:
                held = candidates.get(owner(key, site.scope))
                if held and key in held and not _keeps_tuple(site, key, producers):
                    held.discard(key)
        for site in self.calls:
            args = positional_args(site.node)
            if _is_builtin_call(site.node, "isinstance") and args:
                candidates.get(owner(key_of(args[0]) or "", site.scope), set()).discard(key_of(args[0]))
        return {name: frozenset(keys) for name, keys in candidates.items()}

    def tuple_state_keys(self, scope: Scope) -> frozenset[str]:
        """Keys that hold an LSTM ``(h, c)`` tuple in ``scope``: it has no tensor methods."""
        keys = self._tuple_states.get(str(id(scope)), frozenset())
        if scope.cls is not None:
            keys |= self._tuple_states.get(scope.cls.name, frozenset())
        return keys

    def resets(self, loop: Loop, keys: frozenset[str], call: RecurrentCall) -> bool:
        """Inside ``loop`` the state is re-initialised, masked (``h * (1 - done)``, ``h[done] = 0``,
        ``h.zero_()``) or passed through something unknown: it may not flow on unchanged."""
        for node, flow in self.updates(loop, keys, call):
            if flow in (Flow.FRESH, Flow.OPAQUE) or _is_mask(node, keys, self):
                return True
        for site in self.assignments_in(loop):
            if any(isinstance(t, cst.Subscript) and root_key(t) in keys for t in site.targets):
                return True
        return any(
            method_name(site.node) in _INPLACE_RESETS and root_key(receiver(site.node)) in keys
            for site in self._sites_in_loop[id(loop)][1]
        )

    def created_before(self, keys: frozenset[str], loop: Loop) -> AssignSite | None:
        """The last assignment to the state in ``loop``'s scope before the loop starts."""
        sites = self._assignments_by_scope.get(id(loop.scope), [])
        before = range(bisect.bisect_left(sites, loop.index, key=_index_of) - 1, -1, -1)
        return next((sites[i] for i in before if keys.intersection(sites[i].target_keys)), None)

    def in_eval_mode(self, loop: Loop) -> bool:
        """The loop runs under ``no_grad`` or after a ``model.eval()`` (not undone by ``.train()``)."""
        if loop.no_grad:
            return True
        toggles = self._mode_toggles.get(id(loop.scope), [])
        toggles = toggles[:bisect.bisect_left(toggles, loop.index, key=_index_of)]
        return bool(toggles) and method_name(toggles[-1].node) == "eval" and not positional_args(toggles[-1].node)

    @functools.cached_property
    def _mode_toggles(self) -> dict[int, list[CallSite]]:
        """The ``.eval()`` / ``.train()`` calls of each scope, in visiting order."""
        toggles: dict[int, list[CallSite]] = {}
        for site in self.calls:
            if method_name(site.node) in ("eval", "train"):
                toggles.setdefault(id(site.scope), []).append(site)
        return toggles

    def loader_of(self, loop: Loop) -> Binding | None:
        """The ``DataLoader`` a ``for`` loop iterates (through ``enumerate``/``tqdm``), when it is bound here."""
        node = loop.node
        if not isinstance(node, cst.For):
            return None
        source = node.iter
        while isinstance(source, cst.Call) and _is_builtin_call(source, *_ITER_WRAPPERS):
            args = positional_args(source)
            if not args:
                return None
            source = args[0]
        key = key_of(source)
        binding = self.lookup(key, loop.scope) if key is not None else None
        return binding if binding is not None and binding.kind == "loader" else None

    # -- gradient steps (HS5xx) -------------------------------------------------------------
    def grad_event(self, site: CallSite) -> str | None:
        """"backward", "scaled-backward" (AMP), "unscale", "clip" or "step": what a call does to gradients."""
        name = method_name(site.node)
        if site.qualified in _CLIP_FUNCTIONS or name in _CLIP_METHODS:
            return "clip"
        if name == "unscale_":
            return "unscale"
        if name in _BACKWARD_METHODS or site.qualified in _AUTOGRAD_BACKWARD:
            inner = receiver(site.node)
            scaled = isinstance(inner, cst.Call) and method_name(inner) == "scale"
            return "scaled-backward" if scaled else "backward"
        if name == "step" and self.is_backward_call(site):
            return "step"
        return None

    @functools.cached_property
    def _sites_by_scope(self) -> dict[int, list[CallSite]]:
        by_scope: dict[int, list[CallSite]] = {}
        for site in self.calls:
            by_scope.setdefault(id(site.scope), []).append(site)
        return by_scope

    def calls_in(self, scope: Scope) -> list[CallSite]:
        """The calls made directly in ``scope``'s body, in visiting order."""
        return self._sites_by_scope.get(id(scope), [])

    def grad_events(self, scope: Scope, loop: Loop | None = None) -> list[GradEvent]:
        """The gradient events of one iteration of ``loop`` (or of ``scope``'s body), in order.

        A call to a same-file helper contributes the helper's own events at that point, so a
        ``clip_and_step(model)`` between backward() and the next batch is seen as clip, then step.
        """
        events: list[GradEvent] = []
        sites = self.calls_in(scope) if loop is None else self._sites_in_loop[id(loop)][1]
        for site in sites:
            if site.scope is not scope:
                continue
            events.extend(GradEvent(e.kind, e.site, site) for e in self._events_of(site))
        return events

    def _events_of(self, site: CallSite) -> list[GradEvent]:
        kind = self.grad_event(site)
        if kind is not None:
            return [GradEvent(kind, site, site)]
        function = self.method_called(site.node, site.scope)
        if function is None:
            return []
        known = self._function_events.get(id(function))
        return known if known is not None else self._summarise_events(function)

    def _summarise_events(self, function: Scope) -> list[GradEvent]:
        self._function_events[id(function)] = []  # recursion stops at a helper already being summarised
        events = self.grad_events(function)
        self._function_events[id(function)] = events
        return events

    @functools.cached_property
    def clips_gradients(self) -> bool:
        """The file clips gradients somewhere (a clip call, or ``Trainer(gradient_clip_val=...)``)."""
        return any(
            self.grad_event(site) == "clip" or keyword_arg(site.node, "gradient_clip_val") is not None
            for site in self.calls
        )

    def loop_header(self, loop: Loop) -> str:
        """``for batch in loader`` / ``while step < n``: how a message names a loop."""
        node = loop.node
        if isinstance(node, cst.For):
            return f"for {self.module.code_for_node(node.target)} in {self.module.code_for_node(node.iter)}"
        return f"while {self.module.code_for_node(node.test)}"

    def source(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def _state_argument(call: cst.Call) -> cst.BaseExpression | None:
    """``rnn(x, h)`` / ``rnn(x, hx=h)`` -> ``h``."""
    args = positional_args(call)
    return args[1] if len(args) > 1 else keyword_arg(call, "hx")


def _second(target: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """``out, hidden`` -> ``hidden``: where a recurrent call's state lands."""
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        return target.elements[1].value
    return None


def _keeps_tuple(site: AssignSite, key: str, producers: set[int]) -> bool:
    """The assignment leaves ``key`` holding a tuple (or None), or is itself a tuple misuse."""
    value = site.value
    if value is None or id(value) in producers or (isinstance(value, cst.Name) and value.value == "None"):
        return True
    if len(site.targets) == 1 and key_of(site.targets[0]) == key:
        if isinstance(value, (cst.Tuple, cst.List, cst.ListComp, cst.GeneratorExp)):
            return not isinstance(value, cst.Tuple) or len(value.elements) == 2
        if isinstance(value, cst.Call) and _is_builtin_call(value, "tuple", "list"):
            return True
    return (isinstance(value, cst.Call) and method_name(value) in TUPLE_MISUSED_METHODS
            and key_of(receiver(value)) == key)


def _is_mask(node: cst.CSTNode, keys: frozenset[str], facts: FileFacts) -> bool:
    """``h * (1 - done)`` / ``torch.where(done, 0, h)`` / ``h.masked_fill(done, 0)``: a per-sequence reset."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        return mentions(node.left, keys) != mentions(node.right, keys)
    if isinstance(node, cst.Call):
        if facts.qualify(node.func) == "torch.where" or method_name(node) in ("masked_fill", "where"):
            return True
        return any(_is_mask(arg.value, keys, facts) for arg in node.args)
    if isinstance(node, (cst.Tuple, cst.List, cst.GeneratorExp, cst.ListComp)):
        return any(_is_mask(child, keys, facts) for child in _value_children(node))
    if isinstance(node, cst.Element):
        return _is_mask(node.value, keys, facts)
    return False


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


def _index_of(site: AssignSite | CallSite) -> int:
    return site.index


def _combine(flows: Iterable[Flow]) -> Flow:
    return max(flows, default=Flow.FRESH)
