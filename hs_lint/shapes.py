"""Configuration and shape facts for recurrent modules: what the HS2xx rules compare.

Built lazily, once per file, as ``FileFacts.shapes`` (only when a shape rule runs), on top of the
facts the file already has: recurrent constructions, bindings, recurrent calls. Nothing here
imports torch; values are resolved statically and whatever cannot be resolved stays *symbolic*.

The data API (stable; the runtime checker rebuilds cases from it):

``Dim``
    One size: ``coeff`` times a product of ``Sym`` factors. ``Dim(2)`` is the int 2;
    ``Dim(2, (Sym("cfg.layers"),))`` is ``2*cfg.layers``. ``value`` is the int when there are no
    factors; ``differs(other)`` is True only when the two are *provably* different (same factors,
    different coefficient); ``as_data()`` gives an int or the symbolic text.
``Sym``
    An unresolved name or expression. ``key`` is its identity (scope-qualified, so the same
    parameter read through ``self.x = x`` and directly compares equal), ``text`` how it reads in
    the source; ``tensor``/``axis`` are set for ``x.size(k)``, ``x.shape[k]``, ``len(x)``.
``ModuleConfig``
    One construction of ``nn.RNN/LSTM/GRU`` or a cell, arguments resolved in torch's order for its
    class (``hs_lint.torch_api.parameters``): ``input_size``, ``hidden_size``, ``num_layers``, ``proj_size`` as
    ``Dim``; ``batch_first``, ``bidirectional``, ``bias`` as bool; ``dropout`` as float;
    ``nonlinearity`` as str; ``None`` wherever it is unknown (``**kwargs``, a non-literal flag).
    ``as_data()`` gives the constructor keywords (ints/bools/floats, or symbolic text).
``TensorShape``
    A tensor whose construction is visible (``torch.zeros(...)``, ``x.new_zeros(...)``,
    ``weight.new(...).zero_()``, ``zeros_like``, ``view``/``reshape``, ``permute``/``transpose``):
    ``dims`` (a ``Dim`` or None per axis; ``dims`` is None when only the last axis is known) and
    ``feature`` (the last axis). ``node`` is the expression that builds it.
``StateForm``
    One way a call's hidden state is built: ``parts`` (one ``TensorShape`` or None per tensor) and
    ``is_tuple`` (an ``(h, c)`` tuple rather than one tensor).
``StateUse``
    A recurrent module call, the ``ModuleConfig`` of its module, every traced ``StateForm`` of
    its state argument (``forms``; alternatives when branches build it differently) and the
    ``TensorShape`` of its input when visible. ``as_data(form)`` is what an HS2xx ``Violation``
    carries in ``data``: ``{"module": ModuleConfig.as_data(), "state": [[dims of h0], [dims of c0]],
    "state_is_tuple": bool, "input": [dims], "input_feature": its last dim}`` with ints where
    resolved and source text where not;
    HS207/HS208 add ``"expression"`` (the indexing or reshaping source) and ``"of"`` (``"output"`` or
    ``"h_n"``); HS209 carries ``{"module": ...}`` only.

``ShapeFacts`` (``FileFacts.shapes``) holds ``modules`` (``ModuleConfig`` by id of the
construction call), ``uses`` (``StateUse`` per direct call of a known module), ``outputs``
(the names bound to a call's output and h_n), and answers ``value(expr, scope)`` (resolve any
expression), ``certain(module, name)`` (a configuration value that does not rest on a parameter
default no same-file call passes) and ``loaders(use)`` (the ``DataLoader`` calls feeding a use).

Resolution order for a name: its assignments in its own scope (all must agree), else, for a
parameter, the argument every same-file call passes (else its default), else a symbol; ``self.x``
through every ``self.x = ...`` of the class; ``cfg.x`` through a same-file config class (class
attributes, dataclass fields, keyword overrides at its construction); ``self.rnn.hidden_size``
through the module's configuration.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from hs_lint.facts import (_TORCH_RECURRENT, ITER_WRAPPERS, Binding, CallSite, ClassInfo,
                           FileFacts, Holder, Loop, RecurrentCall, Scope)
from hs_lint.names import argument, assigned_pairs, int_literal, key_of, keyword_arg, method_name, positional_args, receiver
from hs_lint.reaching import ENTRY
from hs_lint.torch_api import BATCH_ITERATORS, DEFAULTS, BatchIterator, is_cell, known_kind, parameters, positional
from hs_lint.tree_edit import name_reads, paths_to, replaced
from hs_lint.mappings import Loaded, Mappings
from hs_lint.project.summary import Constant

_SIZE_PARAMS = frozenset({"input_size", "hidden_size", "num_layers", "proj_size"})

_FACTORIES = frozenset(f"torch.{n}" for n in ("zeros", "ones", "randn", "rand", "empty", "full"))
_NEW_FACTORIES = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new"})
_LIKE = frozenset(f"torch.{n}_like" for n in ("zeros", "ones", "randn", "rand", "empty", "full"))
# Calls and methods that return their (first) argument's tensor with the same shape.
_SAME_SHAPE_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "long", "int", "bool", "contiguous", "clone",
     "detach", "detach_", "zero_", "requires_grad_", "type_as", "normal_", "uniform_", "fill_"}
)
_WRAPPERS = frozenset({"torch.autograd.Variable", "torch.nn.Parameter", "torch.nn.parameter.Parameter"})
# Layers whose output keeps the input's leading axes; for some, the width of the last one.
_LAYERS = {"torch.nn.Embedding": ("embedding_dim", 1), "torch.nn.Linear": ("out_features", 1)}
LEADING_AXES_KEPT = frozenset({*_LAYERS, "torch.nn.Dropout"})


def layer_width(qualified: str, construction: cst.Call) -> cst.BaseExpression | None:
    """The argument that sets the last axis of a layer's output (``nn.Embedding(v, e)`` -> ``e``), if given."""
    layer = _LAYERS.get(qualified)
    if layer is None:
        return None
    given = keyword_arg(construction, layer[0])
    positional = positional_args(construction)
    return positional[layer[1]] if given is None and len(positional) > layer[1] else given


_BATCH_NAME = re.compile(r"(^|_)(b|bs|bsz|batch|batch_?size|batchsize|n_?batch(es)?|num_?batch(es)?)$", re.I)
_MAX_DEPTH = 40
_UNBUILT = object()  # a class no other module of the project builds
_COMPARISONS = {cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
                cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge}


@dataclass(frozen=True)
class Sym:
    key: str
    text: str = field(compare=False)
    tensor: str | None = field(default=None, compare=False)  # ``x`` for ``x.size(k)`` (scope-qualified)
    axis: int | None = field(default=None, compare=False)
    # the read of ``x`` and its scope: which version of x the size was taken from (``facts.reaching``)
    read: tuple[cst.CSTNode, Scope] | None = field(default=None, compare=False, repr=False)

    @property
    def looks_like_batch(self) -> bool:
        return self.axis is not None or looks_like_batch(self.text)


def looks_like_batch(text: str) -> bool:
    """``batch_size``, ``self.bsz``, ``B``: a name that says it is the batch size."""
    return bool(_BATCH_NAME.search(text.rsplit(".", 1)[-1]))


@dataclass(frozen=True)
class Dim:
    coeff: int
    factors: tuple[Sym, ...] = ()

    def __mul__(self, other: Dim) -> Dim:
        return Dim(self.coeff * other.coeff, tuple(sorted(self.factors + other.factors, key=lambda s: s.key)))

    @property
    def value(self) -> int | None:
        return None if self.factors else self.coeff

    def differs(self, other: Dim | None) -> bool:
        """Provably different: the same symbols with another coefficient (or two different ints)."""
        return other is not None and self.factors == other.factors and self.coeff != other.coeff

    @property
    def sym(self) -> Sym | None:
        return self.factors[0] if self.coeff == 1 and len(self.factors) == 1 else None

    def as_data(self) -> int | str:
        return self.coeff if not self.factors else str(self)

    def __str__(self) -> str:
        parts = [str(self.coeff)] if self.coeff != 1 or not self.factors else []
        return "*".join(parts + [f.text for f in self.factors])


Value = Dim | bool | float | str | None


@dataclass(eq=False)
class ModuleConfig:
    kind: str
    node: cst.Call | None  # None: built in another file (its summary gave the values)
    scope: Scope | None
    args: dict[str, cst.BaseExpression]  # the expression given for each parameter
    values: dict[str, Value]  # resolved (or default) value per parameter; None = unknown
    # built in another file: the values that rest on no parameter default nobody passes (``certain``)
    certain_values: dict[str, Value] | None = None

    @property
    def is_cell(self) -> bool:
        return is_cell(self.kind)

    def dim(self, name: str) -> Dim | None:
        value = self.values.get(name)
        return value if isinstance(value, Dim) else None

    def flag(self, name: str) -> bool | None:
        value = self.values.get(name)
        return value if isinstance(value, bool) else None

    @property
    def state_layers(self) -> Dim | None:
        """num_layers * num_directions: the first dimension of h0/c0."""
        layers, bidirectional = self.dim("num_layers"), self.flag("bidirectional")
        if layers is None or bidirectional is None:
            return None
        return layers * Dim(2 if bidirectional else 1)

    def state_size(self, part: int) -> Dim | None:
        """The last dimension of state part ``part``: proj_size for an LSTM's h when it projects."""
        proj = self.dim("proj_size")
        if part == 0 and self.kind == "LSTM" and (proj is None or proj.value != 0):
            return proj
        return self.dim("hidden_size")

    @property
    def output_size(self) -> Dim | None:
        size, bidirectional = self.state_size(0), self.flag("bidirectional")
        if size is None or bidirectional is None or self.is_cell:
            return size if self.is_cell else None
        return size * Dim(2 if bidirectional else 1)

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind}
        for name in parameters(self.kind):
            value = self.values.get(name)
            data[name] = value.as_data() if isinstance(value, Dim) else value
        return data


