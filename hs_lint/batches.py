"""DataLoader batches: which values hold a batch of unrelated samples, as a loop over a shuffling
``DataLoader`` yields it.

torch's default collate stacks a loader's samples on a new leading axis, so such a value is batched
whatever its dataset returns, and, the loader shuffling, its axis 0 cannot be time: a recurrent module given
it with a state that has no batch axis reads the batch as one sequence (HS211), and a time-major one reads its
samples as time steps (HS206). (An ordered loader may be a chunker whose samples are consecutive steps.) A
value is a batch when every definition reaching it is a loop target bound to a field of the batch
(``for x, y in loader``, ``for i, (x, y) in enumerate(loader)``, ``x, y = batch``), through assignments,
calls that keep the leading axes (``x.to(device)``, ``x.float()``, an ``nn.Embedding``), and the parameters
of calls of this file (one call passing a batch is enough: the module is wrong for that call); a
``forward`` parameter also through the modules that import the class and call its instances with a batch,
or hand them to a function of a third module whose loop does (their summaries' ``batch_inputs``,
``calls_out`` and the functions' ``batch_params``). A loader with a ``collate_fn``, ``batch_size=None``, no
shuffling or no construction in sight is not followed. The same walk finds batches padded at the end by
``pad_sequence``, in the loop or by a ``collate_fn`` of the file (HS605)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import libcst as cst

from hs_lint.facts import ITER_WRAPPERS, CallSite, FileFacts, Loop, Scope, rnn_util
from hs_lint.names import argument, as_bool, int_literal, key_of, keyword_arg, method_name, positional_args, receiver
from hs_lint.project.summary import FunctionSummary, ModuleSummary
from hs_lint.reaching import ENTRY
from hs_lint.shapes import same_shape_inner
from hs_lint.torch_api import DATA_LOADER, DATA_LOADERS

_DEPTH = 6
T = TypeVar("T")


@dataclass(frozen=True)
class _Origin(Generic[T]):
    """What a traced value may come from: a loop's target, a call, a caller in another module."""

    loop: Callable[[Loop, str], T | None]
    call: Callable[[cst.Call, Scope], T | None]
    elsewhere: Callable[[Scope, str], T | None]



