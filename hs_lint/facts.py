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
import collections
import enum
import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint.walk import walk
from hs_lint.screen_tree import is_torch_function
from hs_lint.names import (
    alias_bindings,
    alternatives,
    as_bool,
    argument,
    assigned_pairs,
    descendants,
    flat_keys,
    index_path,
    key_of,
    keyword_arg,
    method_name,
    positional_args,
    mentions,
    receiver,
    referenced_keys,
    root_key,
)

from hs_lint.project.summary import ClassSummary, Config, FunctionSummary, ObjectSummary
from hs_lint import values
from hs_lint.reaching import ENTRY, ReachingDefinitions
from hs_lint.signature import Signature, signature
from hs_lint.torch_api import (BATCH_ITERATORS, DATA_LOADERS, FIELD_BATCH_FIRST, FIELD_SEQUENTIAL, RECURRENT_KINDS,
                               TEXT_FIELDS, family, holds_tuple, is_cell)

if TYPE_CHECKING:
    from hs_lint.batches import Batches
    from hs_lint.skips import Skip
    from hs_lint.project.index import ModuleView
    from hs_lint.shapes import ShapeFacts

_GROWS = frozenset({"append", "extend", "insert"})  # list methods that add items: what a list built empty holds

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
# nn.Module's own methods: on an object of unknown class, a call to one of them is torch's, not a same-file method.
_MODULE_API = frozenset({"train", "eval", "to", "cuda", "cpu", "float", "double", "half", "parameters",
                         "named_parameters", "zero_grad", "state_dict", "load_state_dict", "apply", "modules",
                         "children", "requires_grad_", "step"})
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
STATE_MOVES = frozenset({"to", "cuda", "float", "double"})  # a state moved or cast is the state it was
_HANDED_BACK = STATE_MOVES | {"detach", "clone", "contiguous", "cpu"}  # what a forward may do to the state it returns
_STATE_INIT_NAME = re.compile(r"(init|initial|zero|begin|reset|new|default)_?(hidden|state)", re.IGNORECASE)
_ACCELERATOR_LITERAL = re.compile(r"""(['"])(cuda|mps|xpu)(:\d+)?\1""")
_INPLACE_RESETS = frozenset({"zero_", "fill_", "mul_", "masked_fill_", "copy_", "index_fill_"})
ITER_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "trange"})  # what a loop iterates is inside them
# Calls that put samples in random order: a permutation, an in-place shuffle, a random pick of an index.
_RANDOM_ORDER = frozenset({"torch.randperm", "numpy.random.permutation", "numpy.random.shuffle", "random.shuffle",
                           "random.sample"})
# A random index drawn afresh for each batch (drawn once, it is only a random starting point of a stream).
_RANDOM_PICK = frozenset({"numpy.random.choice", "random.choice", "random.randint", "random.randrange",
                          "numpy.random.randint", "torch.randint"})
_RNN_UTILS = ("torch.nn.utils.rnn.", "torch.nn.utils.")


def names_state_initialiser(name: str) -> bool:
    """``init_hidden`` / ``initial_state`` / ``zero_state``: a function's or method's name that says it builds a state."""
    return _STATE_INIT_NAME.search(name) is not None


def rnn_util(qualified: str | None, name: str) -> bool:
    """``qualified`` is ``torch.nn.utils.rnn.<name>`` (``pack_padded_sequence``, ``pad_sequence``, ...)."""
    return qualified is not None and any(qualified == f"{p}{name}" for p in _RNN_UTILS)
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


_NO_CALLERS = object()  # a parameter of a function that nothing in the file calls


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

    node: cst.Module | cst.FunctionDef | None
    name: str
    parent: Scope | None
    cls: ClassInfo | None = None  # set for methods
    params: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)  # parameter -> annotation key (``model: CharRNN``)
    no_grad: bool = False  # decorated with @torch.no_grad() / @torch.inference_mode()
    bindings: dict[str, Binding] = field(default_factory=dict)
    returns: list[cst.BaseExpression] = field(default_factory=list)
    return_tests: list[cst.BaseExpression | None] = field(default_factory=list)  # the innermost ``if`` test of each
    detaches: bool = False  # its body detaches something (summary used at call sites)
    calls_backward: bool = False  # directly or through a same-file helper
    is_recurrent_step: bool = False  # runs a recurrent call and returns the new state
    state_kind: str | None = None  # the module kind of that call, when it is known
    summary: FunctionSummary | None = None  # set for a function of another module: no body here

    @property
    def is_method(self) -> bool:
        return self.cls is not None


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef | None
    name: str
    base_keys: list[str]
    attrs: dict[str, Binding] = field(default_factory=dict)
    methods: dict[str, Scope] = field(default_factory=dict)
    recurrent_kind: str | None = None  # subclass of a torch recurrent module
    is_recurrent: bool = False  # a recurrent module, or its forward runs one
    summary: ClassSummary | None = None  # set for a class of another module (``node`` is then None)

    @property
    def forward_detaches(self) -> bool:
        forward = self.methods.get("forward")
        return forward is not None and forward.detaches


@dataclass(frozen=True)
class Binding:
    """What a name or attribute holds: a torch recurrent module, a user class instance, an optimizer."""

    kind: str  # "module" | "instance" | "optimizer" | "loader" | "device" | "class" (a torch recurrent class by name)
    detail: str  # the recurrent kind, the class name, the optimizer's qualified name
    construction: cst.Call | None = None
    # A recurrent module built in another file: its configuration as that file's summary gives it, and the
    # stand-in of the function whose parameters it names (``__init__``), bound by this file's calls of it.
    config: Config | None = field(default=None, compare=False)
    owner: Scope | None = field(default=None, compare=False)


@dataclass(eq=False)
class AssignSite:
    targets: list[cst.BaseExpression]
    value: cst.BaseExpression | None
    node: cst.CSTNode
    scope: Scope
    loop: Loop | None
    augmented: bool = False
    index: int = 0

    @functools.cached_property
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
    # ``result = f(...); a, b = result``: the name read by the unpacking, which is where ``target`` now stands
    unpacked_from: cst.Name | None = None

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
    # The state lives on the module (``model(x)`` whose forward reads and writes ``self.hidden``): the keys
    # are the caller's spelling of it (``model.hidden``) and ``state_arg`` is the called module.
    held: bool = False

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


