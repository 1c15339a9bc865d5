"""Module facts -> module summary: the part of a file's facts that other files of the project use."""

from __future__ import annotations

import libcst as cst

from hs_lint import values
from hs_lint.device_facts import accelerator_evidence, device_facts
from hs_lint.facts import AssignSite, Binding, ClassInfo, FileFacts, Scope
from hs_lint.inline import module_names, template_of
from hs_lint.names import key_of, mentions, method_name
from hs_lint.project.summary import ClassSummary, Config, FunctionSummary, ModuleSummary, ObjectSummary
from hs_lint.reaching import ENTRY
from hs_lint.mappings import Loaded
from hs_lint.shapes import LEADING_AXES_KEPT, Dim, layer_width, typed
from hs_lint.torch_api import BATCH_ITERATORS, parameters
from hs_lint.torch_era import era


def summarise(facts: FileFacts, name: str) -> ModuleSummary:
    """``facts`` were gathered with a view that resolves relative imports only (``ModuleView(local=True)``):
    a summary depends on its own source alone, so it can be cached by content."""
    local = {c.name: c for c in facts.classes.values() if c.node is not None}
    own = {n: f for n, f in facts.functions.items() if f.summary is None}
    names = module_names(facts.module, facts.imports, name)
    return ModuleSummary(
        name=name,
        exports=_exports(facts, local, own),
        imports=dict(facts.imports),
        star_imports=tuple(facts.star_imports),
        classes={n: _class(facts, c, name) for n, c in local.items()},
        functions={n: _function(facts, f, name, names) for n, f in own.items()},
        objects=_objects(facts, name),
        constants=_constants(facts),
        constructions=_constructions(facts, name),
        device=device_facts(facts).as_dict(),
        torch_era=era(facts),
        accelerator=accelerator_evidence(facts),
        trains=any(loop.has_backward and not loop.no_grad for loop in facts.loops),
        loop_sets=tuple(sorted({key.rsplit(".", 1)[1] for site in facts.assignments if site.loop is not None
                                for key in site.target_keys if "." in key and not key.startswith("self.")})),
        loop_calls=tuple(sorted({name for site in facts.calls
                                 if site.loop is not None and (name := method_name(site.node)) is not None})),
        carries=any(_carries(site) for site in facts.assignments),
        reads=tuple(sorted(facts.attribute_reads)),
        batch_inputs=facts.batches.fed(lambda key: _qualified(facts, key, name)),
        laid_inputs=facts.batches.fed_laid_out(lambda key: _qualified(facts, key, name)),
        calls_out=facts.batches.calls_out(lambda key: _qualified(facts, key, name)),
    )


def _carries(site: AssignSite) -> bool:
    """``out, h = model(x, h)`` in a loop: the call is given back what it returned (whatever ``model`` is)."""
    return site.loop is not None and isinstance(site.value, cst.Call) and any(
        mentions(arg.value, frozenset(site.target_keys)) for arg in site.value.args)


def _qualified(facts: FileFacts, key: str, module: str) -> str:
    """A name as written in ``module`` -> its absolute spelling (``nn.LSTM`` -> "torch.nn.LSTM")."""
    head, _, rest = key.partition(".")
    if head in facts.classes and facts.classes[head].node is not None or head in facts.functions:
        return f"{module}.{key}"
    origin = facts.imports.get(head)
    if origin is None:
        return key
    return f"{origin}.{rest}" if rest else origin


def _binding(facts: FileFacts, binding: Binding | None, module: str) -> tuple[str, str] | None:
    if binding is None:
        return None
    if binding.kind == "instance":
        return ("instance", _qualified(facts, binding.detail, module))
    return (binding.kind, binding.detail)