class Batches:
    """Answers ``loader(expr, scope)``: the loader whose batch ``expr`` holds, as a message names it; and
    ``padding(expr, scope)``: the ``pad_sequence`` whose end-padded batch it holds."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self._loops = {id(loop.node): loop for loop in facts.loops}
        self._assignments = {id(site.node): site for site in facts.assignments}
        self._loop_calls: dict[int, list[CallSite]] = {}  # the calls in a loop, by scope
        for site in facts.calls:
            if site.loop is not None:
                self._loop_calls.setdefault(id(site.scope), []).append(site)

    def loader(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        return self._trace(expr, scope, 0, _Origin(self._iterated, self._next, self._fed_elsewhere))

    def unsorted(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """The shuffling loader (as a message names it) of whose batches ``expr`` holds a field, in an order that no
        step sorts by length: default-collated, or collated by a function of this file that sorts nothing; or a
        torchtext iterator that does not sort within its batches."""
        return self._trace(expr, scope, 0, _Origin(self._iterated_unsorted, self._next_unsorted,
                                                   self._fed_elsewhere))

    def layout(self, expr: cst.BaseExpression, scope: Scope, elsewhere: bool = True) -> tuple[str, str, bool] | None:
        """How the batch ``expr`` holds is laid out, when something visible says: (what it is, as a message says it;
        what laid it out; whether batch first). A field of a torchtext batch, by the file's sequential Fields
        (when they all agree); a batch padded by ``pad_sequence``, by its ``batch_first``; in a module's own file,
        what a module that imports the class and calls it in a loop says (its summary's ``laid_inputs``), unless
        ``elsewhere`` is False."""
        text = self._trace(expr, scope, 0, _Origin(self._text_layout, self._next_text_layout, _nothing))
        if text is not None:
            first = text[1]
            return f"a batch of {text[0]}, {_layout(first)} by its Field", "the Field", first
        pad = self.padding(expr, scope)
        first = as_bool(keyword_arg(pad, "batch_first"), False) if pad is not None else None
        if first is not None:
            return f"padded {_layout(first)} by `{self.facts.source(pad.func)}(...)`", "pad_sequence", first
        return self._trace(expr, scope, 0, _Origin(_nothing, _nothing, self._laid_elsewhere)) if elsewhere else None

    def collated(self, expr: cst.BaseExpression, scope: Scope) -> cst.Call | None:
        """The DataLoader built in sight (default collate, no ``drop_last``; shuffling or not) whose batch ``expr``
        holds: its samples are on axis 0, and its last batch may be smaller."""
        return self._trace(expr, scope, 0, _Origin(self._iterated_collated, self._next_collated, _nothing))

    def padding(self, expr: cst.BaseExpression, scope: Scope) -> cst.Call | None:
        """The ``pad_sequence(...)`` call (end-padded) whose batch ``expr`` holds, followed as batches are."""
        return self._trace(expr, scope, 0, _Origin(self._collate_padding, self._padded, _nothing))

    def _trace(self, expr: cst.BaseExpression, scope: Scope, depth: int, origin: _Origin[T]) -> T | None:
        """What every definition reaching ``expr`` comes from, by ``origin``'s judgement of loops and calls."""
        facts = self.facts
        expr = self._kept(expr, scope)
        if isinstance(expr, cst.Call):
            return origin.call(expr, scope)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            expr = expr.value  # ``batch.text``: a field of the batch (a torchtext Batch, a collated namedtuple)
        if not isinstance(expr, cst.Name) or depth > _DEPTH:
            return None
        key = expr.value
        shapes = facts.shapes
        home = shapes.home(key, scope)
        reaching = facts.reaching(expr, key, scope) if home is scope else None
        if not reaching:
            return None
        found = None
        assigned = {id(node): value for value, node in shapes.assigned(key, scope)}
        for definition in reaching:
            if definition == ENTRY:
                found = self._passed(scope, key, depth, origin)
            elif definition in self._loops:
                found = origin.loop(self._loops[definition], key)
            elif (value := assigned.get(definition)) is not None:
                found = self._trace(value, scope, depth + 1, origin)
            else:
                found = self._unpacked(definition, key, scope, depth, origin)
            if found is None:
                return None
        return found

    def _kept(self, expr: cst.BaseExpression, scope: Scope) -> cst.BaseExpression:
        """The tensor whose first axis ``expr`` keeps: through ``x.to(device)``, ``x.float()``, ``x.unsqueeze(-1)``
        and layers that keep the leading axes (``self.embedding(x)``, ``nn.Linear``, ``nn.Dropout``)."""
        while isinstance(expr, cst.Call):
            inner = same_shape_inner(expr, self.facts.qualify(expr.func))
            if inner is None and method_name(expr) == "unsqueeze" and len(args := positional_args(expr)) == 1 and (
                    (axis := int_literal(args[0])) is not None and (axis >= 1 or axis == -1)):
                inner = receiver(expr)  # an axis added after the first: ``x.unsqueeze(-1)``
            if inner is None:
                inner = self.facts.shapes.leading_source(expr, scope)
                if inner is expr:
                    break
            expr = inner
        return expr

    def _unpacked(self, definition: int, key: str, scope: Scope, depth: int, origin: _Origin[T]) -> T | None:
        """``x, y = batch``: a batch that unpacks is a tuple of fields, each batched (a tensor batch would unpack
        into its samples, and then not into exactly these names)."""
        site = self._assignments.get(definition)
        if site is None or site.augmented or not any(isinstance(t, (cst.Tuple, cst.List)) and _binds(t, key)
                                                     for t in site.targets):
            return None
        return self._trace(site.value, scope, depth + 1, origin) if site.value is not None else None

    def _passed(self, function: Scope, param: str, depth: int, origin: _Origin[T]) -> T | None:
        """A parameter one of whose callers passes such a value: in this file, or (``forward``) an importer."""
        if param not in function.params or not isinstance(function.node, cst.FunctionDef):
            return None
        for given, caller in self.facts.shapes.arguments(function, param):
            found = self._trace(given, caller, depth + 1, origin)
            if found is not None:
                return found
        return origin.elsewhere(function, param)

    def _feeders(self, function: Scope, param: str) -> tuple[list[ModuleSummary], set[str], int] | None:
        """For ``forward``'s parameter: the modules that can build the class (or a subclass), those classes'
        names, and the parameter's position in a call of an instance."""
        facts, cls = self.facts, function.cls
        if facts.project is None or cls is None or cls.node is None or function.name != "forward":
            return None
        importers, subclasses = facts.project.builders(cls.name)
        return importers, {cls.name, *subclasses}, function.params.index(param) - 1

    def _fed_elsewhere(self, function: Scope, param: str) -> str | None:
        """``forward``'s parameter given a batch by a module that imports the class (what its summary says)."""
        feeders = self._feeders(function, param)
        if feeders is None:
            return None
        importers, built, position = feeders
        for summary in importers:
            if any(name.rsplit(".", 1)[-1] in built and at == position for name, at in summary.batch_inputs):
                return f"a DataLoader in `{summary.name}`"
            for callee, args in summary.calls_out:
                if self._feeds(callee, args, built, position):
                    return f"a DataLoader in `{callee.rsplit('.', 1)[0]}`"
        return None

    def _feeds(self, callee: str, args: dict[str, tuple[str, str]], built: set[str], position: int) -> bool:
        """``train(model, loader)`` of another module, given an instance of the class: its loop calls that
        parameter with a batch at ``position``, of a loader it builds or of the loader the call gives it."""
        function = self.facts.project.resolve(callee) if self.facts.project is not None else None
        if not isinstance(function, FunctionSummary) or not function.batch_params:
            return False
        named = {(function.params[int(k[1:])] if int(k[1:]) < len(function.params) else "*") if k.startswith("#")
                 else k: v for k, v in args.items()}
        return any(
            at == position and (given := named.get(param)) is not None and given[0] == "instance"
            and given[1].rsplit(".", 1)[-1] in built and (not loader or named.get(loader) == ("loader", ""))
            for param, at, loader in function.batch_params)

    def param_batches(self, function: Scope) -> tuple[tuple[str, int, str], ...]:
        """(parameter, position, loader) for each call in a loop of ``function`` of one of its parameters given a
        batch at ``position``: of a loader built in sight (``""``) or of the loader another parameter holds (its
        name). A ``FunctionSummary``'s ``batch_params``, for the modules that call it with a model."""
        params = set(function.params)
        origin = _Origin(lambda loop, key: self._param_loader(loop, key, params), _nothing, _nothing)
        found = set()
        for site in self._loop_calls.get(id(function), ()):
            called = site.node.func
            if not isinstance(called, cst.Name) or called.value not in params:
                continue
            for position, given in enumerate(positional_args(site.node)):
                loader = self._trace(given, function, 0, origin)
                if loader is not None:
                    found.add((called.value, position, loader))
        return tuple(sorted(found))

    def _param_loader(self, loop: Loop, key: str, params: set[str]) -> str | None:
        target, source = target_and_source(loop)
        if target is None or not _binds(target, key):
            return None
        if self._loader_of(source, loop.scope) is not None:
            return ""
        name = key_of(source)
        return name if name in params else None

    def calls_out(self, qualified: Callable[[str], str]) -> tuple[tuple[str, dict[str, tuple[str, str]]], ...]:
        """The calls of imported functions given a model instance, with what each argument is: ("instance",
        class) or ("loader", "") for a shuffling, default-collated loader; a summary's ``calls_out``."""
        facts = self.facts
        found = []
        for site in facts.calls:
            key = key_of(site.node.func)
            if key is None or key.split(".", 1)[0] not in facts.imports or facts.callee(site).kind != "unknown":
                continue
            args: dict[str, tuple[str, str]] = {}
            for position, arg in enumerate(site.node.args):
                name = arg.keyword.value if arg.keyword is not None else f"#{position}"
                if arg.star:
                    break
                if self._loader_of(arg.value, site.scope) is not None:
                    args[name] = ("loader", "")
                elif (cls := self._instance_class(arg.value, site.scope)) is not None:
                    args[name] = ("instance", qualified(cls))
            if any(kind == "instance" for kind, _ in args.values()):
                found.append((qualified(key), args))
        return tuple(found)

    def _iterated(self, loop: Loop, key: str) -> str | None:
        """``key`` is bound by ``loop`` to a field of a default-collated batch of a loader built in sight."""
        target, source = target_and_source(loop)
        return self._loader_of(source, loop.scope) if target is not None and _binds(target, key) else None

    def _bound(self, loop: Loop, key: str) -> cst.Call | None:
        """The DataLoader built in sight a field of whose batches ``loop`` binds to ``key``."""
        target, source = target_and_source(loop)
        return self.construction(_unwrapped(source), loop.scope) if target is not None and _binds(target, key) else None

    def _iterated_collated(self, loop: Loop, key: str) -> cst.Call | None:
        return _short_last(self._bound(loop, key))

    def _iterated_unsorted(self, loop: Loop, key: str) -> str | None:
        found = self._iterated(loop, key) or self._text_unsorted(loop, key)
        if found is not None:
            return found
        construction = self._bound(loop, key)
        if construction is None or not self.facts.shuffles(construction):
            return None
        collate = argument(construction, DATA_LOADER.collate_fn)
        function = self.facts.functions.get(collate.value) if isinstance(collate, cst.Name) else None
        if function is None or self._sorts(function):
            return None
        name = key_of(_unwrapped(target_and_source(loop)[1]))
        return f"`{name}`" if name is not None else "a DataLoader"

    def _text_unsorted(self, loop: Loop, key: str) -> str | None:
        """``key`` is bound by ``loop`` to a batch of a torchtext iterator whose batches are not sorted longest
        first (a training iterator without ``sort_within_batch=True``: ``hs_lint.torch_api``)."""
        target, source = target_and_source(loop)
        return self._unsorted_text(source, loop.scope) if target is not None and _binds(target, key) else None

    def _next_unsorted(self, call: cst.Call, scope: Scope) -> str | None:
        found = self._nexted(call, scope)
        return self._next(call, scope) or (self._unsorted_text(*found) if found is not None else None)

    def _unsorted_text(self, source: cst.BaseExpression, scope: Scope) -> str | None:
        found = {sorted_within for model, _, _, sorted_within in self._text_iterators(source, scope)}
        return _named(source, "a torchtext iterator") if found == {False} else None

    def _text_iterators(self, source: cst.BaseExpression, scope: Scope) -> list:
        """The torchtext iterators that ``source`` (what a loop iterates, or ``next`` is called on) holds."""
        return [built for built in self.facts.shapes.iterators(_unwrapped(source), scope) if built[0].order is not None]

    def _text_layout(self, loop: Loop, key: str) -> tuple[str, bool] | None:
        target, source = target_and_source(loop)
        return self._laid_out(source, loop.scope) if target is not None and _binds(target, key) else None

    def _next_text_layout(self, call: cst.Call, scope: Scope) -> tuple[str, bool] | None:
        found = self._nexted(call, scope)
        return self._laid_out(*found) if found is not None else None

    def _laid_out(self, source: cst.BaseExpression, scope: Scope) -> tuple[str, bool] | None:
        first = self.facts.fields_batch_first
        if first is None or not self._text_iterators(source, scope):
            return None
        return _named(source, "a torchtext iterator"), first

    def _sorts(self, function: Scope) -> bool:
        """The function (or one nested in it) calls something named like a sort: ``sorted``, ``list.sort``,
        ``torch.sort``, ``argsort``, ``sort_batch_by_length``."""
        for site in self.facts.calls:
            inner: Scope | None = site.scope
            while inner is not None and inner is not function:
                inner = inner.parent
            name = (method_name(site.node) or key_of(site.node.func) or "").rsplit(".", 1)[-1]
            if inner is function and "sort" in name.lower():
                return True
        return False

    def _collate_padding(self, loop: Loop, key: str) -> cst.Call | None:
        """``key`` is bound by ``loop`` to the field of a batch that the loader's ``collate_fn`` (a function of
        this file) makes with ``pad_sequence``: the element at its position in every tuple it returns."""
        target, source = target_and_source(loop)
        construction = self.construction(source, loop.scope) if target is not None else None
        collate = argument(construction, DATA_LOADER.collate_fn) if construction is not None else None
        function = self.facts.functions.get(collate.value) if isinstance(collate, cst.Name) else None
        if function is None or not function.returns:
            return None
        position = None if isinstance(target, cst.Name) and target.value == key else next(
            (i for i, e in enumerate(getattr(target, "elements", ())) if key_of(e.value) == key), -1)
        found = None
        for returned in function.returns:
            if position is None:
                element = returned
            elif position >= 0 and isinstance(returned, (cst.Tuple, cst.List)) and position < len(returned.elements):
                element = returned.elements[position].value
            else:
                return None
            found = self.padding(element, function)
            if found is None:
                return None
        return found

    def _loader_of(self, source: cst.BaseExpression, scope: Scope) -> str | None:
        """How a message names the shuffling, default-collated loader built in sight that ``source`` iterates
        (``loader``, ``iter(loader)``, ``tqdm(loader)``)."""
        source = _unwrapped(source)
        construction = self.construction(source, scope)
        if construction is None or not _collated(construction) or not self.facts.shuffles(construction):
            return None
        return f"`{key}`" if (key := key_of(source)) is not None else "a DataLoader"

    def _padded(self, call: cst.Call, scope: Scope) -> cst.Call | None:
        """``pad_sequence(seqs, ...)`` padding at the end (the default side)."""
        if not rnn_util(self.facts.qualify(call.func), "pad_sequence"):
            return None
        side = keyword_arg(call, "padding_side")
        return call if side is None or isinstance(side, cst.SimpleString) and side.evaluated_value == "right" else None

    def _next(self, call: cst.Call, scope: Scope) -> str | None:
        found = self._nexted(call, scope)
        return self._loader_of(*found) if found is not None else None

    def _next_collated(self, call: cst.Call, scope: Scope) -> cst.Call | None:
        found = self._nexted(call, scope)
        return _short_last(self.construction(_unwrapped(found[0]), found[1])) if found is not None else None

    def _nexted(self, call: cst.Call, scope: Scope) -> tuple[cst.BaseExpression, Scope] | None:
        """``next(batches)`` of ``batches = iter(loader)``, assigned once, or ``next(iter(loader))``: a batch of
        what the iterator is made of (``iter(loader)``), and where that is written."""
        args = positional_args(call)
        if not (isinstance(call.func, cst.Name) and call.func.value == "next") or len(args) != 1:
            return None
        key = key_of(args[0])
        if key is None:
            return args[0], scope
        home = self.facts.shapes.home(key, scope)
        made = self.facts.shapes.assigned(key, home) if home is not None else []
        return (made[0][0], home) if len(made) == 1 and made[0][0] is not None and home is not None else None

    def construction(self, source: cst.BaseExpression, scope: Scope) -> cst.Call | None:
        facts = self.facts
        if isinstance(source, cst.Call):
            return source if facts.qualify(source.func) in DATA_LOADERS else None
        key = key_of(source)
        binding = facts.lookup(key, scope) if key is not None else None
        return binding.construction if binding is not None and binding.kind == "loader" else None

    def fed_laid_out(self, qualified: Callable[[str], str]) -> tuple[tuple[str, int, bool, str], ...]:
        """(class, position, batch_first, what laid it out) for each call of an instance in a loop given a batch
        whose layout is known (``layout``): a module summary's ``laid_inputs``."""
        facts = self.facts
        if facts.fields_batch_first is None and not any(rnn_util(s.qualified, "pad_sequence") for s in facts.calls):
            return ()  # nothing here lays a batch out
        return tuple(sorted({(qualified(cls), position, laid[2], laid[1]) for cls, position, given, scope
                             in self._loop_inputs() if (laid := self.layout(given, scope, False)) is not None}))

    def _loop_inputs(self) -> Iterator[tuple[str, int, cst.BaseExpression, Scope]]:
        """(class as written, position, argument, scope) of each positional argument of a call of an instance
        in a loop."""
        for site in self.facts.calls:
            cls = self._instance_class(site.node.func, site.scope) if site.loop is not None else None
            for position, given in enumerate(positional_args(site.node) if cls is not None else ()):
                yield cls, position, given, site.scope

    def _laid_elsewhere(self, function: Scope, param: str) -> tuple[str, str, bool] | None:
        """``forward``'s parameter given a batch of a known layout by the modules that import the class (their
        summaries' ``laid_inputs``), when they agree on it."""
        feeders = self._feeders(function, param)
        if feeders is None:
            return None
        importers, built, position = feeders
        found = {(summary.name, first, maker) for summary in importers for name, at, first, maker in summary.laid_inputs
                 if name.rsplit(".", 1)[-1] in built and at == position}
        if len({(first, maker) for _, first, maker in found}) != 1:
            return None
        name, first, maker = min(found)
        return f"a batch {_layout(first)} by {maker} in `{name}`", maker, first

    def fed(self, qualified: Callable[[str], str]) -> tuple[tuple[str, int], ...]:
        """(class, position) for each call of an instance of a class in a loop given a batch at that position:
        a module summary's ``batch_inputs``; ``qualified`` spells a class name as written absolutely."""
        return tuple(sorted({(qualified(cls), position) for cls, position, given, scope in self._loop_inputs()
                             if self.loader(given, scope) is not None}))

    def _instance_class(self, func: cst.BaseExpression, scope: Scope) -> str | None:
        """The class (as written) of the instance a call calls: ``model`` of ``model = Net(...).to(device)``,
        an imported class too (a summary does not look into other modules)."""
        facts = self.facts
        if isinstance(func, cst.Call):
            return self._constructed(func)
        key = key_of(func)
        if key is None:
            return None
        binding = facts.lookup(key, scope)
        if binding is not None:
            return binding.detail if binding.kind == "instance" else None
        home = facts.shapes.home(key, scope)
        made = set()
        for value, _ in facts.shapes.assigned(key, home) if home is not None else ():
            made.add(self._constructed(value) if isinstance(value, cst.Call) else None)
        return made.pop() if len(made) == 1 else None

    def _constructed(self, value: cst.Call) -> str | None:
        """The class ``Net(...)`` (``.to(device)``) builds: one of this file, or a capitalised imported name."""
        while isinstance(value, cst.Call) and (inner := same_shape_inner(value, None)) is not None:
            value = inner
        name = key_of(value.func) if isinstance(value, cst.Call) else None
        if name is None or not (name in self.facts.classes and self.facts.classes[name].node is not None or (
                name.rsplit(".", 1)[-1][:1].isupper() and name.split(".", 1)[0] in self.facts.imports)):
            return None
        return name


def _layout(batch_first: bool) -> str:
    return "(batch, seq)" if batch_first else "(seq, batch)"


def _named(source: cst.BaseExpression, otherwise: str) -> str:
    """What a loop iterates, as a message names it."""
    name = key_of(_unwrapped(source))
    return f"`{name}`" if name is not None else otherwise


def _nothing(*_: object) -> None:
    """An origin this trace does not accept."""
    return None


def target_and_source(loop: Loop) -> tuple[cst.BaseExpression | None, cst.BaseExpression]:
    """A ``for`` loop's target and what it iterates, without ``enumerate`` (and its counter), ``tqdm``, ``iter``."""
    node = loop.node
    if not isinstance(node, cst.For):
        return None, node.test
    target, source = node.target, node.iter
    while isinstance(source, cst.Call) and isinstance(source.func, cst.Name) and source.args:
        if source.func.value == "enumerate":
            if not isinstance(target, cst.Tuple) or len(target.elements) != 2:
                return None, source
            target = target.elements[1].value
        elif source.func.value not in ITER_WRAPPERS:
            break
        source = source.args[0].value
    return target, source


def _binds(target: cst.BaseExpression, key: str) -> bool:
    """``key`` is the target or a name at any depth of its tuples: the batch, or a field of it."""
    if isinstance(target, cst.Name):
        return target.value == key
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds(element.value, key) for element in target.elements
                   if not isinstance(element, cst.StarredElement))
    return False


def _unwrapped(source: cst.BaseExpression) -> cst.BaseExpression:
    """``iter(loader)``, ``tqdm(loader)`` -> ``loader``."""
    while isinstance(source, cst.Call) and isinstance(source.func, cst.Name) and source.args and (
            source.func.value in ITER_WRAPPERS - {"enumerate"}):
        source = source.args[0].value
    return source


def _short_last(loader: cst.Call | None) -> cst.Call | None:
    """The loader, when it is default-collated and ``drop_last`` is not set (or is ``False``): its samples are on
    axis 0 and its last batch may be smaller."""
    if loader is None or not _collated(loader):
        return None
    dropped = argument(loader, DATA_LOADER.drop_last)
    return loader if dropped is None or isinstance(dropped, cst.Name) and dropped.value == "False" else None


def _collated(loader: cst.Call) -> bool:
    """Batched by the default collate: no ``collate_fn``, a batch size that is not ``None``."""
    if argument(loader, DATA_LOADER.collate_fn) is not None:
        return False
    size = argument(loader, DATA_LOADER.batch_size)
    return not (isinstance(size, cst.Name) and size.value == "None")