@dataclass(frozen=True, eq=False)
class Holder:
    """A name that holds one value in one body: as an assignment left it, or as a parameter it was passed to."""

    key: str
    scope: Scope
    definition: cst.CSTNode | None  # None: the parameter's incoming value


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
        self.project_imports: list[tuple[int, str | None, Sequence[cst.ImportAlias] | cst.ImportStar]] = []
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
        # (scope, name) -> the call whose whole result the name holds, until the name is bound again
        self._held_results: dict[tuple[int, str], CallSite] = {}
        self._discarded: set[int] = set()
        self._order = itertools.count()
        self._branches: list[tuple[int, str]] = []
        self._stored: set[int] = set()  # attribute nodes written by an assignment
        self.attribute_reads: set[str] = set()  # attribute names read anywhere (``x.hidden`` -> "hidden")
        self.type_comparisons: list[tuple[cst.Comparison, Scope]] = []  # ``type(h) == X`` / ``type(h) is X``
        self.if_tests: dict[int, cst.BaseExpression] = {}  # id of an ``if`` (as in CallSite.branches) -> its test
        self.accelerator_literals: list[cst.SimpleString] = []  # "cuda", "cuda:0", "mps": a device this file names

    # -- imports ---------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        self.imports.update(alias_bindings(node.names, None))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or isinstance(node.names, cst.ImportStar):
            # Only the project knows what these name: ``FileFacts`` resolves them when it has one.
            module = key_of(node.module) if node.module is not None else None
            self.project_imports.append((len(node.relative), module, node.names))
            return
        self.imports.update(alias_bindings(node.names, key_of(node.module)))

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
            annotations={
                p.name.value: key for p in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)
                if p.annotation is not None and (key := key_of(p.annotation.annotation)) is not None
            },
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
        if not augmented and len(targets) == 1 and isinstance(targets[0], cst.Tuple) and isinstance(value, cst.Name):
            held = self._held_results.pop((id(self.scope), value.value), None)
            if held is not None and held.target is not None and isinstance(held.target, cst.Name):
                held.target, held.unpacked_from = targets[0], value  # the unpacking receives the call's result
        for target in targets:
            for name in _flat_targets(target):
                if isinstance(name, cst.Name):
                    self._held_results.pop((id(self.scope), name.value), None)
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
            branch = self._branches[-1] if self._branches else None
            test = self.if_tests.get(branch[0]) if branch is not None and branch[1] == "body" else None
            self.scope.return_tests.append(test)

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
        self.if_tests[id(node)] = node.test
        self._branches.append((id(node), "body"))

    def leave_If_body(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self._branches.append((id(node), "orelse"))

    def leave_If_orelse(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.subscripts.append((node, self.scope))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if _ACCELERATOR_LITERAL.fullmatch(node.value.lstrip("rRbBuU")):
            self.accelerator_literals.append(node)

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
        if isinstance(site.target, cst.Name):
            self._held_results[(id(self.scope), site.target.value)] = site
        if method_name(node) in _DETACH_METHODS:
            self.scope.detaches = True
            self.detach_calls.append(site)


def _flat_targets(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _flat_targets(element.value)
    else:
        yield node


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

    def __init__(self, module: cst.Module, project: ModuleView | None = None,
                 imports: dict[str, str] | None = None) -> None:
        """``imports``: names the tree reads without importing them (``hs_lint.inline.Expansion.imports``)."""
        collector = _Collector()
        walk(module, collector)
        self.module = module
        self.project = project
        self.imports = collector.imports
        self.imports.update(imports or {})
        self.star_imports: list[str] = []
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
        self.if_tests = collector.if_tests
        self.accelerator_literals = collector.accelerator_literals
        self.scopes = [self.module_scope, *collector.function_scopes]
        self.functions = {
            s.name: s for s in collector.function_scopes if s.parent is self.module_scope and not s.is_method
        }
        self._resolve_project_imports(collector.project_imports)
        self._callees: dict[int, Callee] = {}
        self._in_flow: set[tuple[int, str, frozenset[str]]] = set()
        self._params: dict[tuple[int, str], Binding | None | object] = {}
        self._looked_up: set[str] = set()  # ``module.name`` keys already asked of the project
        self.tuple_conditions: dict[tuple[str, str | None], str] = {}
        self._pair_initialisers: set[int] = set()  # ``h = model.init_hidden(b)`` calls that return (h0, c0)
        self._state_params_by_function: dict[int, frozenset[str]] = {}
        self._signatures: dict[int, Signature | None] = {}  # by id(function): asked at every call of a model
        self._flows: dict[int, ReachingDefinitions] = {}
        self._fed_states: set[tuple[str, str | None]] = set()  # (owner, key) fed to an LSTM as its state
        self._function_events: dict[int, list[GradEvent]] = {}
        self.recurrent_modules: list[RecurrentModule] = []
        self._alias_sources: dict[tuple[int, str], str] = {}  # (scope, local) -> what ``local = self.rnn`` read
        self._result_reads: dict[int, dict[int, list[AssignSite]]] = {}  # id(call) -> ``x = result[i]`` by i
        self._bind_constructions()
        self._mark_recurrent_classes()
        self._summarise_backward()
        self.recurrent_calls = self._find_recurrent_calls()
        self.state_keys_by_scope = self._state_keys_by_scope()
        self.held_calls = self._find_held_calls()

    # -- other modules of the project -------------------------------------------------------
    def _resolve_project_imports(self, entries: list) -> None:
        """Relative and star imports, then the classes and functions the imports name in other modules."""
        project = self.project
        if project is None:
            return
        for level, module, names in entries:
            absolute = project.absolute(level, module)
            if absolute is None:
                continue
            if isinstance(names, cst.ImportStar):
                self.star_imports.append(absolute)
                for name in project.exports(absolute):
                    self.imports.setdefault(name, f"{absolute}.{name}")
                continue
            self.imports.update(alias_bindings(names, absolute))
        used = self._names_used_as_callees()
        for local, qualified in list(self.imports.items()):
            if (local in used or local[:1].isupper()) and local not in self.classes and local not in self.functions:
                self._imported(local, qualified)

    def _names_used_as_callees(self) -> set[str]:
        """Imported names this file calls, subclasses, annotates with or loops over: with the capitalised ones
        (classes, whose methods a parameter may call), the only ones worth a summary (a module imported whole is
        looked up when one of its attributes is called: ``imported_class``)."""
        used = {key.split(".", 1)[0] for site in self.calls if (key := key_of(site.node.func)) is not None}
        for site in self.calls:  # a device: ``x.to(device)``, ``torch.zeros(..., device=DEVICE)``
            placed = [*positional_args(site.node)[:1]] if method_name(site.node) in ("to", "cuda") else []
            placed.append(keyword_arg(site.node, "device"))
            used.update(key.split(".", 1)[0] for arg in placed if (key := key_of(arg)) is not None)
        used.update(key.split(".", 1)[0] for cls in self.classes.values() for key in cls.base_keys)
        used.update(annotation for scope in self.scopes for annotation in scope.annotations.values())
        for loop in self.loops:  # ``for x, y in loader`` / ``in enumerate(loader)``: a loader made elsewhere
            source = loop.node.iter if isinstance(loop.node, cst.For) else None
            while isinstance(source, cst.Call) and source.args:
                source = source.args[0].value
            if (key := key_of(source)) is not None:
                used.add(key.split(".", 1)[0])
        return used

    def _imported(self, key: str, qualified: str) -> ClassInfo | Scope | None:
        """The stand-in for a class or function of another module, registered under ``key``."""
        if key in self.classes:
            return self.classes[key]
        if key in self.functions:
            return self.functions[key]
        found = self.project.resolve(qualified) if self.project is not None and "." in qualified else None
        if isinstance(found, ClassSummary):
            cls = ClassInfo(node=None, name=key, base_keys=[], recurrent_kind=found.recurrent_kind,
                            is_recurrent=found.is_recurrent, summary=found)
            self.classes[key] = cls
            cls.methods = {name: _stub_scope(f, cls) for name, f in found.methods.items()}
            init = cls.methods.get("__init__")
            for attr, (kind, detail) in found.attrs.items():
                binding = self._imported_binding(kind, detail, found.configs.get(attr), init)
                if binding is not None:
                    cls.attrs[attr] = binding
            return cls
        if isinstance(found, FunctionSummary):
            function = self.functions[key] = _stub_scope(found, None)
            return function
        if isinstance(found, ObjectSummary):
            binding = self._imported_binding(found.kind, found.detail, found.config, None)
            if binding is not None:
                self.module_scope.bindings.setdefault(key, binding)
        return None

    def _imported_binding(self, kind: str, detail: str, config: Config | None, owner: Scope | None) -> Binding | None:
        """A binding made in another module; an instance's class is brought in under its absolute name."""
        if kind == "instance":
            return Binding(kind, detail) if isinstance(self._imported(detail, detail), ClassInfo) else None
        return Binding(kind, detail, config=config if kind in ("module", "loader") else None, owner=owner)

    def imported_class(self, key: str) -> ClassInfo | None:
        """``model.CharRNN`` through ``import model``: a class of another module named by attribute."""
        if key in self.classes:
            return self.classes[key]
        head = key.split(".", 1)[0]
        if "." not in key or head not in self.imports or self.project is None:
            return None
        found = self._imported(key, f"{self.imports[head]}.{key.split('.', 1)[1]}")
        return found if isinstance(found, ClassInfo) else None

    @functools.cached_property
    def shapes(self) -> ShapeFacts:
        """Module configurations and tensor shapes (HS2xx), built on first use only."""
        from hs_lint.shapes import ShapeFacts

        return ShapeFacts(self)

    @functools.cached_property
    def batches(self) -> Batches:
        """Which values hold a DataLoader's batches (HS211), built on first use only."""
        from hs_lint.batches import Batches

        return Batches(self)

    @functools.cached_property
    def skips(self) -> list[Skip]:
        """The loops' skips of the batches a fixed-size state would not fit (HS204, HS213, HS214)."""
        from hs_lint.skips import skips

        return list(skips(self))

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
        aliased = self.recurrent_alias(call.func)
        if aliased is not None:
            return Binding("module", aliased, call)
        if isinstance(call.func, cst.Name) and call.func.value in self.classes:
            return Binding("instance", call.func.value, call)
        if isinstance(call.func, cst.Attribute) and (key := key_of(call.func)) and self.imported_class(key):
            return Binding("instance", key, call)
        if qualified.startswith("torch.optim.") and ".lr_scheduler" not in qualified:
            return Binding("optimizer", qualified, call)
        if qualified in DATA_LOADERS:
            return Binding("loader", "shuffled" if self.shuffles(call) else "ordered", call)
        if qualified == "torch.device" and call.args and (where := self._device_kind(call.args[0].value)):
            return Binding("device", where, call)
        return None

    def _device_kind(self, value: cst.BaseExpression) -> str | None:
        """Where ``torch.device(value)`` is: "cuda-if-available" (it asks ``torch.cuda.is_available()``),
        "accelerator" ("cuda", "cuda:1", "mps"), "cpu"; None when the code does not say."""
        if any(isinstance(n, cst.Call) and self.qualify(n.func) == "torch.cuda.is_available"
               for n in (value, *descendants(value))):
            return "cuda-if-available"
        text = values.literal(value)
        if isinstance(text, str):
            return "cpu" if text == "cpu" else "accelerator" if text.startswith(("cuda", "mps")) else None
        return None

    def recurrent_alias(self, func: cst.BaseExpression) -> str | None:
        """``Cell = nn.LSTM; Cell(...)``, ``self.cell_class = nn.GRU``, ``getattr(nn, "LSTM")(...)``, a ``Cell`` of
        another module: the torch recurrent class a callee stands for, when every assignment of it names the
        same one."""
        if isinstance(func, cst.Call) and _is_builtin_call(func, "getattr") and len(func.args) == 2:
            name = values.literal(func.args[1].value)
            module = self.qualify(func.args[0].value)
            return _TORCH_RECURRENT.get(f"{module}.{name}") if module and name else None
        key = key_of(func)
        if key is None and isinstance(func, (cst.IfExp, cst.Subscript)):  # ``(nn.GRU if gru else nn.LSTM)(...)``
            kinds = self._class_kinds(func)
            return family(kinds) if None not in kinds else None  # type: ignore[arg-type]
        if key is None:
            return None
        imported = self.lookup(key, self.module_scope) if key not in self._aliases else None
        return imported.detail if imported is not None and imported.kind == "class" else self._aliases.get(key)

    @functools.cached_property
    def _aliases(self) -> dict[str, str]:
        kinds: dict[str, set[str | None]] = {}
        for site in self.assignments:
            for target in site.targets:
                key = key_of(target)
                if key is not None and site.value is not None:
                    kinds.setdefault(key, set()).update(self._class_kinds(site.value))
                elif key is not None:
                    kinds.setdefault(key, set()).add(None)
        for cls in self.classes.values():  # ``rnn_class = nn.LSTM`` in a class body, called as ``self.rnn_class``
            for statement in cls.node.body.body if cls.node is not None else ():
                for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
                    single = isinstance(small, cst.Assign) and len(small.targets) == 1
                    target = small.targets[0].target if single else None
                    if isinstance(target, cst.Name):
                        for key in (f"self.{target.value}", f"{cls.name}.{target.value}"):
                            kinds.setdefault(key, set()).update(self._class_kinds(small.value))
        return {key: kind for key, found in kinds.items() if None not in found and (kind := family(found)) is not None}

    def _class_kinds(self, value: cst.BaseExpression, depth: int = 0) -> set[str | None]:
        """The torch recurrent classes ``value`` may be (None among them: something else): ``nn.LSTM``,
        ``nn.GRU if gru else nn.LSTM``, ``{"lstm": nn.LSTM, "gru": nn.GRU}[name]`` (or such a mapping bound once
        at module level), ``getattr(nn, "GRU")``."""
        if isinstance(value, cst.IfExp) and depth < 4:
            return self._class_kinds(value.body, depth + 1) | self._class_kinds(value.orelse, depth + 1)
        if isinstance(value, cst.Subscript) and depth < 4:
            mapping = value.value
            if isinstance(mapping, cst.Name):
                mapping = self._module_constant(mapping.value)
            if isinstance(mapping, cst.Dict) and mapping.elements and all(
                    isinstance(e, cst.DictElement) for e in mapping.elements):
                return set().union(*(self._class_kinds(e.value, depth + 1) for e in mapping.elements))
            return {None}
        if isinstance(value, cst.Call):
            getattr_call = _is_builtin_call(value, "getattr") and len(value.args) == 2
            return {self.recurrent_alias(value) if getattr_call else None}
        return {_TORCH_RECURRENT.get(self.qualify(value) or "")}

    def _module_constant(self, name: str) -> cst.BaseExpression | None:
        """What a module-level name is bound to, when it is assigned once, there."""
        sites = [site for site in self.assignments if any(key_of(t) == name for t in site.targets)]
        return sites[0].value if len(sites) == 1 and sites[0].scope is self.module_scope else None

    @functools.cached_property
    def fields_batch_first(self) -> bool | None:
        """Whether the torchtext Fields this file builds lay their batches out batch first: the one answer of
        every sequential one (``batch_first`` a literal or left out), else None."""
        found: set[object] = set()
        for site in self.calls:
            if site.qualified not in TEXT_FIELDS:
                continue
            if any(arg.star for arg in site.node.args):
                return None
            if as_bool(argument(site.node, FIELD_SEQUENTIAL), True) is False:
                continue
            found.add(as_bool(argument(site.node, FIELD_BATCH_FIRST), False))
        return found.pop() if len(found) == 1 and found <= {True, False} else None

    def shuffles(self, loader: cst.Call) -> bool:
        """``DataLoader(..., shuffle=True)`` or a random sampler: consecutive batches are unrelated."""
        positional = positional_args(loader)
        shuffle = keyword_arg(loader, "shuffle") or (positional[2] if len(positional) > 2 else None)
        if isinstance(shuffle, cst.Name) and shuffle.value == "True":
            return True
        for name in ("sampler", "batch_sampler"):
            sampler = keyword_arg(loader, name)
            while isinstance(sampler, cst.Call):
                if self.qualify(sampler.func) in _RANDOM_SAMPLERS:
                    return True
                sampler = next(iter(positional_args(sampler)), None)
        return False

    def _returned_binding(self, value: cst.BaseExpression | None, scope: Scope) -> Binding | None:
        """``loader = make_loader(...)``: what a helper returns."""
        function = self.callee_function(value, scope) if isinstance(value, cst.Call) else None
        return self.returned_binding(function) if function is not None else None

    def returned_binding(self, function: Scope) -> Binding | None:
        """What ``function`` returns when all its returns agree: a DataLoader, a model instance, a recurrent
        module (whose configuration is read in the helper, its parameters taking what callers pass)."""
        if function.summary is not None:
            returned = function.summary.returns
            if returned is not None and returned[0] == "instance" and self._imported(returned[1], returned[1]) is None:
                return None
            # a module built in another file has no construction here to read its configuration from
            return Binding(*returned) if returned is not None and returned[0] != "module" else None
        found = {self._construction(r) or (self.lookup(k, function) if (k := key_of(r)) else None)
                 for r in function.returns}
        binding = found.pop() if len(found) == 1 else None
        if binding is not None and binding.kind == "module" and binding.construction is None:
            return None  # a module whose construction is not in this file: no configuration to read
        return binding

    def _bind_constructions(self) -> None:
        for site in self.assignments:  # (``a, b = X(), Y()`` arrives as two assignments: ``hs_lint.parallel``)
            self._bind(site, self._construction(site.value))
        for site in self.assignments:  # then helpers' results, now that their own bodies are bound
            if self._construction(site.value) is None:
                self._bind(site, self._returned_binding(site.value, site.scope))
        for site in self.assignments:  # then names that read a held object: ``rnn = self.rnn``
            self._bind_alias(site)

    def _bind_alias(self, site: AssignSite) -> None:
        """``rnn = self.rnn``, ``encoder = model.encoder``: a local name assigned once, from a name or attribute
        that holds a module, an instance, a loader or an optimizer, holds the same object."""
        if len(site.targets) != 1 or not isinstance(site.targets[0], cst.Name) or site.augmented:
            return
        key, source = site.targets[0].value, key_of(site.value) if site.value is not None else None
        if source is None or source == key or key in site.scope.bindings or self._assigned_twice(key, site.scope):
            return
        binding = self.lookup(source, site.scope)
        if binding is not None:
            site.scope.bindings[key] = binding
            self._alias_sources[(id(site.scope), key)] = self.origin(source, site.scope)

    def origin(self, key: str, scope: Scope) -> str:
        """The name or attribute an alias was read from (``self.rnn`` for ``rnn = self.rnn``), else ``key``."""
        current: Scope | None = scope
        while current is not None:
            if (id(current), key) in self._alias_sources:
                return self._alias_sources[(id(current), key)]
            if key in current.bindings or key in current.params:
                return key
            current = current.parent
        return key

    def _assigned_twice(self, key: str, scope: Scope) -> bool:
        return self._assignment_counts[(id(scope), key)] > 1

    @functools.cached_property
    def _assignment_counts(self) -> collections.Counter[tuple[int, str]]:
        """How many assignments of each scope bind each key (counted once per file, not per question)."""
        return collections.Counter((id(site.scope), key) for site in self.assignments for key in site.target_keys)

    def _bind(self, site: AssignSite, binding: Binding | None) -> None:
        key = key_of(site.targets[0]) if binding is not None and len(site.targets) == 1 else None
        if binding is None or key is None:
            return
        scope = site.scope
        if scope.cls is not None and key.startswith("self.") and key.count(".") == 1:
            scope.cls.attrs[key[5:]] = binding
        else:
            scope.bindings[key] = binding
        if binding.kind == "module" and binding.construction is not None:
            self.recurrent_modules.append(RecurrentModule(binding.detail, binding.construction, key, scope, scope.cls))

    def lookup(self, key: str, scope: Scope) -> Binding | None:
        """What ``key`` holds when read in ``scope``: locals, enclosing functions, the module, ``self``."""
        head, _, attr = key.rpartition(".")
        if scope.cls is not None and head == "self":
            return self._class_attr(scope.cls, attr)
        current: Scope | None = scope
        while current is not None:
            if key in current.bindings:
                return current.bindings[key]
            if key in current.params and not (current.is_method and current.params[0] == key):
                passed = self._param_binding(current, key)
                if passed is not _NO_CALLERS:
                    return passed
            current = current.parent
        if head:
            owner = self.lookup(head, scope)
            if owner is not None and owner.kind == "instance":
                return self._class_attr(self.classes[owner.detail], attr)
            if head in self.imports and self.project is not None and key not in self._looked_up:
                self._looked_up.add(key)  # ``common.encoder`` through ``import common``: registered once
                self._imported(key, f"{self.imports[head]}.{attr}")
                return self.module_scope.bindings.get(key)
        return None

    def _param_binding(self, function: Scope, param: str) -> Binding | None | object:
        """What a parameter holds: its annotation's class, or what every caller in the file passes when they all
        agree (``train(model0, loader)``). ``_NO_CALLERS`` when nothing here calls the function, so the name is
        read as the file's own object of that name, as a script that calls it from elsewhere would have it."""
        memo = (id(function), param)
        if memo in self._params:
            return self._params[memo]
        self._params[memo] = None  # a recursive call chain stays unknown
        annotated = function.annotations.get(param)
        if annotated in self.classes:
            found: Binding | None | object = Binding("instance", annotated)
        else:
            passed = []
            for site in self._callers(function):
                arg = self.bound_arguments(site, function).get(param)
                key = key_of(arg)
                passed.append(self.lookup(key, site.scope) if key is not None else (
                    self._construction(arg) or self._returned_binding(arg, site.scope)))
            kinds = {(b.kind, b.detail) if b is not None else None for b in passed}
            found = (self._passed_elsewhere(function, param) or _NO_CALLERS) if not passed else (
                passed[0] if len(kinds) == 1 and None not in kinds else None)
        self._params[memo] = found
        return found

    def _passed_elsewhere(self, function: Scope, param: str) -> Binding | None:
        """The class of the instance that the calls of a module-level ``function`` in the modules importing it pass
        for ``param``, when they agree (their summaries' ``calls_out``): ``def train(model, data)`` here, called as
        ``train(Net(), data)`` by the driver. Not for a summary (it depends on its own source alone)."""
        project = self.project
        if project is None or project.local or function.cls is not None or function.parent is not self.module_scope \
                or not self._drives(function, param):
            return None
        position = function.params.index(param)
        classes = {given[1] if given is not None and given[0] == "instance" else None
                   for args in project.calls_in(function.name)
                   for given in [args.get(f"#{position}") or args.get(param)]}
        qualified = classes.pop() if len(classes) == 1 else None
        if qualified is None or not isinstance(self._imported(qualified, qualified), ClassInfo):
            return None
        return Binding("instance", qualified)

    def _drives(self, function: Scope, param: str) -> bool:
        """``function`` runs ``param`` as a model: calls it in a loop or with a state (``net(x, h)``), or calls its
        state initialiser (``net.init_hidden(b)``). Only then are the importing modules asked what it is (reading
        them costs a parse each), and read syntactically (the callees are being resolved)."""
        for site in self.calls:
            key = key_of(site.node.func) if site.scope is function else None
            if key == param and (site.loop is not None or len(site.node.args) >= 2) or key is not None and \
                    key.startswith(f"{param}.") and names_state_initialiser(key[len(param) + 1:]):
                return True
        return False

    def _callers(self, function: Scope) -> list[CallSite]:
        """The calls of ``function`` by its name (``train(...)``, ``self.step(...)``), without resolving callees."""
        return [site for key, site in self._calls_by_name.get(function.name, ())
                if self._function_named(key, site.scope) is function]

    def instance_calls(self, cls: ClassInfo) -> list[CallSite]:
        """The calls of instances of ``cls`` (``model(x)`` with ``model = Net()``), in order."""
        return self._instance_calls.get(id(cls), [])

    @functools.cached_property
    def _instance_calls(self) -> dict[int, list[CallSite]]:
        found: dict[int, list[CallSite]] = {}
        for site in self.calls:
            callee = self.callee(site)
            if callee.kind == "instance":
                found.setdefault(id(callee.cls), []).append(site)
        return found

    def site(self, call: cst.Call) -> CallSite:
        """The call site of the node ``call``."""
        return self._sites_by_node[id(call)]

    @functools.cached_property
    def _sites_by_node(self) -> dict[int, CallSite]:
        return {id(site.node): site for site in self.calls}

    @functools.cached_property
    def _calls_by_name(self) -> dict[str, list[tuple[str, CallSite]]]:
        found: dict[str, list[tuple[str, CallSite]]] = {}
        for site in self.calls:
            key = key_of(site.node.func)
            if key is not None:
                found.setdefault(key.rsplit(".", 1)[-1], []).append((key, site))
        return found

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
            return self.method_of(scope.cls, name)
        if not head:
            return self.functions.get(name)
        if head in self.imports and self.project is not None:
            found = self._imported(key, f"{self.imports[head]}.{name}")
            return found if isinstance(found, Scope) else None
        return None

    # -- summaries -------------------------------------------------------------------------
    def _mark_recurrent_classes(self) -> None:
        """A class is recurrent when it is a torch recurrent module or one of its methods runs one."""
        for cls in self.classes.values():
            cls.is_recurrent = cls.is_recurrent if cls.summary is not None else cls.recurrent_kind is not None
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

    @property
    def has_recurrent_code(self) -> bool:
        """The file builds a torch recurrent module or has a recurrent class (defined here, its layers perhaps
        built by a base class of another module, or imported from the project): an unknown model it runs may be
        one."""
        return bool(self.recurrent_modules) or any(cls.is_recurrent for cls in self.classes.values())

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
                    scope.detaches |= call.callee.detaches_input  # it hands back the model's detached state
        return [found[id(site.node)] for site in self.calls if id(site.node) in found]

    def _recurrent_call(self, site: CallSite) -> RecurrentCall | None:
        callee = self.callee(site)
        target = site.target
        indexed = self._indexed_results(site)
        tail = [k for index, targets in indexed.items() if index >= 1 for t in targets for k in flat_keys(t)]
        if callee.kind == "module":
            return self._module_call(site, callee, tail)
        if callee.kind == "instance" and callee.cls is not None and callee.cls.is_recurrent:
            results = _tail_keys(target) if isinstance(target, cst.Tuple) else tail or flat_keys(target)
            return self._matched_call(site, callee, results, skip_first=True, heuristic=False)
        if callee.kind == "function" and callee.function is not None and callee.function.is_recurrent_step:
            return self._matched_call(site, callee, flat_keys(target), skip_first=False, heuristic=False)
        if callee.kind == "unknown" and not is_torch_function(self.qualify(site.node.func) or ""):
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                return self._matched_call(site, callee, flat_keys(target.elements[1].value), skip_first=True,
                                          heuristic=True)
            if set(indexed) == {0, 1}:
                return self._matched_call(site, callee, tail, skip_first=True, heuristic=True)
        return None

    def _module_call(self, site: CallSite, callee: Callee, indexed_state: list[str]) -> RecurrentCall:
        kind = callee.recurrent_kind
        state_arg = self.passed_value(_state_argument(site.node), site)
        target = site.target
        if is_cell(kind):
            results = flat_keys(target)
        elif isinstance(target, cst.Tuple) and len(target.elements) == 2:
            results = flat_keys(target.elements[1].value)
        else:
            results = indexed_state
        return RecurrentCall(site, callee, state_arg, frozenset(flat_keys(state_arg)), frozenset(results), False)

    def passed_value(self, arg: cst.BaseExpression | None, site: CallSite) -> cst.BaseExpression | None:
        """What an argument passes: itself, or the names a temporary holds (``tmp = (h, c)`` then ``lstm(x, tmp)``:
        ``(h, c)``). A recurrent call's ``state_arg`` is this value, so every rule reads the state the call is
        given."""
        value = self.temporary_value(arg, site.scope) if isinstance(arg, cst.Name) else None
        return value if isinstance(value, (cst.Name, cst.Attribute, cst.Tuple, cst.List)) and flat_keys(value) \
            else arg

    def temporary_value(self, read: cst.Name, scope: Scope) -> cst.BaseExpression | None:
        """The value ``read`` sees when one plain assignment of its name (not augmented, not unpacked) is all that
        reaches it: ``arr = h.numpy()`` then ``arr = arr[-1]`` gives each read of ``arr`` its own value."""
        defs = [a for a in self._assignments_by_scope.get(id(scope), ()) if read.value in a.target_keys]
        reaching = self.reaching(read, read.value, scope)
        if reaching is not None:
            defs = [a for a in defs if reaching == {id(a.node)}]
        if len(defs) != 1 or len(defs[0].targets) != 1 or not isinstance(defs[0].targets[0], cst.Name) \
                or defs[0].augmented or defs[0].value is None:
            return None
        return defs[0].value if self.holds(read, read.value, scope, defs[0].node) else None

    def element_sources(self, read: cst.Name, scope: Scope) -> list[cst.BaseExpression]:
        """What the items ``read`` holds come from, when only a loop or a list built empty reaches it: ``for row in
        rows`` -> ``rows``; ``vals = []`` then ``vals.append(row[-1])`` -> ``row[-1]`` (each append in ``scope``)."""
        reaching = self.reaching(read, read.value, scope) or frozenset()
        loops = [loop.node for loop in self.loops if id(loop.node) in reaching and isinstance(loop.node, cst.For)]
        if loops and len(loops) == len(reaching):
            return [loop.iter for loop in loops if read.value in flat_keys(loop.target)]
        value = self.temporary_value(read, scope)
        if not (isinstance(value, (cst.List, cst.Tuple)) and not value.elements):
            return []
        return [arg.value for site in self.calls if site.scope is scope and method_name(site.node) in _GROWS
                and key_of(receiver(site.node)) == read.value for arg in site.node.args]

    def _indexed_results(self, site: CallSite) -> dict[int, list[cst.BaseExpression]]:
        """``result = lstm(x, h)`` then ``out = result[0]`` and ``h = result[1]``: index -> the targets bound
        from the result as the call left it (a read that another assignment of ``result`` may reach is not)."""
        return {index: [a.targets[0] for a in reads] for index, reads in self.result_reads(site).items()}

    def result_reads(self, site: CallSite) -> dict[int, list[AssignSite]]:
        """The assignments behind ``_indexed_results``, by index."""
        memo = self._result_reads.get(id(site.node))
        if memo is not None:
            return memo
        definition = self.definition(site.target) if isinstance(site.target, cst.Name) else None
        found: dict[int, list[AssignSite]] = {}
        key = site.target.value if definition is not None else None
        for assign, base, path in self.index_reads.get((id(site.scope), key), ()) if key is not None else ():
            if len(path) == 1 and path[0] >= 0 and self.holds(base, key, site.scope, definition):
                found.setdefault(path[0], []).append(assign)
        self._result_reads[id(site.node)] = found
        return found

    @functools.cached_property
    def index_reads(self) -> dict[object, list[tuple[AssignSite, cst.BaseExpression, tuple[int, ...]]]]:
        """``t = base[i][j]`` (one target, literal indices) by what it indexes: a call's node id, or (scope id,
        name) for a name. Read once per file: asked for every call, a scan would be quadratic."""
        found: dict[object, list[tuple[AssignSite, cst.BaseExpression, tuple[int, ...]]]] = {}
        for assign in self.assignments:
            if len(assign.targets) != 1 or not isinstance(assign.value, cst.Subscript):
                continue
            base, path = index_path(assign.value)
            if path and isinstance(base, cst.Call):
                found.setdefault(id(base), []).append((assign, base, path))
            elif path and isinstance(base, cst.Name):
                found.setdefault((id(assign.scope), base.value), []).append((assign, base, path))
        return found

    def _matched_call(
        self, site: CallSite, callee: Callee, results: list[str], *, skip_first: bool, heuristic: bool
    ) -> RecurrentCall | None:
        """The state argument is the one whose names come back as results (``out, h = f(x, h)``)."""
        result_keys = frozenset(results)
        candidates = [a.value for a in site.node.args if not a.star]
        if skip_first and site.node.args and site.node.args[0].keyword is None:
            candidates = candidates[1:]
        for arg in candidates:
            value = self.passed_value(arg, site)
            keys = frozenset(flat_keys(value))
            if keys & result_keys:
                return RecurrentCall(site, callee, value, keys, result_keys, heuristic)
        if heuristic:
            return None
        state_arg = self.passed_value(self._argument_for_state(site, callee), site)
        return RecurrentCall(site, callee, state_arg, frozenset(flat_keys(state_arg)), result_keys, heuristic)

    @functools.cached_property
    def builds_loaders(self) -> bool:
        """The file constructs a batch iterator somewhere (else none of its functions returns one: their shape facts,
        which cost, need not be asked)."""
        return any(self.qualify(site.node.func) in BATCH_ITERATORS for site in self.calls)

    def signature(self, function: Scope) -> Signature | None:
        """What ``function`` accepts and which parameters it never uses (hs_lint.signature); from the summary for a
        function of another module."""
        if function.summary is not None:
            return function.summary.signature
        if not isinstance(function.node, cst.FunctionDef):
            return None
        if id(function) not in self._signatures:
            self._signatures[id(function)] = signature(
                function.node, lambda read: ENTRY in (self.reaching(read, read.value, function) or {ENTRY}))
        return self._signatures[id(function)]

    def state_params(self, function: Scope) -> frozenset[str]:
        """Parameters that ``function`` passes as the state of a torch recurrent module."""
        known = self._state_params_by_function.get(id(function))
        if function.summary is not None:
            return frozenset(function.summary.state_params)
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
        state_params = self.state_params(forward)
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

    # -- state held on a module (``self.hidden``) -------------------------------------------
    def held_attrs(self, cls: ClassInfo) -> frozenset[str]:
        """Attributes ``cls.forward`` feeds into its recurrent layer and stores back: ``model(x)`` carries them
        from one call to the next although the call names no state."""
        if cls.summary is not None:
            return frozenset(cls.summary.held_attrs)
        forward = cls.methods.get("forward")
        return frozenset(
            key[5:] for call in self.recurrent_calls if call.site.scope is forward
            for key in call.state_keys if key.startswith("self.") and key.count(".") == 1
            and (key in call.result_keys or self._stored_back(forward, key, call))
        )

    def _stored_back(self, forward: Scope, key: str, call: RecurrentCall) -> bool:
        """``out, h = self.rnn(x, self.h)`` then ``self.h = h.detach()``: the returned state, through a local, is
        what ``self.h`` holds for the next call."""
        return bool(call.result_keys) and any(
            site.scope is forward and key in site.target_keys and site.value is not None
            and self.flow(site.value, call.result_keys, forward) in (Flow.CARRIED, Flow.DETACHED)
            for site in self.assignments)

    def _find_held_calls(self) -> list[RecurrentCall]:
        found = []
        holders = {attr: cls for cls in self.classes.values() for attr in self.held_attrs(cls)}
        unique = {attr: cls for attr, cls in holders.items()
                  if sum(attr in self.held_attrs(c) for c in self.classes.values()) == 1}
        for site in self.calls:
            callee = self.callee(site)
            func = site.node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "forward":
                func = func.value
            owner = key_of(func)
            if callee.kind == "unknown" and owner is not None and "." not in owner:
                callee = self._holder_by_attribute(site.scope, owner, unique) or callee
            if callee.kind != "instance" or callee.cls is None or owner is None or site.scope.cls is callee.cls:
                continue
            keys = frozenset(f"{owner}.{attr}" for attr in self.held_attrs(callee.cls))
            if keys:
                found.append(RecurrentCall(site, callee, func, keys, keys, heuristic=False, held=True))
        return found

    def _holder_by_attribute(self, scope: Scope, owner: str, unique: dict[str, ClassInfo]) -> Callee | None:
        """``net(x)`` with ``net`` a parameter nobody here passes, while the same function assigns ``net.memory``,
        the state only one class of the file keeps: ``net`` is that class's instance."""
        classes = {unique[attr].name for attr in self._attributes_assigned.get((id(scope), owner), ()) if attr in unique}
        return Callee("instance", cls=self.classes[classes.pop()]) if len(classes) == 1 else None

    @functools.cached_property
    def _attributes_assigned(self) -> dict[tuple[int, str], set[str]]:
        """(scope id, owner) -> the attributes of ``owner`` the scope assigns (``net.memory = ...``)."""
        found: dict[tuple[int, str], set[str]] = {}
        for site in self.assignments:
            for key in site.target_keys:
                owner, dot, attr = key.partition(".")
                if dot and "." not in attr:
                    found.setdefault((id(site.scope), owner), set()).add(attr)
        return found

    def resetting_methods(self, cls: ClassInfo, attrs: frozenset[str]) -> frozenset[str]:
        """Methods other than forward that give one of ``attrs`` a fresh value (``self.hidden = None``), its own
        or inherited (a base class's, in this file or summarised from another, unless this class overrides it)."""
        found: set[str] = set()
        overridden: set[str] = set()
        for owner in self.lineage(cls):
            if owner.summary is not None:
                found.update(m for attr in attrs for m in owner.summary.resets.get(attr, ()) if m not in overridden)
                break  # a summary already holds what its class inherits
            own = self.own_resets(owner)
            found.update(m for attr in attrs for m in own.get(attr, ()) if m not in overridden)
            overridden.update(owner.methods)
        return frozenset(found)

    def own_resets(self, cls: ClassInfo) -> dict[str, frozenset[str]]:
        """Attribute -> the methods of this file's ``cls`` (forward aside) that give ``self.<attribute>`` a
        fresh value (``self.hidden = None``, ``self.state = self.zero_state()``)."""
        found: dict[str, set[str]] = {}
        for name, method in cls.methods.items():
            for site in self._assignments_by_scope.get(id(method), ()) if name != "forward" else ():
                for key in site.target_keys:
                    if key.startswith("self.") and key.count(".") == 1 and self.flow(
                            site.value, frozenset({key}), method) is Flow.FRESH:
                        found.setdefault(key[5:], set()).add(name)
        return {attr: frozenset(methods) for attr, methods in found.items()}

    def method_of(self, cls: ClassInfo, name: str) -> Scope | None:
        """``cls``'s method ``name``, its own or inherited from a base class this file knows (defined here, or a
        class of another module whose summary lists the methods it inherits)."""
        return next((owner.methods[name] for owner in self.lineage(cls) if name in owner.methods), None)

    def lineage(self, cls: ClassInfo) -> Iterator[ClassInfo]:
        """``cls`` and its first base class at each step that this file knows (defined or imported here)."""
        seen: set[str] = set()
        current: ClassInfo | None = cls
        while current is not None and current.name not in seen:
            seen.add(current.name)
            yield current
            current = next((self.classes[b] for b in current.base_keys if b in self.classes), None)

    def summarises_sequence(self, cls: ClassInfo) -> bool:
        """``forward`` turns each input sequence into one result: it reads its recurrent layer's output only at
        the last step (``out[-1]``, ``out[:, -1]``) or not at all. Each call is then a whole, independent sequence
        (a classifier), not the next chunk of a stream."""
        if cls.summary is not None:
            return cls.summary.summarises_sequence
        forward = cls.methods.get("forward")
        calls = [c for c in self.recurrent_calls if forward is not None and c.site.scope is forward
                 and c.callee.kind == "module" and not is_cell(c.callee.recurrent_kind)]
        if not calls or not isinstance(forward.node, cst.FunctionDef):
            return False
        outputs, definitions = set(), set()
        for call in calls:
            output = self.output_target(call.site)  # ``out, h = ...``, ``out = ...[0]``, through a temporary
            if output is None:
                return False
            outputs.update(flat_keys(output))
            definitions.add(id(self.output_definition(call.site)))
        if not outputs:
            return False

        def holds_output(read: cst.CSTNode, key: str) -> bool:  # not the input under the same name
            reaching = self.reaching(read, key, forward)
            return reaching is None or bool(reaching & definitions)

        reads = list(_reads(forward.node.body, frozenset(outputs), holds_output))
        return bool(reads) and all(reads)

    # -- data flow -------------------------------------------------------------------------
    def flow(self, expr: cst.CSTNode | None, keys: frozenset[str], scope: Scope) -> Flow:
        """How the value of ``expr`` depends on the graph of the state held in ``keys``."""
        if expr is None:
            return Flow.FRESH
        key = key_of(expr)
        if key is not None:
            if key in keys:
                return Flow.CARRIED
            derived = self._temporary_flow(key, keys, scope)
            if derived is not None:
                return derived
            if isinstance(expr, cst.Attribute):
                inner = self.flow(expr.value, keys, scope)
                if expr.attr.value == "data" and inner is not Flow.FRESH:
                    return Flow.DETACHED
                return inner
            return Flow.FRESH
        if isinstance(expr, cst.Call):
            return self._call_flow(expr, keys, scope)
        if isinstance(expr, cst.IfExp):  # the value is one of the branches; the test is not part of it
            return _combine(self.flow(branch, keys, scope) for branch in alternatives(expr))
        if isinstance(expr, (cst.GeneratorExp, cst.ListComp, cst.SetComp)):
            return self._comprehension_flow(expr, keys, scope)
        if isinstance(expr, cst.Attribute):
            inner = self.flow(expr.value, keys, scope)
            return Flow.DETACHED if expr.attr.value == "data" and inner is not Flow.FRESH else inner
        return _combine(self.flow(child, keys, scope) for child in _value_children(expr))

    @functools.cached_property
    def _temporaries(self) -> dict[tuple[int, str], list[AssignSite]]:
        """Single-name assignments by (scope, name), recurrent calls' results aside."""
        recurrent = {id(c.site.node) for c in self.recurrent_calls}
        found: dict[tuple[int, str], list[AssignSite]] = {}
        for site in self.assignments:
            if len(site.targets) == 1 and isinstance(site.targets[0], cst.Name) and site.value is not None \
                    and id(site.value) not in recurrent:
                found.setdefault((id(site.scope), site.targets[0].value), []).append(site)
        return found

    def _temporary_flow(self, key: str, keys: frozenset[str], scope: Scope) -> Flow | None:
        """``h0 = Variable(h[0].data)`` then ``h = (h0, c0)``: a name computed from the state carries (or cuts)
        its graph as its value does. None when no assignment of ``key`` in ``scope`` reads the state."""
        sites = self._temporaries.get((id(scope), key))
        mark = (id(scope), key, keys)
        if not sites or mark in self._in_flow or not any(mentions(s.value, keys) for s in sites):
            return None
        self._in_flow.add(mark)
        try:
            return _combine(self.flow(s.value, keys, scope) for s in sites if mentions(s.value, keys))
        finally:
            self._in_flow.discard(mark)

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
            if keys.intersection(site.target_keys) and not self.binds_result(call.site, site)
        ]
        for site in self._sites_in_loop[id(loop)][1]:
            if method_name(site.node) == "detach_" and keys.intersection(referenced_keys(receiver(site.node))):
                found.append((site.node, Flow.DETACHED))
        return found

    def output_target(self, site: CallSite) -> cst.BaseExpression | None:
        """The target that receives a call's first result (a recurrent module's output): ``out`` in ``out, h =
        f(x)``, in ``out = f(x)[0]``, or in ``r = f(x)`` then ``out = r[0]`` (read once, as the call left it)."""
        target = site.target
        if isinstance(target, cst.Tuple):
            return target.elements[0].value if len(target.elements) == 2 else None
        if target is None:
            direct = [a for a, _, path in self.index_reads.get(id(site.node), ()) if path == (0,)]
            return direct[0].targets[0] if len(direct) == 1 else None
        reads = self.result_reads(site).get(0, []) if isinstance(target, cst.Name) else []
        return reads[0].targets[0] if len(reads) == 1 else None

    def output_definition(self, site: CallSite) -> cst.CSTNode | None:
        """The statement that binds ``output_target`` (what ``reaching`` names it by)."""
        output = self.output_target(site)
        return self.definition(site.target if isinstance(site.target, cst.Tuple) else output) if output else None

    def binds_result(self, site: CallSite, assign: AssignSite) -> bool:
        """``assign`` binds what the call at ``site`` returns: its own statement (``out, h = f(x, h)``, or the tuple
        it is unpacked from) or an indexed read of its result (``h = result[1]``)."""
        return assign.value is site.node or assign.value is site.unpacked_from or any(
            assign in reads for reads in self.result_reads(site).values())

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

    def reaching(self, read: cst.CSTNode, key: str, scope: Scope) -> frozenset[int] | None:
        """The statements whose ``key`` may reach ``read``, a read in ``scope``'s own body (see reaching.py)."""
        flow = self._flows.get(id(scope))
        if flow is None:
            node = scope.node
            body = () if node is None else node.body if isinstance(node, cst.Module) else node.body.body
            flow = self._flows[id(scope)] = ReachingDefinitions(body)
        return flow.reaching(read, key)

    def holds(self, read: cst.CSTNode, key: str, scope: Scope, definition: cst.CSTNode) -> bool:
        """``read`` of ``key`` (both in ``scope``'s body) sees the value ``definition`` gave it and no other;
        when the read cannot be placed, when ``definition`` is the only assignment of ``key`` there."""
        reaching = self.reaching(read, key, scope)
        if reaching is None:
            return sum(key in s.target_keys for s in self._assignments_by_scope.get(id(scope), ())) == 1
        return reaching == {id(definition)}

    def holders(self, key: str, scope: Scope, definition: cst.CSTNode, depth: int = 2) -> list[Holder]:
        """``key`` as ``definition`` left it in ``scope``, and the parameters of this file's functions it is
        passed to whole (``last_step(out)`` -> ``output`` in ``last_step``), up to ``depth`` calls down."""
        found = frontier = [Holder(key, scope, definition)]
        for _ in range(depth):
            passed = []
            for holder in frontier:
                for site in self._calls_passing.get((id(holder.scope), holder.key), ()):
                    function = self.callee_function(site.node, site.scope)
                    if function is None or function.summary is not None or function is holder.scope:
                        continue
                    passed += [Holder(param, function, None) for param, arg in
                               self.bound_arguments(site, function).items()
                               if key_of(arg) == holder.key and self.holds_value(arg, holder)]
            found, frontier = found + passed, passed
        return found

    @functools.cached_property
    def _calls_passing(self) -> dict[tuple[int, str], list[CallSite]]:
        """The calls of each scope by the names and attributes they pass whole as arguments (once per file: a long
        module asked about each of its outputs would otherwise scan all its calls each time)."""
        found: dict[tuple[int, str], list[CallSite]] = {}
        for site in self.calls:
            for key in dict.fromkeys(k for arg in site.node.args if (k := key_of(arg.value)) is not None):
                found.setdefault((id(site.scope), key), []).append(site)
        return found

    def holds_value(self, read: cst.CSTNode, holder: Holder) -> bool:
        """``read`` of ``holder.key`` in ``holder.scope`` sees the held value and no other."""
        if holder.definition is not None:
            return self.holds(read, holder.key, holder.scope, holder.definition)
        reaching = self.reaching(read, holder.key, holder.scope)
        if reaching is None:
            return not any(holder.key in s.target_keys for s in self._assignments_by_scope.get(id(holder.scope), ()))
        return reaching == {ENTRY}

    def definition(self, target: cst.BaseExpression) -> cst.CSTNode | None:
        """The statement that binds an assignment target (what ``reaching`` names it by)."""
        return self._definitions.get(id(target))

    @functools.cached_property
    def _definitions(self) -> dict[int, cst.CSTNode]:
        return {id(target): site.node for site in self.assignments for target in site.targets}

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
            return self.method_of(self.classes[binding.detail], name) if binding.kind == "instance" else None
        if name in _MODULE_API:
            return None  # ``self.model.train()`` is nn.Module.train (a mode switch), not the file's own ``train``
        owners = [cls.methods[name] for cls in self.classes.values() if name in cls.methods]
        return owners[0] if len(owners) == 1 and not name.startswith("__") else None

    def fresh_state(self, value: cst.BaseExpression | None, scope: Scope) -> bool:
        """A state made anew: ``torch.zeros(...)``, ``torch.zeros(...).to(device)``, an ``init_hidden``-style call
        (same file, or inherited), or a tuple or list of such (an LSTM's ``(h0, c0)``)."""
        if isinstance(value, (cst.Tuple, cst.List)):
            return bool(value.elements) and all(self.fresh_state(e.value, scope) for e in value.elements)
        if not isinstance(value, cst.Call):
            return False
        if self.qualify(value.func) in TENSOR_FACTORIES:
            return True
        if method_name(value) in STATE_MOVES:
            return self.fresh_state(receiver(value), scope)
        function = self.method_called(value, scope)
        return function is not None and self.is_state_initialiser(function)

    @staticmethod
    def is_state_initialiser(function: Scope) -> bool:
        """Named like ``init_hidden`` / ``initial_state`` / ``zero_state``."""
        return names_state_initialiser(function.name)

    def returns_state_pair(self, function: Scope) -> bool:
        """An ``init_hidden``-style function whose every return is a 2-tuple: an LSTM's ``(h0, c0)``."""
        if function.summary is not None:
            return function.summary.returns_pair
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

        kinds_by_key: dict[tuple[str, str | None], set[str]] = {}
        for module in self.recurrent_modules:  # ``self.rnn = nn.LSTM(...)`` in one branch, ``nn.GRU`` in another
            kinds_by_key.setdefault(_module_key(module.key, module.scope), set()).add(module.kind)
        for call in self.recurrent_calls:
            target, scope = call.site.target, call.site.scope
            kind = call.callee.recurrent_kind
            second = _second(target)
            read_back = self.result_reads(call.site).get(1, [])  # ``result = lstm(x, s)`` then ``s = result[1]``
            if second is None and len(read_back) == 1:
                second = read_back[0].targets[0]
                producers.add(id(read_back[0].value))
            if call.callee.kind == "module" and holds_tuple(kind):
                if len(kinds_by_key.get(_module_key(key_of(call.site.node.func), scope), ())) > 1:
                    continue
                add(key_of(call.state_arg), scope)
                self._fed_states.add((owner(key_of(call.state_arg) or "", scope), key_of(call.state_arg)))
                result = target if kind == "LSTMCell" else second
            elif call.callee.kind == "instance" and call.callee.cls is not None:
                forward = call.callee.cls.methods.get("forward")
                returned = [_second(r) for r in forward.returns] if forward is not None else []
                held = candidates.get(str(id(forward)), set())
                passes_tuple = (forward.summary.returns_state_tuple if forward is not None and forward.summary
                                else bool(returned) and all(key_of(r) in held for r in returned))
                result = second if passes_tuple else None
            else:
                if key_of(call.state_arg) is not None and key_of(call.state_arg) == key_of(second):
                    producers.add(id(call.site.node))  # ``out, h = f(x, h)`` hands the state back as it came
                continue
            if key_of(result) is not None:
                add(key_of(result), scope)
                producers.add(id(call.site.node))
                if call.site.unpacked_from is not None:  # ``r = lstm(x, s)`` then ``out, s = r``
                    producers.add(id(call.site.unpacked_from))
        for site in self.assignments:
            function = self.method_called(site.value, site.scope) if isinstance(site.value, cst.Call) else None
            if function is None or len(site.targets) != 1:
                continue
            when = "" if self.returns_state_pair(function) else self._reachable_pair(function, site)
            if when is not None:
                add(key_of(site.targets[0]), site.scope)
                producers.add(id(site.value))
                self._pair_initialisers.add(id(site.value))
                if when:
                    self.tuple_conditions[(owner(key_of(site.targets[0]) or "", site.scope),
                                           key_of(site.targets[0]))] = when
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

    def tuple_at(self, key: str, site: CallSite) -> bool:
        """``key`` holds an LSTM tuple from an initialiser where ``site`` reads it, by the assignments that reach
        it: the last one before it in the function and, inside a loop, the ones later in the loop's body (a
        later ``out, key = model(x, key)`` elsewhere does not change what this read sees)."""
        _ = self._tuple_states
        if any(_is_builtin_call(c.node, "isinstance") and key_of(next(iter(positional_args(c.node)), None)) == key
               for c in self.calls_in(site.scope)):
            return False  # the code tells the cases apart itself
        defs = [a for a in self._assignments_by_scope.get(id(site.scope), ()) if key in a.target_keys
                and not any(n is site.node for n in descendants(a.value) if a.value is not None)]
        before = [a for a in defs if a.index < site.index]
        reaching = before[-1:] + [a for a in defs if a.index > site.index and site.loop is not None
                                  and a.loop is not None and site.loop.encloses(a.loop)]
        return bool(reaching) and all(
            a.value is not None and id(a.value) in self._pair_initialisers and key_of(a.targets[0]) == key
            for a in reaching)

    def state_position(self, function: Scope) -> int | None:
        """Where ``function``'s returns put the state its recurrent layer hands back: ``return out, hidden`` -> 1,
        ``return out, context, hidden, attn`` -> 2, ``return self.gru(x)`` -> 1; None unless every return agrees."""
        if function.summary is not None:
            return function.summary.state_position
        inner = [c for c in self.recurrent_calls if c.site.scope is function]
        states = frozenset(k for c in inner for k in c.result_keys)
        positions = set()
        for value in function.returns:
            if isinstance(value, cst.Tuple):
                elements = [e.value for e in value.elements]
                found = [i for i, e in enumerate(elements) if _is_state_value(e, states)] or [
                    i for i, e in enumerate(elements) if states.intersection(referenced_keys(e))]
                positions.add(found[0] if len(found) == 1 else None)
            else:
                whole = any(c.site.node is value and not is_cell(c.callee.recurrent_kind) for c in inner)
                positions.add(1 if whole else None)
        return positions.pop() if len(positions) == 1 else None

    def returns_tuple_state(self, function: Scope) -> bool:
        """``return out, (h, c)`` where ``(h, c)`` is an LSTM's state: callers receive the tuple."""
        if function.summary is not None:
            return function.summary.returns_state_tuple
        returned = [_second(r) for r in function.returns]
        held = self._tuple_states.get(str(id(function)), frozenset())
        return bool(returned) and all(key_of(r) in held for r in returned)

    @functools.cached_property
    def options(self) -> dict[str, values.Option]:
        return values.options(self)

    @functools.cached_property
    def namespaces(self) -> frozenset[str]:
        return values.namespaces(self)

    def pair_condition(self, function: Scope) -> tuple[str, str] | None:
        """An initialiser that returns ``(h0, c0)`` only under ``if self.model == "lstm":`` -> ("model", "lstm")."""
        if function.summary is not None:
            return function.summary.pair_when
        if not self.is_state_initialiser(function):
            return None
        pairs = [test for r, test in zip(function.returns, function.return_tests)
                 if isinstance(r, cst.Tuple) and len(r.elements) == 2]
        if not pairs or len(pairs) == len(function.returns):
            return None
        conditions = {values.attribute_equals(test) for test in pairs}
        return conditions.pop() if len(conditions) == 1 and None not in conditions else None

    def attr_param(self, cls: ClassInfo, attr: str) -> tuple[str, str | None] | None:
        """``self.model = model.lower()`` in ``__init__`` -> ("model", its default "gru")."""
        if cls.summary is not None:
            param = cls.summary.attr_params.get(attr)
            init = cls.summary.methods.get("__init__")
            default = init.defaults.get(param) if init is not None and param is not None else None
            return (param, default if isinstance(default, str) else None) if param is not None else None
        init = cls.methods.get("__init__")
        if init is None or not isinstance(init.node, cst.FunctionDef):
            return None
        for site in self.assignments:
            if site.scope is init and f"self.{attr}" in site.target_keys and len(site.targets) == 1:
                value = dict(assigned_pairs(site.targets[0], site.value, False)).get(f"self.{attr}")
                while isinstance(value, cst.Call) and method_name(value) in ("lower", "upper", "strip"):
                    value = receiver(value)
                param = next((p for p in init.node.params.params if isinstance(value, cst.Name)
                              and p.name.value == value.value), None)
                if param is not None:
                    return param.name.value, values.literal(param.default)
        return None

    def constructor_choice(self, cls: ClassInfo, call: cst.Call, param: str, default: str | None,
                           scope: Scope) -> values.Choice | None:
        """What ``call`` (a construction of ``cls``) passes for the ``__init__`` parameter ``param``."""
        init = cls.methods.get("__init__")
        if init is None:
            return None
        names = init.params[1:]
        args = positional_args(call)
        given = keyword_arg(call, param)
        if given is None and param in names and names.index(param) < len(args):
            given = args[names.index(param)]
        if given is None:
            return values.Choice(frozenset({default})) if default is not None else None
        return values.choice(self, given, scope)

    def _reachable_pair(self, function: Scope, site: AssignSite) -> str | None:
        """``h = model.init_hidden(b)`` returns the LSTM pair in a configuration this project can reach: the
        condition ("with --model lstm", "" when always), or None."""
        condition = self.pair_condition(function)
        cls = function.cls
        if condition is None or cls is None or not isinstance(site.value, cst.Call):
            return None
        attr, wanted = condition
        source = self.attr_param(cls, attr)
        if source is None:
            return None
        owner = key_of(receiver(site.value))
        binding = self.lookup(owner, site.scope) if owner is not None else None
        choices = []
        if binding is not None and binding.kind == "instance" and binding.construction is not None:
            home = next((s for s in self.assignments if s.value is not None
                         and _unwrap_self_returning(s.value) is binding.construction), None)
            choices = [self.constructor_choice(cls, binding.construction, source[0], source[1],
                                               home.scope if home is not None else self.module_scope)]
        elif self.project is not None and cls.summary is not None:
            choices = self.project.constructions(self.imports.get(cls.name, cls.name), source[0], source[1])
        for found in choices:
            if found is not None and found.admits(wanted):
                return found.when(wanted)
        return None

    def tuple_condition(self, key: str, scope: Scope) -> str:
        """The configuration in which ``key`` holds an LSTM tuple ("with --model lstm"), "" when always."""
        owner = scope.cls.name if scope.cls is not None and key.startswith("self.") else str(id(scope))
        _ = self._tuple_states
        return self.tuple_conditions.get((owner, key), "")

    def tuple_state_keys(self, scope: Scope) -> frozenset[str]:
        """Keys that hold an LSTM ``(h, c)`` tuple in ``scope``: it has no tensor methods."""
        keys = self._tuple_states.get(str(id(scope)), frozenset())
        if scope.cls is not None:
            keys |= self._tuple_states.get(scope.cls.name, frozenset())
        return keys

    def holds_tuple(self, read: cst.CSTNode, scope: Scope) -> bool:
        """``read`` sees an LSTM ``(h, c)`` tuple: its key holds one in ``scope``, and the value reaching it is
        not just the incoming one of a name that is never fed to the module as its state (``out, x = lstm(x)``
        reads the input ``x`` before the tuple replaces it)."""
        key = key_of(read)
        if key is None or key not in self.tuple_state_keys(scope):
            return False
        if key.startswith("self.") or (str(id(scope)), key) in self._fed_states:
            return True
        return self.reaching(read, key, scope) != {ENTRY}

    def resets(self, loop: Loop, keys: frozenset[str], call: RecurrentCall) -> bool:
        """Inside ``loop`` the state is re-initialised, masked (``h * (1 - done)``, ``h[done] = 0``,
        ``h.zero_()``) or passed through something unknown: it may not flow on unchanged."""
        for node, flow in self.updates(loop, keys, call):
            if flow in (Flow.FRESH, Flow.OPAQUE) or _is_mask(node, keys, self):
                return True
        for site in self.assignments_in(loop):
            if any(isinstance(t, cst.Subscript) and root_key(t) in keys for t in site.targets):
                return True
        if call.held and self._resets_held(loop, keys, call):
            return True
        return any(
            method_name(site.node) in _INPLACE_RESETS and root_key(receiver(site.node)) in keys
            for site in self._sites_in_loop[id(loop)][1]
        )

    def _resets_held(self, loop: Loop, keys: frozenset[str], call: RecurrentCall) -> bool:
        """``model.reset_state()`` in the loop, for a state ``model`` keeps on itself."""
        cls = call.callee.cls
        if cls is None:
            return False
        owner = key_of(call.state_arg)
        resetting = self.resetting_methods(cls, frozenset(k.rsplit(".", 1)[1] for k in keys))
        return any(
            site.loop is not None and loop.encloses(site.loop) and method_name(site.node) in resetting
            and key_of(receiver(site.node)) == owner
            for site in self.calls
        )

    def random_order(self, loop: Loop) -> cst.Call | None:
        """The call that puts the samples ``loop`` indexes in random order: ``perm = torch.randperm(n)`` or
        ``np.random.shuffle(data)`` in the loop or before it, and ``data[perm[i]]`` / ``data[i]`` read inside."""
        scope = loop.scope
        for site in self._random_calls:
            inside = site.loop is not None and loop.encloses(site.loop)
            before = site.index < loop.index or (site.loop is not None and site.loop.encloses(loop))
            if site.scope is not scope or not (
                    (site.qualified in _RANDOM_ORDER and (inside or before)) or (site.qualified in _RANDOM_PICK
                                                                                 and inside)):
                continue
            shuffled = key_of(site.target) if site.target is not None else self._assigned_from(site)
            if shuffled is None and site.discarded:
                shuffled = root_key(positional_args(site.node)[0]) if positional_args(site.node) else None
            if shuffled is not None and self._subscripted_in(loop, shuffled):
                return site.node
        return None

    @functools.cached_property
    def _random_calls(self) -> list[CallSite]:
        return [site for site in self.calls if site.qualified in _RANDOM_ORDER or site.qualified in _RANDOM_PICK]

    def _assigned_from(self, site: CallSite) -> str | None:
        """``perm = torch.randperm(n)[:k]``: the name a call's value lands in, through an expression."""
        assignment = self.assignment_containing(site)
        return key_of(assignment.targets[0]) if assignment is not None and len(assignment.targets) == 1 else None

    def assignment_containing(self, site: CallSite) -> AssignSite | None:
        """The assignment whose value holds the call ``site``: the last one begun before the call (no statement
        lies inside an expression, so no other assignment can come between), if its value holds the call."""
        at = bisect.bisect_left(self.assignments, site.index, key=_index_of) - 1
        if at < 0:
            return None
        assignment = self.assignments[at]
        if assignment.scope is not site.scope or assignment.value is None:
            return None
        return assignment if any(node is site.node for node in descendants(assignment.value)) else None

    def _subscripted_in(self, loop: Loop, key: str) -> bool:
        """``key[...]`` or ``x[key]`` read by an assignment or a call inside ``loop``."""
        values = [s.value for s in self.assignments_in(loop) if s.value is not None]
        values += [s.node for s in self.calls if s.loop is not None and loop.encloses(s.loop)]
        return any(_subscript_mentions(v, key) for v in values)

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

    def loop_counters(self, loop: Loop) -> frozenset[str]:
        """The names ``loop`` advances each iteration: a ``for``'s targets; in a ``while``, the names its own body
        (not a nested loop's) assigns from ``next(...)`` or steps with ``+=``/``-=``."""
        if isinstance(loop.node, cst.For):
            return frozenset(flat_keys(loop.node.target))
        stepped = [site for site in self.assignments_in(loop) if site.loop is loop and site.augmented
                   and isinstance(site.node, cst.AugAssign)
                   and isinstance(site.node.operator, (cst.AddAssign, cst.SubtractAssign))]
        return frozenset(key for site in (*self._nexts(loop), *stepped) for key in site.target_keys)

    def _nexts(self, loop: Loop) -> list[AssignSite]:
        """The assignments of ``loop``'s own body (not a nested loop's) that take ``next(...)``."""
        return [site for site in self.assignments_in(loop) if site.loop is loop
                and isinstance(site.value, cst.Call) and _is_builtin_call(site.value, "next")]

    def iterated(self, loop: Loop) -> cst.BaseExpression | None:
        """What a loop iterates, through ``enumerate``/``tqdm``: ``train_loader`` in
        ``for i, batch in enumerate(train_loader, 1)``, or in a ``while`` loop that takes ``next(batches)``
        of ``batches = iter(train_loader)``, assigned once in its function."""
        node = loop.node
        source = node.iter if isinstance(node, cst.For) else self._next_of(loop)
        while isinstance(source, cst.Call) and _is_builtin_call(source, *ITER_WRAPPERS):
            args = positional_args(source)
            if not args:
                return None
            source = args[0]
        return source

    def _next_of(self, loop: Loop) -> cst.BaseExpression | None:
        """``X`` for a ``while`` loop whose body takes ``next(it)`` of an ``it = X`` assigned once in its scope."""
        taken = {key_of(positional_args(site.value)[0]) for site in self._nexts(loop) if positional_args(site.value)}
        if len(taken) != 1 or None in taken:
            return None
        (key,) = taken
        made = [site for site in self._assignments_by_scope.get(id(loop.scope), ()) if key in site.target_keys]
        return made[0].value if len(made) == 1 and len(made[0].targets) == 1 else None

    def loader_of(self, loop: Loop) -> Binding | None:
        """The ``DataLoader`` a ``for`` loop iterates (through ``enumerate``/``tqdm``), when it is bound here."""
        key = key_of(self.iterated(loop))
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


def _module_key(key: str | None, scope: Scope) -> tuple[str, str | None]:
    """A module's name as its class's methods share it (``self.rnn`` of one class is not another's)."""
    return (scope.cls.name if scope.cls is not None and key is not None and key.startswith("self.") else "", key)


def _is_state_value(value: cst.BaseExpression, states: frozenset[str]) -> bool:
    """``hidden``, ``(h, c)``, ``hidden.detach()``, ``tuple(s.detach() for s in state)``: a state as it is handed
    back, not a value computed from one (``self.head(hidden[-1])``)."""
    if isinstance(value, (cst.Tuple, cst.List)):
        return bool(value.elements) and all(_is_state_value(e.value, states) for e in value.elements)
    if isinstance(value, cst.Call) and method_name(value) in _HANDED_BACK:
        return _is_state_value(receiver(value), states)
    if isinstance(value, cst.Call) and key_of(value.func) in {"tuple", "list"} and len(value.args) == 1 \
            and isinstance(value.args[0].value, cst.GeneratorExp):
        return _is_state_value(value.args[0].value.for_in.iter, states)
    return key_of(value) in states


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
    """The assignment leaves ``key`` holding a tuple (or None), or is itself a tuple misuse (in every branch of a
    conditional expression: ``s = s.detach() if s is not None else None``)."""
    if site.value is None or id(site.value) in producers:
        return True
    return all(_keeps_tuple_value(value, site, key) for value in alternatives(site.value))


def _keeps_tuple_value(value: cst.BaseExpression, site: AssignSite, key: str) -> bool:
    if isinstance(value, cst.Name) and value.value == "None":
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


def _reads(node: cst.CSTNode, keys: frozenset[str], holds) -> Iterator[bool]:
    """One bool per read of ``keys`` under ``node`` that ``holds(read, key)`` accepts: whether it is a
    last-step subscript (``out[:, -1]``)."""
    if isinstance(node, cst.AssignTarget):
        return
    if isinstance(node, cst.Subscript) and key_of(node.value) in keys and holds(node.value, key_of(node.value)):
        yield _is_last_step(node)
        for element in node.slice:
            yield from _reads(element, keys, holds)
        return
    key = key_of(node)
    if key in keys and holds(node, key):
        yield False
        return
    for child in node.children:
        yield from _reads(child, keys, holds)


def _is_last_step(node: cst.Subscript) -> bool:
    """``out[-1]``, ``out[:, -1]``, ``out[:, -1, :]``: an index of -1 somewhere in the subscript."""
    return any(
        isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.UnaryOperation)
        and isinstance(e.slice.value.operator, cst.Minus) and isinstance(e.slice.value.expression, cst.Integer)
        and e.slice.value.expression.value == "1"
        for e in node.slice
    )


def _subscript_mentions(node: cst.CSTNode, key: str) -> bool:
    return any(isinstance(n, cst.Subscript) and key in referenced_keys(n) for n in descendants(node))


def _stub_scope(summary: FunctionSummary, cls: ClassInfo | None) -> Scope:
    """A function of another module, as far as its summary tells."""
    return Scope(node=None, name=summary.name, parent=None, cls=cls, params=list(summary.params),
                 detaches=summary.detaches, calls_backward=summary.calls_backward,
                 is_recurrent_step=summary.is_recurrent_step, state_kind=summary.state_kind, summary=summary)