def _function(facts: FileFacts, scope: Scope, module: str, names: dict[str, str] | None = None) -> FunctionSummary:
    """A function of the module (``names`` given) or a method (no template: a caller's ``self`` is not known)."""
    template = template_of(scope.node, names) if names is not None and isinstance(scope.node, cst.FunctionDef) \
        else None
    return FunctionSummary(
        name=scope.name,
        params=tuple(scope.params),
        detaches=scope.detaches,
        calls_backward=scope.calls_backward,
        is_recurrent_step=scope.is_recurrent_step,
        state_kind=scope.state_kind,
        state_params=tuple(sorted(facts.state_params(scope))),
        returns_pair=facts.returns_state_pair(scope),
        returns_state_tuple=facts.returns_tuple_state(scope),
        pair_when=facts.pair_condition(scope),
        returns=_binding(facts, facts.returned_binding(scope), module),
        template=(template.code, template.free, template.defaults) if template is not None else None,
        defaults={p.name.value: value for p in _params(scope) if (value := _default(facts, p, scope)) is not None},
        batch_params=facts.batches.param_batches(scope) if scope.node is not None else (),
        signature=facts.signature(scope) if scope.name == "forward" and scope.cls is not None else None,
        state_position=facts.state_position(scope) if scope.name == "forward" and scope.cls is not None else None,
        loader=facts.shapes.returned_loader(scope) if scope.node is not None and facts.builds_loaders else None,
        state_batch=facts.shapes.state_batch(scope) if scope.node is not None and (
            facts.recurrent_calls or facts.is_state_initialiser(scope)) else None,
    )


def _class(facts: FileFacts, cls: ClassInfo, module: str) -> ClassSummary:
    held = facts.held_attrs(cls)
    attrs = {a: b for a, binding in cls.attrs.items() if (b := _binding(facts, binding, module)) is not None}
    return ClassSummary(
        name=cls.name,
        bases=tuple(_qualified(facts, b, module) for b in cls.base_keys),
        recurrent_kind=cls.recurrent_kind,
        is_recurrent=cls.is_recurrent,
        attrs=attrs,
        methods={n: _function(facts, m, module) for n, m in cls.methods.items()},
        held_attrs=tuple(sorted(held)),
        summarises_sequence=facts.summarises_sequence(cls),
        resets={a: tuple(sorted(methods)) for a, methods in sorted(facts.own_resets(cls).items())},
        read_attrs=tuple(sorted(facts.attribute_reads)),
        called_attrs=tuple(sorted({key[5:] for site in facts.calls if site.scope.cls is cls
                                   and (key := key_of(site.node.func)) is not None
                                   and key.startswith("self.") and key.count(".") == 1})),
        attr_params={a: p[0] for a in _self_attrs(facts, cls) if (p := facts.attr_param(cls, a)) is not None},
        configs={a: c for a, binding in cls.attrs.items() if (c := _config(facts, binding)) is not None},
        layers=_layers(facts, cls),
    )


def _layers(facts: FileFacts, cls: ClassInfo) -> dict[str, dict[str, object]]:
    """``self.embed = nn.Embedding(vocab, dim)`` -> {"embed": {"kind": "torch.nn.Embedding", "width": dim as data}}:
    the class's layers that keep their input's leading axes, each built in one statement (for a subclass in
    another module that runs them)."""
    built: dict[str, list[AssignSite]] = {}
    for site in facts.assignments:
        for key in site.target_keys if site.scope.cls is cls else ():
            if key.startswith("self.") and key.count(".") == 1:
                built.setdefault(key[5:], []).append(site)
    found: dict[str, dict[str, object]] = {}
    for attr, sites in built.items():
        value = sites[0].value
        if len(sites) != 1 or len(sites[0].targets) != 1 or not isinstance(value, cst.Call):
            continue
        kind = facts.qualify(value.func)
        if kind in LEADING_AXES_KEPT:
            width = layer_width(kind, value)
            data = _parameter(facts, width, sites[0].scope) if width is not None else None
            found[attr] = {"kind": kind, "width": data if data is not None or width is None
                           else _constant(facts.shapes.certain_value(width, sites[0].scope))}
    return found