@dataclass(frozen=True)
class TensorShape:
    node: cst.CSTNode = field(repr=False)
    dims: tuple[Dim | None, ...] | None
    texts: tuple[str, ...] = ()
    feature: Dim | None = None

    @property
    def rank(self) -> int | None:
        return None if self.dims is None else len(self.dims)

    def as_data(self) -> list[int | str | None] | None:
        if self.dims is None:
            return None
        return [d.as_data() if d is not None else t for d, t in zip(self.dims, self.texts)]


@dataclass(frozen=True)
class StateForm:
    node: cst.CSTNode = field(repr=False)
    parts: tuple[TensorShape | None, ...]
    is_tuple: bool

    def as_data(self) -> list[object]:
        return [p.as_data() if p is not None else None for p in self.parts]


@dataclass(frozen=True)
class LoaderUse:
    """A batch iterator a loop runs over, as its construction gives it (None: not known; ``drop_last`` is False
    when it is not given)."""

    model: BatchIterator
    batch_size: Value
    drop_last: Value
    sorted_within: Value  # a torchtext batch comes sorted longest first (``BatchIterator.order``); else None
    loop: Loop


@dataclass(eq=False)
class StateUse:
    call: RecurrentCall
    module: ModuleConfig
    key: str  # how the code names the module: ``self.lstm``
    forms: list[StateForm]
    input: TensorShape | None
    input_key: str | None  # the input tensor's scope-qualified key, for ``x.size(k)`` comparisons

    @property
    def batch_axis(self) -> int | None:
        """Where the batch is in the (batched) input."""
        if self.module.is_cell:
            return 0
        batch_first = self.module.flag("batch_first")
        return None if batch_first is None else (0 if batch_first else 1)

    def as_data(self, form: StateForm | None = None) -> dict[str, object]:
        return {
            "module": self.module.as_data(),
            "state": form.as_data() if form is not None else None,
            "state_is_tuple": form.is_tuple if form is not None else None,
            "input": self.input.as_data() if self.input is not None else None,
            "input_feature": _dim_data(self.input.feature) if self.input is not None else None,
        }


@dataclass(frozen=True)
class Output:
    """Names a module call's results are bound to: ``out, (h_n, c_n) = self.lstm(x)``."""

    use: StateUse
    output: str | None
    h_n: str | None
    definition: cst.CSTNode  # the statement binding them: a later read holds them only if it alone reaches it
    state_definition: cst.CSTNode | None = None  # h_n's, when another statement binds it (``h_n = result[1]``)

    def holders(self, facts: FileFacts, role: str) -> list[Holder]:
        """Where the output (``role`` "output") or h_n ("h_n") is held: its name here until re-bound, and the
        parameters of helpers it is passed to."""
        key = self.output if role == "output" else self.h_n
        definition = self.definition if role == "output" else self.state_definition or self.definition
        return facts.holders(key, self.use.call.site.scope, definition) if key is not None else []