def _objects(facts: FileFacts, module: str) -> dict[str, ObjectSummary]:
    """The module-level names bound once to something rules follow, as an importer would see them; a name for a
    torch recurrent class (``Cell = nn.LSTM``) is a "class" whose detail is the kind."""
    found = {}
    for key, binding in facts.module_scope.bindings.items():
        plain = _binding(facts, binding, module)
        if "." not in key and plain is not None:
            found[key] = ObjectSummary(*plain, config=_config(facts, binding))
    for site in facts.assignments:
        name = site.targets[0] if site.scope is facts.module_scope and len(site.targets) == 1 else None
        kind = facts.recurrent_alias(name) if isinstance(name, cst.Name) else None
        if kind is not None:
            found[name.value] = ObjectSummary("class", kind)
    return found


def _constants(facts: FileFacts) -> dict[str, object]:
    """Module-level names assigned in one statement of the module and nowhere else, to a value the default run
    knows (what ``from config import HIDDEN`` reads)."""
    sites: dict[str, list] = {}
    for site in facts.assignments:
        for key in site.target_keys:
            sites.setdefault(key, []).append(site)
    found = {}
    looped = facts.shapes.loop_targets(facts.module_scope)
    for key, assigned in sites.items():
        site = assigned[0]
        if key in looped or "." in key or len(assigned) != 1 or site.scope is not facts.module_scope:
            continue
        if len(site.targets) != 1 or not isinstance(site.targets[0], cst.Name) or site.value is None or site.loop:
            continue
        value = _constant(facts.shapes.certain_value(site.value, facts.module_scope))
        if value is not None:
            found[key] = value
    return found


def _config(facts: FileFacts, binding: Binding) -> Config | None:
    """A recurrent module's configuration as data: constants, and the builder's parameters it is given as they
    are (``nn.LSTM(n_in, hidden)`` in ``__init__(self, n_in, hidden=64)``), for the importer to bind."""
    if binding.kind not in ("module", "loader"):
        return None
    if binding.construction is None:
        return binding.config  # itself imported: passed on as it came
    if binding.kind == "loader":  # its class and the arguments that decide its batches
        if facts.qualify(binding.construction.func) not in BATCH_ITERATORS:
            return None
        qualified, given = facts.shapes.portable_loader(binding.construction, facts.module_scope)
        return {"iterator": qualified, **given}
    shapes = facts.shapes
    module = shapes.modules.get(id(binding.construction))
    if module is None:
        return None
    data: Config = {"kind": module.kind}
    for name in parameters(module.kind):
        param = _parameter(facts, module.args.get(name), module.scope)
        data[name] = param if param is not None else _constant(shapes.certain(module, name))
    return data


def _parameter(facts: FileFacts, expr: cst.BaseExpression | None, scope: Scope) -> dict[str, object] | None:
    """``{"param": name, "default": value}`` for an argument that is the builder's parameter, unchanged."""
    if not isinstance(expr, cst.Name) or expr.value not in scope.params:
        return None
    if scope.is_method and scope.params[0] == expr.value or facts.reaching(expr, expr.value, scope) != {ENTRY}:
        return None
    param = next((p for p in _params(scope) if p.name.value == expr.value), None)
    if param is None:
        return None
    default = _default(facts, param, scope)
    return {"param": expr.value, "default": default} if default is not None else {"param": expr.value}


def _params(scope: Scope) -> list[cst.Param]:
    node = scope.node
    if not isinstance(node, cst.FunctionDef):
        return []
    return [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]


def _default(facts: FileFacts, param: cst.Param, scope: Scope) -> object:
    """A parameter's default as data (a constant the module knows), else None."""
    return _constant(facts.shapes.certain_value(param.default, scope.parent or facts.module_scope))


def _constant(value: object) -> object:
    """A configuration value as data: an int, bool, float or string; None for a symbol or unknown."""
    if isinstance(value, Dim):
        return value.value
    return value if isinstance(value, (bool, float, str)) else None


def _self_attrs(facts: FileFacts, cls: ClassInfo) -> list[str]:
    init = cls.methods.get("__init__")
    return sorted({k[5:] for site in facts.assignments if site.scope is init
                   for k in site.target_keys if k.startswith("self.") and k.count(".") == 1})


def _constructions(facts: FileFacts, module: str) -> tuple[tuple[str, dict[str, dict], bool], ...]:
    """Every call of a class here, with what each argument can be (for a rule in the class's own module), and
    whether the default run reaches it.
    Imported capitalised names are kept too (a summary does not look into other modules), and one that may
    come from a star import as ``*.Name``: the index decides which class each is."""
    found = []
    for site in facts.calls:
        key = key_of(site.node.func)
        cls = facts.imported_class(key) if key is not None and "." in key else facts.classes.get(key or "")
        if key is None:
            continue
        capitalised = key.rsplit(".", 1)[-1][:1].isupper()  # a class by convention, resolved by the index
        starred = (cls is None and bool(facts.star_imports) and capitalised and "." not in key
                   and key not in facts.imports and key not in facts.functions)
        imported = capitalised and key.split(".", 1)[0] in facts.imports
        if cls is None and not starred and not imported:
            continue
        found.append((f"*.{key}" if starred else _qualified(facts, key, module), _arguments(facts, site),
                      facts.shapes.reached(site)))
    return tuple(found)


def _arguments(facts: FileFacts, site) -> dict[str, dict]:
    """A call's arguments by keyword or ``#position``: ``{"choice": Choice data, "value": a constant}`` (what the
    default configuration passes), an entry of a ``**mapping`` by its key; ``"*"`` marks arguments that cannot
    be followed (then what is not listed is unknown, not the default)."""
    args: dict[str, dict] = {}
    position = 0
    for arg in site.node.args:
        entries = facts.shapes.mappings.mapping(arg.value, site.scope) if arg.star == "**" else None
        if entries is not None:
            for name, entry in entries.items():
                args[name] = (_described(facts, *entry) if not isinstance(entry, Loaded)
                              else {"choice": None, "value": _constant(typed(entry.value))})
        elif arg.star:
            args["*"] = {}
            if arg.star == "*":
                break  # later positions are unknown
        else:
            args[arg.keyword.value if arg.keyword is not None else f"#{position}"] = _described(
                facts, arg.value, site.scope)
            position += arg.keyword is None
    return args


def _described(facts: FileFacts, expr: cst.BaseExpression, scope: Scope) -> dict[str, object]:
    """An argument as data; a name imported from another module is passed on for the index to read
    (``{"import": "config.HIDDEN"}``): a summary reads no other module."""
    found_choice = values.choice(facts, expr, scope)
    value = _constant(facts.shapes.certain_value(expr, scope))
    key = key_of(expr)
    if value is None and key is not None and key.count(".") <= 1 and key.split(".")[0] in facts.imports:
        value = {"import": _qualified(facts, key, "")}
    return {"choice": found_choice.as_data() if found_choice is not None else None, "value": value}


def _exports(facts: FileFacts, classes: dict, functions: dict) -> tuple[str, ...]:
    """``__all__`` when it is a literal list of strings, else every public top-level name."""
    names: set[str] = {*classes, *functions, *facts.imports}
    for site in facts.assignments:
        if site.scope is facts.module_scope and site.loop is None:
            for key in site.target_keys:
                if "." not in key:
                    names.add(key)
                if key == "__all__" and isinstance(site.value, (cst.List, cst.Tuple)):
                    listed = [e.value.evaluated_value for e in site.value.elements
                              if isinstance(e.value, cst.SimpleString)]
                    return tuple(n for n in listed if isinstance(n, str))
    return tuple(sorted(n for n in names if not n.startswith("_")))