class ShapeFacts:
    """Every recurrent construction's configuration and the shapes of what is fed into it."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self._assigned: dict[tuple[int, str], list[tuple[cst.BaseExpression, cst.CSTNode]]] = {}
        # ``b, t = x.shape``: (scope, name, statement) -> the size it unpacks, ``x.shape[0]`` (``assigned`` has None)
        self._sizes: dict[tuple[int, str, int], cst.Subscript] = {}
        self._loop_targets: dict[int, set[str]] = {}
        self._active: set[tuple[int, int]] = set()
        self._tracing: set[tuple[int, str]] = set()
        self._trust_defaults = True
        # (id of the defining statement, key) -> the construction whose output it binds: ``out, h = lstm(x)``
        self._outputs: dict[tuple[int, str], cst.Call] = {}
        self._callers: dict[int, list] | None = None
        self._sites: dict[int, CallSite] | None = None
        # (id(binding), id(reading class)) -> a configuration from another file
        self._imported: dict[tuple[int, int], ModuleConfig] = {}
        # id(class) -> (file, arguments) of its constructions in other modules
        self._elsewhere: dict[int, list[tuple[str, dict[str, dict]]]] = {}
        # Traces already made, by (expression, scope, depth): a name assigned many times in one scope would
        # otherwise be re-traced through every path to the depth limit (exponential in the depth).
        self._traced: dict[tuple[int, int, int], list[StateForm]] = {}
        self._shaped: dict[tuple[int, int, int], TensorShape | None] = {}
        self._state_batches: dict[int, str | None] = {}  # id(function) -> ``state_batch``
        self._split_positions: dict[tuple[int, str], int] = {}  # (id of a splits call, name) -> its position
        self._index()
        self.mappings = Mappings(facts, self._traced_sources)
        self.modules: dict[int, ModuleConfig] = {}
        for site in facts.calls:
            kind = _TORCH_RECURRENT.get(site.qualified or "")
            if kind is not None and id(site.node) not in self.modules:
                self.modules[id(site.node)] = self._config(kind, site.node, site.scope)
        for module in facts.recurrent_modules:  # built through an alias: ``Cell = nn.LSTM; Cell(...)``
            if id(module.node) not in self.modules:
                self.modules[id(module.node)] = self._config(module.kind, module.node, module.scope)
        for call in facts.recurrent_calls:
            self._record_output(call)
        self.uses = [use for call in facts.recurrent_calls if (use := self._use(call)) is not None]
        self.outputs = [out for use in self.uses if (out := self._output(use)) is not None]

    # -- indexes ---------------------------------------------------------------------------
    def _index(self) -> None:
        recurrent_results = {id(c.site.node) for c in self.facts.recurrent_calls}
        for site in self.facts.assignments:
            for target in site.targets:
                for key, size in _sizes_unpacked(target, site.value):
                    self._sizes[(id(site.scope), key, id(site.node))] = size
                for key, value in self._splits(target, site.value, site.scope) or assigned_pairs(
                        target, site.value, site.augmented):
                    if value is not None and id(value) in recurrent_results:
                        value = None  # the module's own result: shaped by torch, not by the code
                    self._assigned.setdefault((id(site.scope), key), []).append((value, site.node))
        for loop in self.facts.loops:
            if isinstance(loop.node, cst.For):
                for key in _target_keys(loop.node.target):
                    self._loop_targets.setdefault(id(loop.scope), set()).add(key)

    def _splits(self, target: cst.BaseExpression, value: cst.BaseExpression | None, scope: Scope) -> list[
            tuple[str, cst.BaseExpression | None]]:
        """An unpacking whose names hold batch iterators the call builds: each of ``train_it, test_it =
        BucketIterator.splits(...)`` (the call stands for each: its keywords are theirs), the ``loader`` of
        ``dataset, loader = make_loader(opts)`` (the call stands for it: ``returned_loader``)."""
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, cst.Name):
            held = self.facts.temporary_value(value, scope)  # ``result = splits(...)``, then ``a, b = result``
            value = held if isinstance(held, cst.Call) and self._splits_call(held) else value
        if not isinstance(target, (cst.Tuple, cst.List)) or not isinstance(value, cst.Call):
            return []
        if self._splits_call(value):
            for index, element in enumerate(target.elements):
                for key in _target_keys(element.value):
                    self._split_positions[(id(value), key)] = index
            return [(key, value) for key in _target_keys(target)]
        function = self.facts.callee_function(value, scope)
        position = self._loader_position(function) if function is not None else None
        if position is None or not 0 <= position < len(target.elements) or any(
                isinstance(e, cst.StarredElement) for e in target.elements):
            return []
        return [(key, value if index == position else None) for index, element in enumerate(target.elements)
                for key in _target_keys(element.value)]

    def _splits_call(self, call: cst.Call) -> bool:
        """``BucketIterator.splits(...)``: several iterators, one per dataset, each built with the call's keywords."""
        qualified = self.facts.qualify(call.func) or ""
        return qualified.endswith(".splits") and qualified in BATCH_ITERATORS

    def assigned(self, key: str, scope: Scope) -> list[tuple[cst.BaseExpression | None, cst.CSTNode]]:
        """The values ``key`` is assigned in ``scope`` (None where an unpacking hides it), with their statements."""
        return self._assigned.get((id(scope), key), [])

    def home(self, name: str, scope: Scope) -> Scope | None:
        """The scope whose local ``name`` is (assigned, a parameter, a loop variable)."""
        current: Scope | None = scope
        while current is not None:
            if (id(current), name) in self._assigned or name in current.params or name in self._loop_targets.get(
                id(current), ()
            ):
                return current
            current = current.parent
        return None

    def reaching(self, read: cst.CSTNode | None, key: str, scope: Scope) -> frozenset[int] | None:
        """The statements whose ``key`` may reach ``read`` in ``scope`` (``ENTRY``: the incoming value); None
        when the read cannot be placed (no read given, or a name of an enclosing function)."""
        if read is None or (not key.startswith("self.") and self.home(key.split(".", 1)[0], scope) is not scope):
            return None
        return self.facts.reaching(read, key, scope)

    def _reaching_assignments(
        self, key: str, home: Scope, read: cst.CSTNode | None, scope: Scope
    ) -> tuple[list[tuple[cst.BaseExpression | None, cst.CSTNode]], bool]:
        """The assignments of ``key`` in ``home`` that can reach ``read``, and whether a value from elsewhere
        can (a parameter's argument, ``self.x`` from another method, a loop or ``with`` target). A read that
        cannot be placed sees every assignment."""
        assigned = self.assigned(key, home)
        incoming = key.startswith("self.") or key in home.params
        reaching = self.reaching(read, key, scope) if home is scope else None
        if reaching is None:
            return assigned, incoming or not assigned
        kept = [(v, n) for v, n in assigned if id(n) in reaching]
        other = len(reaching - {ENTRY}) > len({id(n) for _, n in kept})
        return kept, (incoming and ENTRY in reaching) or other

    def qualified_key(self, key: str, scope: Scope, depth: int = 0) -> str:
        """``key`` named by its home scope; a helper's parameter that every same-file caller fills with the
        same name or attribute is that argument (``h0 = init(x)`` with ``def init(x)``: the caller's ``x``)."""
        head, dot, rest = key.partition(".")
        if head == "self" and scope.cls is not None:
            return f"{scope.cls.name}:{key}"
        home = self.home(head, scope)
        passed = self._passed_through(home, head) if home is not None and depth < 4 else None
        if passed is not None:
            argument, caller = passed
            return self.qualified_key(argument + dot + rest, caller, depth + 1)
        return f"{id(home) if home is not None else '?'}:{key}"

    def _passed_through(self, function: Scope, name: str) -> tuple[str, Scope] | None:
        """The name or attribute every same-file caller passes for the parameter ``name`` (never reassigned)."""
        if name not in function.params or (function.is_method and function.params[0] == name) or (
                (id(function), name) in self._assigned):
            return None
        sites = self.callers(function)
        passed = {(key_of(arg), id(site.scope)): site.scope for site, arg in
                  ((site, self.facts.bound_arguments(site, function).get(name)) for site in sites)}
        if not sites or len(passed) != 1:
            return None
        ((argument, _), caller), = passed.items()
        return (argument, caller) if argument is not None and caller is not function else None

    def _sym(self, key: str, scope: Scope, text: str | None = None) -> Dim:
        return Dim(1, (Sym(self.qualified_key(key, scope), text or key),))

    def callers(self, function: Scope) -> list:
        """Same-file call sites of a function, a method (``self.m``/``obj.m``) or a class (``__init__``)."""
        if self._callers is None:
            self._callers = {}
            for site in self.facts.calls:
                target = self.called_function(site.node, site.scope)
                if target is not None:
                    self._callers.setdefault(id(target), []).append(site)
        return self._callers.get(id(function), [])

    def called_function(self, call: cst.Call, scope: Scope) -> Scope | None:
        facts = self.facts
        function = facts.callee_function(call, scope)
        if function is not None:
            return function
        func = call.func
        if isinstance(func, cst.Name) and func.value in facts.classes:
            return facts.method_of(facts.classes[func.value], "__init__")
        key = key_of(func)
        if key is None:
            return None
        binding = facts.lookup(key, scope)
        if binding is not None and binding.kind == "instance":
            return facts.method_of(facts.classes[binding.detail], "forward")
        head, _, name = key.rpartition(".")
        owner = facts.lookup(head, scope) if head else None
        if owner is not None and owner.kind == "instance":
            return facts.method_of(facts.classes[owner.detail], name)
        return None

    def certain_value(self, expr: cst.BaseExpression | None, scope: Scope) -> Value:
        """Like ``value``, but a parameter that no same-file call passes stays a symbol, whatever its
        default: callers elsewhere may override it."""
        self._trust_defaults = False
        try:
            return self.value(expr, scope)
        finally:
            self._trust_defaults = True

    def certain(self, module: ModuleConfig, name: str) -> Value:
        """A configuration value that does not rest on a parameter default: for claims made from the
        configuration alone (HS207-HS209), where no state or input built in the file backs them. A module
        whose construction the default run does not reach has none."""
        if module.node is not None and not self._built_by_default(module.node):
            return None
        if module.certain_values is not None:
            return module.certain_values.get(name)
        if name not in module.args:
            return module.values.get(name)
        return as_parameter(name, self.certain_value(module.args[name], module.scope))

    # -- values ----------------------------------------------------------------------------
    def value(self, expr: cst.BaseExpression | None, scope: Scope) -> Value:
        """A literal, constant, default, attribute or arithmetic resolved; else a symbol; else None."""
        if expr is None:
            return None
        marker = (id(expr), id(scope))
        if marker in self._active or len(self._active) > _MAX_DEPTH:
            return None
        self._active.add(marker)
        try:
            return self._value(expr, scope)
        finally:
            self._active.discard(marker)

    def _value(self, expr: cst.BaseExpression, scope: Scope) -> Value:
        if isinstance(expr, cst.Integer):
            return Dim(int(expr.evaluated_value))
        if isinstance(expr, cst.Float):
            return float(expr.evaluated_value)
        if isinstance(expr, cst.SimpleString):
            return str(expr.evaluated_value)
        if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
            return {"True": True, "False": False}.get(expr.value)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
            inner = self.value(expr.expression, scope)
            if isinstance(inner, Dim) and inner.value is not None:
                return Dim(-inner.coeff)
            return -inner if isinstance(inner, float) else None
        if isinstance(expr, cst.BinaryOperation):
            return self._arithmetic(expr, scope)
        if isinstance(expr, (cst.Comparison, cst.BooleanOperation)) or (
                isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not)):
            return self._truth(expr, scope)
        if isinstance(expr, cst.IfExp):
            test = self.value(expr.test, scope)
            if isinstance(test, bool):
                return self.value(expr.body if test else expr.orelse, scope)
            return None
        size = self._size_of(expr, scope)
        if size is not None:
            return size
        entry = self.mappings.entry(expr, scope)
        if isinstance(entry, Loaded):
            return typed(entry.value)
        if entry is not None:
            return self.value(*entry)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ("int", "float") \
                and len(expr.args) == 1 and not expr.args[0].star:
            return _cast(expr.func.value, self.value(expr.args[0].value, scope))
        if isinstance(expr, cst.Name):
            return self._name(expr, scope)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, scope)
        if isinstance(expr, cst.Call):
            return self._returned(expr, scope)
        return None

    def _returned(self, call: cst.Call, scope: Scope) -> Value:
        """What a same-file helper returns (``steps(x)`` with ``def steps(x): return x.size(1)``), when every
        ``return`` gives one value; its parameters are what its callers pass."""
        function = self.facts.callee_function(call, scope)
        if function is None or not function.returns:
            return None
        resolved = [self.value(r, function) for r in function.returns]
        return resolved[0] if all(_hashable(r) == _hashable(resolved[0]) for r in resolved) else None

    def _truth(self, expr: cst.BaseExpression, scope: Scope) -> bool | None:
        """A condition over known values (``rnn_type in ["LSTM", "GRU"]``, ``layers > 1 and not bidirectional``)."""
        if isinstance(expr, cst.UnaryOperation):
            inner = self.value(expr.expression, scope)
            return not inner if isinstance(inner, bool) else None
        if isinstance(expr, cst.BooleanOperation):
            left, right = self.value(expr.left, scope), self.value(expr.right, scope)
            if not isinstance(left, bool) or not isinstance(right, bool):
                return None
            return (left and right) if isinstance(expr.operator, cst.And) else (left or right)
        assert isinstance(expr, cst.Comparison)
        left = self._plain(expr.left, scope)
        for target in expr.comparisons:
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                elements = getattr(target.comparator, "elements", None)
                items = [self._plain(e.value, scope) for e in elements] if isinstance(
                    target.comparator, (cst.List, cst.Tuple, cst.Set)) and elements is not None else [None]
                if left is None or None in items:
                    return None
                holds = (left in items) == isinstance(target.operator, cst.In)
            else:
                right = self._plain(target.comparator, scope)
                compare = _COMPARISONS.get(type(target.operator))
                if compare is None or left is None or right is None or isinstance(left, str) != isinstance(right, str):
                    return None
                holds, left = compare(left, right), right
            if not holds:
                return False
        return True

    def _plain(self, expr: cst.BaseExpression, scope: Scope) -> int | float | bool | str | None:
        value = self.value(expr, scope)
        return value.value if isinstance(value, Dim) else value if isinstance(value, (bool, float, str)) else None

    def reached(self, site: CallSite) -> bool:
        """The call runs in the default run as far as its ``if`` tests are known: no enclosing test decides
        against its branch (``else`` of ``if rnn_type in ["LSTM", "GRU"]`` with the type "LSTM")."""
        for node, branch in site.branches:
            test = self.facts.if_tests.get(node)
            holds = self.certain_value(test, site.scope) if test is not None else None
            if isinstance(holds, bool) and holds != (branch == "body"):
                return False
        return True

    def _arithmetic(self, expr: cst.BinaryOperation, scope: Scope) -> Value:
        left, right = self.value(expr.left, scope), self.value(expr.right, scope)
        op = expr.operator
        if isinstance(left, Dim) and isinstance(right, Dim):
            if isinstance(op, cst.Multiply):
                return left * right
            if left.value is not None and right.value is not None:
                a, b = left.value, right.value
                if isinstance(op, cst.Add):
                    return Dim(a + b)
                if isinstance(op, cst.Subtract):
                    return Dim(a - b)
                if isinstance(op, cst.FloorDivide) and b:
                    return Dim(a // b)
        if isinstance(left, (Dim, float)) and isinstance(right, (Dim, float)):
            if any(isinstance(v, Dim) and v.value is None for v in (left, right)):
                text = self.facts.source(expr)
                return Dim(1, (Sym(f"({_key_text(left)}){type(op).__name__}({_key_text(right)})", text),))
            a, b = (v.coeff if isinstance(v, Dim) else v for v in (left, right))
            if isinstance(op, cst.Multiply):
                return float(a * b)
        return None

    def _size_of(self, expr: cst.BaseExpression, scope: Scope) -> Dim | None:
        """``x.size(k)``, ``x.size()[k]``, ``x.shape[k]``, ``len(x)``: a symbol that remembers x and k."""
        tensor: cst.BaseExpression | None = None
        axis: int | None = None
        if isinstance(expr, cst.Call):
            args = positional_args(expr)
            if method_name(expr) == "size" and len(args) == 1:
                tensor, axis = receiver(expr), int_literal(args[0])
            elif isinstance(expr.func, cst.Name) and expr.func.value == "len" and len(args) == 1:
                tensor, axis = args[0], 0
        elif isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            axis = int_literal(expr.slice[0].slice.value)
            base = expr.value
            if isinstance(base, cst.Name):  # ``sizes[k]`` with ``sizes = x.size()``
                held = self._traced_sources(base.value, scope, base)
                base = held[0][0] if len(held) == 1 and held[0][1] is scope else base
            if isinstance(base, cst.Attribute) and base.attr.value == "shape":
                tensor = base.value
            elif isinstance(base, cst.Call) and method_name(base) == "size" and not base.args:
                tensor = receiver(base)
        key = key_of(tensor)
        if key is None or axis is None:
            return None
        shape = self.tensor(tensor, scope)
        if shape is not None and shape.dims is not None and -len(shape.dims) <= axis < len(shape.dims):
            known = shape.dims[axis]
            if known is not None:
                return known
        qualified = self.qualified_key(key, scope)
        return Dim(1, (Sym(f"{qualified}.size({axis})", self.facts.source(expr), qualified, axis, (tensor, scope)),))

    def loop_targets(self, scope: Scope) -> frozenset[str]:
        """The names a ``for`` of ``scope`` binds."""
        return frozenset(self._loop_targets.get(id(scope), ()))

    def _name(self, read: cst.Name, scope: Scope) -> Value:
        name = read.value
        home = self.home(name, scope)
        if home is None:
            return self._imported_constant(self.facts.imports.get(name)) or self._sym(name, scope)
        assigned, incoming = self._reaching_assignments(name, home, read, scope)
        if assigned and not incoming:
            return self._agreed([(value if value is not None else self._sizes.get((id(home), name, id(node))), home)
                                 for value, node in assigned], name, home)
        if assigned:
            return self._sym(name, home)
        if name in home.params:
            return self._parameter(home, name)
        return self._sym(name, home)

    def _agreed(self, values: list[tuple[cst.BaseExpression | None, Scope]], key: str, scope: Scope) -> Value:
        """One value when every assignment agrees on it; else the name itself as a symbol."""
        resolved = [self.value(v, s) if v is not None else None for v, s in values]
        if resolved[0] is not None and all(_hashable(r) == _hashable(resolved[0]) for r in resolved):
            return resolved[0]
        return self._sym(key, scope)

    def _parameter(self, function: Scope, name: str) -> Value:
        """A parameter: the argument of its only same-file call, else its default, else a symbol."""
        node = function.node
        if not isinstance(node, cst.FunctionDef):
            return self._sym(name, function)
        params = [*node.params.posonly_params, *node.params.params]
        index = next((i for i, p in enumerate(params) if p.name.value == name), None)
        if index is None:
            return self._sym(name, function)
        position = index - 1 if function.is_method else index
        passed = []
        for site in self.callers(function):
            args = site.node.args
            if any(a.star for a in args):
                return self._sym(name, function)
            given = keyword_arg(site.node, name)
            positional = positional_args(site.node)
            if given is None and 0 <= position < len(positional):
                given = positional[position]
            if given is not None:
                passed.append((given, site.scope))
        if passed:
            return self._agreed(passed, name, function) if len(passed) == len(self.callers(function)) else (
                self._sym(name, function))
        default = params[index].default
        if not self.callers(function) and function.cls is not None and function.name == "__init__":
            elsewhere = self._built_elsewhere(function.cls, function, name, default)
            if elsewhere is not _UNBUILT:  # a class built only in other modules is configured there
                return elsewhere if elsewhere is not None else self._sym(name, function)
        if default is None or not (self._trust_defaults or self.callers(function)):
            return self._sym(name, function)
        return self.value(default, function)

    def _built_by_default(self, node: cst.Call) -> bool:
        site = self._site(node)
        return site is None or self.reached(site)

    def _built_elsewhere(self, cls: ClassInfo, init: Scope, name: str, default: cst.BaseExpression | object) -> Value:
        """What every construction of the class in the project's other modules passes for the parameter ``name``
        of its ``__init__`` (``init``, perhaps inherited), its default where a call leaves it out: the one value
        they agree on, else None; ``_UNBUILT`` when no other module builds it (or there is no project)."""
        project = self.facts.project
        if project is None or cls.node is None:
            return _UNBUILT
        if id(cls) not in self._elsewhere:
            self._elsewhere[id(cls)] = project.built_elsewhere(cls.name, init.params[1:])
        if not self._elsewhere[id(cls)]:
            return _UNBUILT
        found = []
        for _, args in self._elsewhere[id(cls)]:
            if name in args:
                found.append(typed(args[name].get("value")))
            elif "*" in args or default is None:
                return None
            else:
                found.append(self.value(default, init) if isinstance(default, cst.BaseExpression) else default)
        agreed = found[0]
        return agreed if agreed is not None and all(_hashable(v) == _hashable(agreed) for v in found) else None

    def built_in(self, module: ModuleConfig, names: tuple[str, ...]) -> tuple[str, ...]:
        """The files of other modules whose constructions of the class gave the module's ``names`` parameters
        (``layers`` in ``nn.GRU(..., layers)`` of ``__init__``): where a message says the value comes from."""
        scope = module.scope
        if scope is None or scope.cls is None or scope.name != "__init__" or self.callers(scope):
            return ()
        if not any(isinstance(module.args.get(n), cst.Name) and module.args[n].value in scope.params for n in names):
            return ()
        return tuple(sorted({path for path, _ in self._elsewhere.get(id(scope.cls), [])}))

    def _attribute(self, expr: cst.Attribute, scope: Scope) -> Value:
        attr = expr.attr.value
        owner = expr.value
        owner_key = key_of(owner)
        facts = self.facts
        if owner_key in facts.namespaces and attr in facts.options:  # ``args.hidden``: the default run's value
            return typed(facts.options[attr].value)
        if owner_key is not None:
            binding = facts.lookup(owner_key, scope)
            module = self.config_of(binding, self._reader(owner_key, scope)) if binding is not None else None
            if module is not None:
                if attr in module.values:
                    value = module.values[attr]
                    return value if value is not None else self._sym(f"{owner_key}.{attr}", scope)
            cls = None
            if owner_key == "self" and scope.cls is not None:
                cls = scope.cls
            elif binding is not None and binding.kind == "instance":
                cls = facts.classes[binding.detail]
                override = _field_override(binding.construction, cls, attr)
                if override is not None:
                    return self.value(override, self._binding_scope(owner_key, scope))
            elif owner_key in facts.classes and self.home(owner_key, scope) is None:
                cls = facts.classes[owner_key]
            else:
                cls = self._annotated_class(owner_key, scope)
            if cls is not None:
                found = self._class_value(cls, attr, f"{owner_key}.{attr}", scope)
                if found is not None:
                    return found
        if owner_key is not None and owner_key in facts.imports and self.home(owner_key.split(".")[0], scope) is None:
            found = self._imported_constant(f"{facts.imports[owner_key]}.{attr}")  # ``config.HIDDEN``
            if found is not None:
                return found
        base = self.value(owner, scope)
        if isinstance(base, Dim) and base.sym is not None:
            return Dim(1, (Sym(f"{base.sym.key}.{attr}", f"{base.sym.text}.{attr}"),))
        return None if owner_key is None else self._sym(f"{owner_key}.{attr}", scope)

    def _imported_constant(self, qualified: str | None) -> Value:
        """A module-level constant of another module of the project (``from config import HIDDEN``)."""
        project = self.facts.project
        found = project.resolve(qualified) if project is not None and qualified and "." in qualified else None
        return typed(found.value) if isinstance(found, Constant) else None

    def _binding_scope(self, key: str, scope: Scope) -> Scope:
        home = self.home(key.split(".", 1)[0], scope)
        return home if home is not None else self.facts.module_scope

    def _annotated_class(self, name: str, scope: Scope):
        home = self.home(name, scope)
        if home is None or not isinstance(home.node, cst.FunctionDef) or name not in home.params:
            return None
        for param in (*home.node.params.posonly_params, *home.node.params.params):
            if param.name.value == name and param.annotation is not None:
                annotation = key_of(param.annotation.annotation)
                return self.facts.classes.get(annotation or "")
        return None

    def _class_value(self, cls, attr: str, key: str, scope: Scope) -> Value:
        """``self.attr``/``cfg.attr``: what the class's methods assign to it, else its class attribute."""
        facts = self.facts
        seen: set[str] = set()
        reader = cls
        while cls is not None and cls.name not in seen:
            seen.add(cls.name)
            values = [(v, m) for m in cls.methods.values() for v, _ in self.assigned(f"self.{attr}", m)]
            if values:
                return self._agreed(values, f"self.{attr}", next(iter(cls.methods.values())))
            if cls.summary is not None and attr in cls.summary.attr_params:  # set from a parameter of another file
                param = cls.summary.attr_params[attr]
                init = cls.summary.methods.get("__init__")
                data = {"param": param, "default": init.defaults.get(param) if init is not None else None}
                return self._imported_value(data, cls.methods.get("__init__"), reader, self._trust_defaults)
            body = _class_body_value(cls.node, attr) if cls.node is not None else None
            if body is not None:
                return self.value(body, facts.module_scope)
            cls = next((facts.classes[b] for b in cls.base_keys if b in facts.classes), None)
        return None

    # -- module configurations -------------------------------------------------------------
    def _config(self, kind: str, call: cst.Call, scope: Scope) -> ModuleConfig:
        order, positions = parameters(kind), positional(kind)
        args: dict[str, cst.BaseExpression] = {}
        where: dict[str, Scope] = {}  # an entry of ``**kwargs`` is read where its mapping was built
        opaque = False
        position = 0
        loaded: dict[str, Value] = {}  # entries of ``**config`` read from a file: values with no expression
        for arg in call.args:
            entries = self.mappings.mapping(arg.value, scope) if arg.star == "**" else None
            if entries is not None:
                for name, entry in entries.items():
                    if isinstance(entry, Loaded):
                        loaded[name] = typed(entry.value)
                    else:
                        args[name], where[name] = entry
            elif arg.star:
                opaque = True
            elif arg.keyword is not None:
                args[arg.keyword.value] = arg.value
            elif position >= positions:  # a family's members disagree on what this position is
                opaque = True
            elif not opaque:
                args[order[position]] = arg.value
                position += 1
        values: dict[str, Value] = {}
        for name in order:
            if name in loaded:
                values[name] = as_parameter(name, loaded[name])
            elif name in args:
                values[name] = as_parameter(name, self.value(args[name], where.get(name, scope)))
            else:
                values[name] = None if opaque else as_parameter(name, _default(name))
        return ModuleConfig(kind, call, scope, args, values)

    def module_of(self, call: RecurrentCall) -> tuple[ModuleConfig, str] | None:
        if call.callee.kind != "module":
            return None
        func = call.site.node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "forward":
            func = func.value
        key = key_of(func)
        binding = self.facts.lookup(key, call.site.scope) if key else None
        module = self.config_of(binding, self._reader(key, call.site.scope)) if binding is not None else None
        return (module, key) if module is not None else None

    def config_of(self, binding: Binding, reader: ClassInfo | None = None) -> ModuleConfig | None:
        """The configuration of the recurrent module a binding holds, built here or in another file; one built
        in another file's ``__init__`` is read as the class ``reader`` (whose attribute it is) builds it."""
        if binding.kind != "module":
            return None
        if binding.construction is not None:
            return self.modules.get(id(binding.construction))
        if binding.config is None or not known_kind(binding.detail):
            return None
        marker = (id(binding), id(reader))
        if marker not in self._imported:
            names = parameters(binding.detail)
            values, certain = ({name: as_parameter(name, self._imported_value(binding.config.get(name), binding.owner,
                                                                              reader, trust)) for name in names}
                               for trust in (True, False))
            self._imported[marker] = ModuleConfig(binding.detail, None, binding.owner, {}, values, certain)
        return self._imported[marker]

    def _reader(self, key: str, scope: Scope) -> ClassInfo | None:
        """The class whose attribute ``key`` (``self.rnn``, ``model.rnn``, or a local read from one) is read."""
        head, _, _ = self.facts.origin(key, scope).rpartition(".")
        if head == "self":
            return scope.cls
        owner = self.facts.lookup(head, scope) if head else None
        return self.facts.classes.get(owner.detail) if owner is not None and owner.kind == "instance" else None

    def _imported_value(self, data: object, owner: Scope | None, reader: ClassInfo | None,
                        trust_default: bool) -> Value:
        """A value of another file's configuration: a constant, or the parameter of its builder (``__init__``)
        that every construction of ``reader`` here passes the same value for, its default where a call leaves it
        out; with none here, what the constructions in the project's other modules agree on; with none at all, the
        default as ``value`` trusts it and ``certain`` does not (as for a builder of this file); else the parameter
        as a symbol. Unknown when ``reader`` (or a class between) has an ``__init__`` of its own."""
        if isinstance(data, dict):
            if owner is None or reader is None or self.facts.method_of(reader, "__init__") is not owner:
                return None
            default = typed(data.get("default"))
            built = [site for site in self.callers(owner) if key_of(site.node.func) == reader.name]
            if not built:  # as ``_parameter`` reads one of this file's builders: a value, else the parameter itself
                param = str(data.get("param"))
                elsewhere = self._built_elsewhere(reader, owner, param, default)
                if elsewhere is _UNBUILT:
                    elsewhere = default if trust_default else None
                return elsewhere if elsewhere is not None else self._sym(param, owner)
            passed = []
            for site in built:
                if any(a.star for a in site.node.args):
                    return None
                given = self.facts.bound_arguments(site, owner).get(str(data.get("param")))
                passed.append(self.value(given, site.scope) if given is not None else default)
            return passed[0] if all(_hashable(p) == _hashable(passed[0]) for p in passed) else None
        return typed(data)

    def _record_output(self, call: RecurrentCall) -> None:
        target = call.site.target
        found = self.module_of(call)
        if found is None or found[0].is_cell:
            return
        if not isinstance(target, cst.Tuple):
            indexed = self._indexed_results(call, found[0]).get("output")
            if indexed is not None:
                self._outputs[(id(indexed[1]), indexed[0])] = found[0].node
            return
        if len(target.elements) != 2:
            return
        key = key_of(target.elements[0].value)
        definition = self.facts.definition(target)
        if key is not None and definition is not None:
            self._outputs[(id(definition), key)] = found[0].node

    def _indexed_results(self, call: RecurrentCall, module: ModuleConfig) -> dict[str, tuple[str, cst.CSTNode]]:
        """``out = lstm(x)[0]``, or ``result = lstm(x)`` then ``out = result[0]; h_n = result[1]`` (``[1][0]`` for
        an LSTM's h_n): role -> (the name bound, its statement), for each role bound exactly once."""
        site, facts = call.site, self.facts
        holder = site.target if isinstance(site.target, cst.Name) else None
        held = facts.definition(holder) if holder is not None else None
        found: dict[str, list[tuple[str, cst.CSTNode]]] = {}
        reads = [*facts.index_reads.get(id(site.node), ()),
                 *(facts.index_reads.get((id(site.scope), holder.value), ()) if held is not None else ())]
        for assign, base, path in reads:
            if not isinstance(assign.targets[0], cst.Name) or (
                    base is not site.node and not facts.holds(base, holder.value, site.scope, held)):
                continue
            role = {(0,): "output", (1,): "h_n", (1, 0): "h_n" if module.kind == "LSTM" else None}.get(path)
            if role is not None:
                found.setdefault(role, []).append((assign.targets[0].value, assign.node))
        return {role: bound[0] for role, bound in found.items() if len(bound) == 1}

    # -- tensors and states ----------------------------------------------------------------
    def _use(self, call: RecurrentCall) -> StateUse | None:
        found = self.module_of(call)
        if found is None:
            return None
        module, key = found
        scope = call.site.scope
        forms = self.states(call.state_arg, scope) if call.state_arg is not None else []
        args = positional_args(call.site.node)
        given = args[0] if args else keyword_arg(call.site.node, "input")
        shape = self.tensor(given, scope) if given is not None else None
        input_key = key_of(self.leading_source(given, scope)) if given is not None else None
        return StateUse(call, module, key, _distinct(forms), shape,
                        self.qualified_key(input_key, scope) if input_key else None)

    def states(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> list[StateForm]:
        """Every traced way ``expr`` (a state argument) is built: tuples, factories, helpers."""
        marker = (id(expr), id(scope), depth)
        if marker not in self._traced:
            self._traced[marker] = self._states(expr, scope, depth)
        return list(self._traced[marker])

    def _states(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> list[StateForm]:
        if depth > 8:
            return []
        if isinstance(expr, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in expr.elements):
                return []
            return [StateForm(expr, tuple(self.tensor(e.value, scope, depth + 1) for e in expr.elements), True)]
        key = key_of(expr)
        if key is not None:
            found = [f for v, s in self._traced_sources(key, scope, expr) for f in self.states(v, s, depth + 1)]
            initialiser = self._initialiser(key, scope) if not found else None
            return [f for r in initialiser.returns for f in self.states(r, initialiser, depth + 1)] if initialiser \
                else found
        if isinstance(expr, cst.Call):
            inner = same_shape_inner(expr, self.facts.qualify(expr.func))
            if inner is not None:
                return self.states(inner, scope, depth + 1)
            function = self.called_function(expr, scope)
            if function is not None and method_name(expr) != "forward":
                return [f for r in function.returns for f in self.states(r, function, depth + 1)]
            shape = self.tensor(expr, scope, depth + 1)
            if shape is not None:
                return [StateForm(expr, (shape,), False)]
        return []

    def _initialiser(self, key: str, scope: Scope) -> Scope | None:
        """For the state ``forward`` takes as its parameter ``key`` and that no call in this file passes: the
        class's one ``init_hidden``-style method (its own or inherited), whose result is, by the convention such
        a method exists for, what the callers of forward (in other modules) pass."""
        facts = self.facts
        cls = scope.cls
        if cls is None or scope.name != "forward" or key not in scope.params[1:] or self.callers(scope):
            return None
        found: dict[str, Scope] = {}
        for owner in facts.lineage(cls):  # a subclass's own method first
            for method in owner.methods.values():
                if facts.is_state_initialiser(method):
                    found.setdefault(method.name, method)
        initialiser = next(iter(found.values())) if len(found) == 1 else None
        return initialiser if initialiser is not None and initialiser.node is not None else None

    def _traced_sources(
        self, key: str, scope: Scope, read: cst.CSTNode | None = None
    ) -> list[tuple[cst.BaseExpression, Scope]]:
        """``_sources`` once per key along one trace (``h = h.detach()`` does not loop)."""
        marker = (id(scope), key)
        if marker in self._tracing:
            return []
        self._tracing.add(marker)
        try:
            return self._sources(key, scope, read)
        finally:
            self._tracing.discard(marker)

    def _sources(
        self, key: str, scope: Scope, read: cst.CSTNode | None = None
    ) -> list[tuple[cst.BaseExpression, Scope]]:
        """The expressions assigned to ``key`` that can reach ``read`` (a parameter's incoming value: the
        arguments of its same-file calls; ``self.x``'s: its assignments in the class's other methods)."""
        if key.startswith("self.") and scope.cls is not None:
            local, incoming = self._reaching_assignments(key, scope, read, scope)
            found = [(v, scope) for v, _ in local if v is not None]
            if incoming:
                found += [(v, m) for m in scope.cls.methods.values() if m is not scope
                          for v, _ in self.assigned(key, m) if v is not None]
            return found
        home = self.home(key.split(".", 1)[0], scope)
        if home is None:
            return []
        assigned, incoming = self._reaching_assignments(key, home, read, scope)
        found = [(v, home) for v, _ in assigned if v is not None]
        if incoming and key in home.params and isinstance(home.node, cst.FunctionDef):
            found += self.arguments(home, key)
        return found

    def arguments(self, home: Scope, key: str) -> list[tuple[cst.BaseExpression, Scope]]:
        """What the same-file callers of ``home`` pass for its parameter ``key``."""
        node = home.node
        names = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        index = names.index(key) - (1 if home.is_method else 0) if key in names else -1
        found = []
        for site in self.callers(home):
            positional = positional_args(site.node)
            given = keyword_arg(site.node, key) or (positional[index] if 0 <= index < len(positional) else None)
            if given is not None:
                found.append((given, site.scope))
        return found

    def _output_of(self, read: cst.BaseExpression, key: str, scope: Scope) -> cst.Call | None:
        """The construction whose output ``read`` holds, when every value reaching it is that output."""
        home = scope if key.startswith("self.") else self.home(key.split(".", 1)[0], scope)
        if home is None:
            return None
        assigned, incoming = self._reaching_assignments(key, home, read, scope)
        found = {self._outputs.get((id(n), key)) for _, n in assigned}
        return found.pop() if assigned and not incoming and len(found) == 1 else None

    def tensor(self, expr: cst.BaseExpression | None, scope: Scope, depth: int = 0) -> TensorShape | None:
        """The shape of a tensor whose construction (or layout change) is visible."""
        if self._active or not self._trust_defaults:  # inside a value being resolved: depends on that
            return self._tensor(expr, scope, depth)
        marker = (id(expr), id(scope), depth)
        if marker not in self._shaped:
            self._shaped[marker] = self._tensor(expr, scope, depth)
        return self._shaped[marker]

    def _tensor(self, expr: cst.BaseExpression | None, scope: Scope, depth: int) -> TensorShape | None:
        if expr is None or depth > 8:
            return None
        key = key_of(expr)
        if key is not None:
            output = self._output_of(expr, key, scope)
            if output is not None:
                module = self.modules.get(id(output))
                size = module.output_size if module is not None else None
                return TensorShape(expr, None, (), size) if size is not None else None
            shapes = {self.tensor(v, s, depth + 1) for v, s in self._traced_sources(key, scope, expr)}
            return next(iter(shapes)) if len(shapes) == 1 else None
        if not isinstance(expr, cst.Call):
            return None
        qualified = self.facts.qualify(expr.func)
        name = method_name(expr)
        inner = same_shape_inner(expr, qualified)
        if inner is not None:
            return self.tensor(inner, scope, depth + 1)  # keeps the node of the factory that set the shape
        if qualified in _FACTORIES or (qualified is None and name in _NEW_FACTORIES):
            return self._factory(expr, scope)
        if qualified in _LIKE:
            args = positional_args(expr)
            shape = self.tensor(args[0], scope, depth + 1) if args else None
            return TensorShape(expr, shape.dims, shape.texts, shape.feature) if shape is not None else None
        if qualified is None and name in ("view", "reshape"):
            return self._factory(expr, scope)
        if qualified is None and name in ("permute", "transpose"):
            return self._relayout(expr, name, scope, depth)
        if qualified is None and name in ("unsqueeze", "squeeze"):
            return self._reranked(expr, name, scope, depth)
        return self._layer_output(expr, scope)

    def _factory(self, call: cst.Call, scope: Scope) -> TensorShape | None:
        args = positional_args(call)
        if any(a.star for a in call.args):
            return None
        size = keyword_arg(call, "size")
        if size is not None:
            args = [size]
        if self.facts.qualify(call.func) == "torch.full" or method_name(call) == "new_full":
            args = args[:1]
        if len(args) == 1 and isinstance(args[0], (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in args[0].elements):
                return None
            args = [e.value for e in args[0].elements]
        elif len(args) == 1 and self._holds_sequence(args[0], scope):
            return None  # ``torch.zeros(shape)`` with ``shape = (...)``: not a 1-D size
        if not args:
            return None
        dims = tuple(d if isinstance(d := self.value(a, scope), Dim) else None for a in args)
        dims = tuple(None if d is not None and d.value == -1 else d for d in dims)
        return TensorShape(call, dims, tuple(self.facts.source(a) for a in args), dims[-1])

    def _holds_sequence(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        key = key_of(expr)
        if key is None:
            return not isinstance(expr, (cst.Integer, cst.BinaryOperation, cst.Call, cst.Subscript))
        return any(not isinstance(self.value(v, s), Dim) for v, s in self._traced_sources(key, scope, expr)) or (
            not isinstance(self.value(expr, scope), Dim))

    def _relayout(self, call: cst.Call, name: str, scope: Scope, depth: int) -> TensorShape | None:
        shape = self.tensor(receiver(call), scope, depth + 1)
        if shape is None or shape.dims is None:
            return None
        order = [int_literal(a) for a in positional_args(call)]
        rank = len(shape.dims)
        if None in order or any(not -rank <= i < rank for i in order):  # type: ignore[operator]
            return None
        axes = list(range(rank))
        if name == "transpose" and len(order) == 2:
            a, b = (i % rank for i in order)  # type: ignore[operator]
            axes[a], axes[b] = axes[b], axes[a]
        elif name == "permute" and sorted(i % rank for i in order) == axes:  # type: ignore[operator]
            axes = [i % rank for i in order]  # type: ignore[operator]
        else:
            return None
        dims = tuple(shape.dims[i] for i in axes)
        return TensorShape(call, dims, tuple(shape.texts[i] for i in axes), dims[-1])

    def _reranked(self, call: cst.Call, name: str, scope: Scope, depth: int) -> TensorShape | None:
        """``h.unsqueeze(k)`` adds an axis of size 1; ``h.squeeze(k)`` removes one known to be 1."""
        shape = self.tensor(receiver(call), scope, depth + 1)
        args = positional_args(call)
        if shape is None or shape.dims is None or len(args) != 1 or (axis := int_literal(args[0])) is None:
            return None
        dims, texts, rank = list(shape.dims), list(shape.texts), len(shape.dims)
        if name == "unsqueeze" and -rank - 1 <= axis <= rank:
            at = axis % (rank + 1)
            dims.insert(at, Dim(1))
            texts.insert(at, "1")
        elif name == "squeeze" and -rank <= axis < rank and dims[axis] == Dim(1):
            del dims[axis % rank], texts[axis % rank]
        else:
            return None
        return TensorShape(call, tuple(dims), tuple(texts), dims[-1]) if dims else None

    def leading_source(self, expr: cst.BaseExpression, scope: Scope) -> cst.BaseExpression:
        """``self.embed(tokens)`` -> ``tokens``: the tensor whose leading (seq, batch) axes ``expr`` keeps."""
        while isinstance(expr, cst.Call) and positional_args(expr) and (
                self._layer(expr, scope) is not None or self._inherited_layer(expr, scope) is not None):
            expr = positional_args(expr)[0]
        return expr

    def _layer(self, call: cst.Call, scope: Scope) -> tuple[cst.Call, Scope] | None:
        """The ``nn.Embedding``/``nn.Linear``/``nn.Dropout`` construction a call runs, when it is unique (through
        ``layer = self.embedding``)."""
        key = key_of(call.func)
        sources = self._sources(key, scope, call.func) if key is not None else []
        for _ in range(3):
            alias = key_of(sources[0][0]) if len(sources) == 1 else None
            if alias is None or alias == key:
                break
            key, scope = alias, sources[0][1]
            sources = self._sources(key, scope)
        if len(sources) == 1 and isinstance(sources[0][0], cst.Call):
            if self.facts.qualify(sources[0][0].func) in LEADING_AXES_KEPT:
                return sources[0]  # type: ignore[return-value]
        return None

    def _inherited_layer(self, call: cst.Call, scope: Scope) -> tuple[dict[str, object], ClassInfo] | None:
        """``self.embed(x)`` where a base class of another module builds ``self.embed``: that layer as its module's
        summary gives it (``{"kind": "torch.nn.Embedding", "width": ...}``), and the class that holds it."""
        key = key_of(call.func)
        cls = scope.cls
        if cls is None or key is None or not key.startswith("self.") or key.count(".") != 1:
            return None
        for owner in self.facts.lineage(cls):
            if owner.summary is not None:
                found = owner.summary.layers.get(key[5:])
                return (found, owner) if found is not None else None
            if any(self.assigned(key, m) for m in owner.methods.values()):
                return None  # built in this file: ``_layer`` reads it
        return None

    def _layer_output(self, call: cst.Call, scope: Scope) -> TensorShape | None:
        """``self.embed(x)`` with ``self.embed = nn.Embedding(v, e)``: the last axis is ``e``."""
        found = self._layer(call, scope)
        if found is not None:
            construction, where = found
            width = layer_width(self.facts.qualify(construction.func) or "", construction)
            feature = self.value(width, where) if width is not None else None
        else:
            inherited = self._inherited_layer(call, scope)
            if inherited is None or inherited[0].get("kind") not in _LAYERS:
                return None
            data, owner = inherited
            feature = self._imported_value(data.get("width"), owner.methods.get("__init__"), scope.cls,
                                           self._trust_defaults)
        return TensorShape(call, None, (), feature) if isinstance(feature, Dim) else None

    def relaid(self, qualified: str, scope: Scope) -> bool:
        """Some assignment to this tensor (in ``scope``) changes its layout: ``x = x.transpose(0, 1)``."""
        key = qualified.split(":", 1)[-1]
        return any(v is not None and _has_layout_call(v) for v, _ in self.assigned(key, scope))

    def state_batch(self, function: Scope) -> str | None:
        """The parameter that sizes the batch axis of the state ``function`` returns, as the recurrent module
        given that state reads it (dim 1 of a full module's h0, dim 0 of a cell's): ``batch`` of
        ``init_hidden(self, batch)``. None unless every such state this file feeds a module agrees."""
        if function.summary is not None:
            return function.summary.state_batch
        if not function.returns or not (self.uses or self.facts.is_state_initialiser(function)):
            return None
        if id(function) not in self._state_batches:
            self._state_batches[id(function)] = self._state_batch(function)
        return self._state_batches[id(function)]

    def _state_batch(self, function: Scope) -> str | None:
        parts = [part for value in function.returns for form in self.states(value, function)
                 for part in form.parts if part is not None]
        built = {id(part) for part in parts}
        found = {_batch_text(part, use.module.is_cell) for use in self.uses for form in use.forms
                 for part in form.parts if part is not None and id(part) in built}
        if not found and function.cls is not None and self.facts.is_state_initialiser(function):
            # no ``forward`` here reads it (a subclass in another module does): by the convention such a method
            # exists for, its state is the one of the class's recurrent modules, if they are laid out alike
            cells = {is_cell(b.detail) for b in function.cls.attrs.values() if b.kind == "module"}
            cell = cells.pop() if len(cells) == 1 else None
            found = {_batch_text(part, cell) for part in parts} if cell is not None else set()
        name = found.pop() if len(found) == 1 else None
        skip = 1 if function.is_method else 0
        return name if name in function.params[skip:] else None

    # -- data loaders ----------------------------------------------------------------------
    def returned_loader(self, function: Scope) -> tuple[int, str, dict[str, str]] | None:
        """The batch iterator ``function`` builds and returns (``return dataset, loader`` -> position 1; the whole
        return: -1), its qualified class, and its ``batch_size``/``drop_last`` as code in the function's parameters
        or a literal ("?": given, but as something a caller cannot read)."""
        if function.summary is not None:
            return function.summary.loader
        built = self._returned_construction(function)
        if built is None:
            return None
        position, call = built
        qualified, given = self.portable_loader(call, function)
        return position, qualified, given

    def portable_loader(self, call: cst.Call, function: Scope) -> tuple[str, dict[str, str]]:
        """A batch iterator's construction as data another module can read: its qualified class, and the
        arguments that decide its batches as code in ``function``'s parameters, a literal, or "?"."""
        qualified = self.facts.qualify(call.func) or ""
        model = BATCH_ITERATORS[qualified]
        given = {name: argument(call, where) for name, where in (("batch_size", model.batch_size),
                                                                ("drop_last", model.drop_last),
                                                                *zip(("sort_within_batch", "sort", "train"),
                                                                     model.order or ()))}
        return qualified, {name: self._portable(expr, function) for name, expr in given.items() if expr is not None}

    def _loader_position(self, function: Scope) -> int | None:
        """Where ``function``'s returns put the batch iterator it builds (read from syntax alone: the indexes
        are being built when this is asked)."""
        if function.summary is not None:
            return function.summary.loader[0] if function.summary.loader is not None else None
        built = self._returned_construction(function)
        return built[0] if built is not None else None

    def _returned_construction(self, function: Scope) -> tuple[int, cst.Call] | None:
        if not self.facts.builds_loaders:
            return None
        built = set()
        for value in function.returns:
            elements = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
            hits = [(i if isinstance(value, cst.Tuple) else -1, call) for i, e in enumerate(elements)
                    if (call := self._loader_built(e, function)) is not None]
            if len(hits) != 1:
                return None
            built.add(hits[0])
        return built.pop() if len(built) == 1 else None

    def _loader_built(self, value: cst.BaseExpression, function: Scope) -> cst.Call | None:
        """``DataLoader(...)`` (or a name holding one) with no unpacked arguments."""
        held = self.facts.temporary_value(value, function) if isinstance(value, cst.Name) else value
        if isinstance(held, cst.Call) and self.facts.qualify(held.func) in BATCH_ITERATORS \
                and not any(a.star for a in held.args):
            return held
        return None

    def _portable(self, expr: cst.BaseExpression, function: Scope) -> str:
        """``expr`` as code a caller can read with its own arguments: an expression of the function's parameters
        only (the caller's arguments stand in for them), else its constant value; else "?"."""
        roots = {name.value for name in name_reads(expr)} - {"True", "False", "None"}
        if roots and roots <= set(function.params):
            return self.facts.source(expr)
        value = self.value(expr, function)
        if isinstance(value, bool) or (isinstance(value, Dim) and value.value is not None):
            return str(value.value if isinstance(value, Dim) else value)
        return "?"

    def loaders(self, use: StateUse) -> list[LoaderUse]:
        """The batch iterators (hs_lint.torch_api) whose loop feeds this call, directly or through ``model(x)``:
        built in sight, or by a function (of this module or another) that returns one."""
        facts = self.facts
        site = use.call.site
        sites = [site]
        if site.scope.cls is not None and site.scope.name == "forward":
            sites += facts.instance_calls(site.scope.cls)
        found: list[LoaderUse] = []
        for caller in sites:
            loop = caller.loop
            while loop is not None:
                found += self.loop_loaders(loop)
                loop = loop.parent
        return found

    def iterators(self, expr: cst.BaseExpression, scope: Scope) -> list[tuple[BatchIterator, Value, Value, Value]]:
        """The batch iterators ``expr`` may hold, as ``LoaderUse`` reads them (without the loop)."""
        return self._loader(expr, scope)

    def loop_loaders(self, loop: Loop) -> list[LoaderUse]:
        """The batch iterators ``loop`` itself runs over."""
        return [LoaderUse(*built, loop)
                for source in self._iterated(loop) for built in self._loader(source, loop.scope)]

    def _iterated(self, loop: Loop) -> list[cst.BaseExpression]:
        """What a loop takes its items from: a ``for``'s iterable, or what a ``while`` calls ``next`` on."""
        if isinstance(loop.node, cst.For):
            return [loop.node.iter]
        return [args[0] for site in self.facts.calls if site.loop is loop and isinstance(site.node.func, cst.Name)
                and site.node.func.value == "next" and len(args := positional_args(site.node)) in (1, 2)]

    def _loader(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0, index: int | None = None) -> list[
            tuple[BatchIterator, Value, Value, Value]]:
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ITER_WRAPPERS:
            args = positional_args(expr)
            if not args:
                return []
            expr = args[0]
        if isinstance(expr, cst.Call):
            built = self._built_loader(expr, scope, index)
            return [built] if built is not None else []
        if isinstance(expr, cst.Subscript):  # ``result[1]`` of ``result = make_loader(opts)``
            return self._indexed_loader(expr, scope)
        key = key_of(expr)
        if key is None or depth > 8:
            return []
        binding = self.facts.lookup(key, scope)
        if binding is not None and binding.kind == "loader" and binding.construction is None and binding.config:
            read = self._read_loader(str(binding.config.get("iterator")), dict(binding.config), {}, scope, index)
            return [read] if read is not None else []
        return [found for value, where in self._traced_sources(key, scope, expr)
                for found in self._loader(value, where, depth + 1, self._split_index(value, key))]

    def _split_index(self, value: cst.BaseExpression, key: str) -> int | None:
        """Where ``key`` stands in the unpacking of a ``splits(...)`` call: its dataset's position."""
        return self._split_positions.get((id(value), key))

    def _indexed_loader(self, expr: cst.Subscript, scope: Scope) -> list[tuple[BatchIterator, Value, Value, Value]]:
        """An element of what a call returns that holds a batch iterator: one of ``splits(...)``'s, or the one a
        function's returns put at that index."""
        index = int_literal(expr.slice[0].slice.value) if len(expr.slice) == 1 and isinstance(
            expr.slice[0].slice, cst.Index) else None
        key = key_of(expr.value)
        bases = [(expr.value, scope)] if isinstance(expr.value, cst.Call) else (
            self._traced_sources(key, scope, expr.value) if key is not None and index is not None else [])
        found = []
        for base, where in bases:
            if not isinstance(base, cst.Call):
                continue
            function = self.facts.callee_function(base, where)
            holds = self._splits_call(base) or (function is not None and self._loader_position(function) == index)
            if holds and (built := self._built_loader(base, where, index)) is not None:
                found.append(built)
        return found

    def _built_loader(self, call: cst.Call, scope: Scope, index: int | None = None) -> tuple[
            BatchIterator, Value, Value, Value] | None:
        """A batch iterator's construction read here, or the one a called function returns, its arguments read
        with this call's (``make_loader(opts)`` building ``DataLoader(ds, batch_size=opts.batch_size)``); ``index``:
        which of a ``splits(...)`` call's iterators."""
        model = BATCH_ITERATORS.get(self.facts.qualify(call.func) or "")
        if model is not None:
            if any(a.star for a in call.args):
                return None
            drop_last = argument(call, model.drop_last)
            read = {name: self.value(expr, scope) if (expr := argument(call, where)) is not None else _UNSET
                    for name, where in zip(("sort_within_batch", "sort", "train"), model.order or ())}
            return (model, self.value(argument(call, model.batch_size), scope),
                    self.value(drop_last, scope) if drop_last is not None else False,
                    _sorted_within(model, read, index, self._splits_call(call)))
        function = self.facts.callee_function(call, scope)
        returned = self.returned_loader(function) if function is not None else None
        site = self._site(call)
        if returned is None or site is None:
            return None
        _, qualified, given = returned
        bound = {**_literal_defaults(function),
                 **{param: self.facts.source(arg) for param, arg in self.facts.bound_arguments(site, function).items()}}
        return self._read_loader(qualified, given, bound, scope, None)

    def _read_loader(self, qualified: str, given: dict[str, object], bound: dict[str, str], scope: Scope,
                     index: int | None) -> tuple[BatchIterator, Value, Value, Value] | None:
        """A batch iterator described as data (``portable_loader``), its parameters bound to a caller's code."""
        model = BATCH_ITERATORS.get(qualified)
        if model is None:
            return None
        code = {name: str(value) for name, value in given.items() if name != "iterator"}
        read = {name: self._passed_value(code[name], bound, scope) if name in code else _UNSET
                for name in ("sort_within_batch", "sort", "train")}
        return (model, self._passed_value(code.get("batch_size"), bound, scope),
                self._passed_value(code.get("drop_last", "False"), bound, scope),
                _sorted_within(model, read, index, qualified.endswith(".splits")))

    def _passed_value(self, code: str | None, bound: dict[str, str], scope: Scope) -> Value:
        """A summary's code for an argument, its parameters replaced by what the call passes (or their literal
        defaults), read here."""
        if code is None or code == "?":
            return None
        try:
            expr = cst.parse_expression(code)
        except cst.ParserSyntaxError:
            return None
        reads = [read for read in name_reads(expr) if read.value not in ("True", "False", "None")]
        if any(read.value not in bound for read in reads):
            return None  # a parameter the call leaves to its default
        replacements = {id(read): cst.parse_expression(bound[read.value]) for read in reads}
        return self.value(replaced(expr, replacements, paths_to(expr, replacements), {}), scope)

    def _site(self, node: cst.Call) -> CallSite | None:
        if self._sites is None:
            self._sites = {id(site.node): site for site in self.facts.calls}
        return self._sites.get(id(node))

    # -- outputs ---------------------------------------------------------------------------
    def _output(self, use: StateUse) -> Output | None:
        target = use.call.site.target
        if use.module.is_cell:
            return None
        if not isinstance(target, cst.Tuple):
            indexed = self._indexed_results(use.call, use.module)
            if not indexed:
                return None
            (output, first), (h_n, second) = (indexed.get(r, (None, None)) for r in ("output", "h_n"))
            return Output(use, output, h_n, first or second, second)
        if len(target.elements) != 2:
            return None
        output = key_of(target.elements[0].value)
        state = target.elements[1].value
        if isinstance(state, (cst.Tuple, cst.List)) and state.elements:
            state = state.elements[0].value
        h_n = key_of(state)
        definition = self.facts.definition(target)
        if definition is None:
            return None
        return Output(use, output if output != "_" else None, h_n if h_n != "_" else None, definition)


def _sizes_unpacked(target: cst.BaseExpression, value: cst.BaseExpression | None) -> list[tuple[str, cst.Subscript]]:
    """``b, t, _ = x.shape`` (or ``x.size()``, or a name that holds one): each name with the size it takes,
    written ``x.shape[k]`` (``sizes[k]``)."""
    if not isinstance(target, (cst.Tuple, cst.List)) or not (
            isinstance(value, cst.Name) or isinstance(value, cst.Attribute) and value.attr.value == "shape"
            or isinstance(value, cst.Call) and method_name(value) == "size" and not value.args):
        return []
    sized = value if not isinstance(value, cst.Call) else cst.Attribute(receiver(value), cst.Name("shape"))
    pairs = []
    for axis, element in enumerate(target.elements):
        if isinstance(element, cst.StarredElement):
            break  # the names after a star count from the end: left unknown
        key = key_of(element.value)
        if key is not None:
            pairs.append((key, cst.Subscript(sized, [cst.SubscriptElement(cst.Index(cst.Integer(str(axis))))])))
    return pairs


def _cast(kind: str, value: Value) -> Value:
    """``int(x)``/``float(x)`` of a known value (a string read from a .cfg file, say)."""
    try:
        if isinstance(value, str) or (isinstance(value, float) and kind == "int"):
            return typed(int(value) if kind == "int" else float(value))
    except ValueError:
        return None
    if isinstance(value, Dim) and value.value is not None:
        return value if kind == "int" else float(value.value)
    return value if isinstance(value, float) else None


def typed(value: object) -> Value:
    """A Python value as a shape value: an int is a ``Dim``; bool, float and str stay; anything else unknown."""
    if isinstance(value, bool) or isinstance(value, (float, str)):
        return value
    return Dim(value) if isinstance(value, int) else None


_LAYOUT_METHODS = frozenset(
    {"transpose", "permute", "t", "view", "reshape", "flatten", "unsqueeze", "squeeze", "swapaxes", "movedim",
     "unflatten", "expand", "repeat"}
)


def _has_layout_call(expr: cst.CSTNode) -> bool:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and method_name(node) in _LAYOUT_METHODS:
            return True
        stack.extend(node.children)
    return False


def _literal_defaults(function: Scope) -> dict[str, str]:
    """A function's parameters whose defaults are literals, as code: what a call that leaves them out passes."""
    if function.summary is not None:
        return {name: repr(value) for name, value in function.summary.defaults.items()}
    node = function.node
    if not isinstance(node, cst.FunctionDef):
        return {}
    return {p.name.value: cst.Module([]).code_for_node(p.default) for p in (*node.params.params,
                                                                           *node.params.kwonly_params)
            if isinstance(p.default, (cst.Integer, cst.Float, cst.SimpleString))
            or isinstance(p.default, cst.Name) and p.default.value in ("True", "False", "None")}


def _target_keys(target: cst.BaseExpression) -> Iterator[str]:
    for key, _ in assigned_pairs(target, None, False):
        yield key


def as_parameter(name: str, value: Value) -> Value:
    """Keep a value only where torch accepts its type (batch_first must be a bool, ...)."""
    if name in _SIZE_PARAMS:
        return value if isinstance(value, Dim) else None
    if name in ("batch_first", "bias"):
        return value if isinstance(value, bool) else None
    if name == "bidirectional":
        if isinstance(value, Dim) and value.value is not None:
            return bool(value.value)
        return value if isinstance(value, bool) else None
    if name == "dropout":
        if isinstance(value, Dim) and value.value is not None:
            return float(value.value)
        return value if isinstance(value, float) else None
    return value if isinstance(value, str) else None


def _default(name: str) -> Value:
    value = DEFAULTS.get(name)  # input_size and hidden_size have none: left out, they are unknown
    return Dim(value) if isinstance(value, int) and not isinstance(value, bool) else value  # type: ignore[return-value]


def _dim_data(dim: Dim | None) -> int | str | None:
    return dim.as_data() if dim is not None else None


_UNSET = object()  # an argument the construction leaves out


def _sorted_within(model: BatchIterator, read: dict[str, object], index: int | None, splits: bool) -> Value:
    """Whether a torchtext iterator's batches come sorted longest first: ``sort_within_batch``, defaulting to
    ``sort``, defaulting to ``not train`` (``train`` is True, or, for ``splits``, True for the first dataset
    only). None: not such an iterator, or a value that cannot be read."""
    if model.order is None:
        return None
    for name in ("sort_within_batch", "sort"):
        if read.get(name, _UNSET) is not _UNSET:
            value = read[name]
            return value if isinstance(value, bool) else None
    train = read.get("train", _UNSET)
    if train is _UNSET:
        train = True if not splits else (index == 0 if index is not None else None)
    return (not train) if isinstance(train, bool) else None


def _batch_text(part: TensorShape, cell: bool) -> str | None:
    """How a state tensor's batch axis is written (dim 1 of a full module's h0, dim 0 of a cell's)."""
    axis, rank = (0, 2) if cell else (1, 3)
    return part.texts[axis] if part.dims is not None and len(part.dims) == rank and len(part.texts) == rank else None


def _hashable(value: Value) -> object:
    return ("dim", value) if isinstance(value, Dim) else (type(value).__name__, value)


def _key_text(value: Dim | float) -> str:
    if isinstance(value, Dim):
        return "*".join([str(value.coeff), *(f.key for f in value.factors)])
    return repr(value)


def same_shape_inner(call: cst.Call, qualified: str | None) -> cst.BaseExpression | None:
    """``h.to(dev)``, ``w.new(...).zero_()``, ``Variable(h)``: the expression whose shape passes through."""
    if qualified is None and method_name(call) in _SAME_SHAPE_METHODS:
        return receiver(call)
    if qualified in _WRAPPERS or (isinstance(call.func, cst.Name) and call.func.value in ("Variable", "Parameter")):
        args = positional_args(call)
        return args[0] if args else None
    return None


def _class_body_value(node: cst.ClassDef, attr: str) -> cst.BaseExpression | None:
    """``hidden = 128`` / ``hidden: int = 128`` directly in a class body (a config class)."""
    for statement in node.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and any(key_of(t.target) == attr for t in small.targets):
                return small.value
            if isinstance(small, cst.AnnAssign) and key_of(small.target) == attr and small.value is not None:
                return small.value
    return None


def _field_override(call: cst.Call | None, cls, attr: str) -> cst.BaseExpression | None:
    """``Config(hidden=256)`` for a config class without ``__init__`` (a dataclass): the field's keyword."""
    if call is None or "__init__" in cls.methods:
        return None
    return keyword_arg(call, attr)


def _distinct(forms: list[StateForm]) -> list[StateForm]:
    seen: set[int] = set()
    return [f for f in forms if id(f.node) not in seen and not seen.add(id(f.node))]  # type: ignore[func-returns-value]
