"""One-expression helpers read at their call sites.

A function whose body is one ``return <expression>`` is, to the analysis, that expression with its caller's
arguments: ``out, h = step(self.rnn, x, h)`` runs ``self.rnn(x, h)``, ``last(out)`` reads ``out[-1]``, and
``make(n)`` builds ``nn.LSTM(n, 64)``. So the tree is expanded before its facts are gathered, as a compiler
inlines small functions, and every rule sees the mistake however the code splits it. A helper of another
module arrives as its summary's ``template``: the expression's text and the absolute names its free names
stand for, which must mean the same at the call site (else the call stays as written).

The expanded tree shares every untouched node with the parsed one; ``Expansion.original`` maps each node it
made back to the code as written that it stands for: the call, for the call's whole value; the helper's own
expression, for a part of it (a helper of this module). So findings land on the code the user wrote.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint.names import alias_bindings, key_of
from hs_lint.parallel import split_parallel
from hs_lint.prefilter import HELPER_LOCALS
from hs_lint.tree_edit import name_reads, paths_to, read_names, rebuild, replaced
from hs_lint.walk import code_children, code_nodes, walk

if TYPE_CHECKING:
    from hs_lint.project.index import ModuleView

MAX_DEPTH = 3  # helpers calling helpers, expanded this deep
_UNSUPPORTED = (cst.Yield, cst.Await, cst.Lambda, cst.NamedExpr, cst.GeneratorExp, cst.ListComp, cst.SetComp,
                cst.DictComp, cst.FormattedString)
_BUILTINS = {name: f"builtins.{name}" for name in dir(builtins) if not name.startswith("_")}
_CODE = cst.Module(body=())  # renders a node's code


@dataclass(frozen=True)
class Template:
    """A helper as its callers see it: its parameters, the expression it returns (one line), and what each other
    name that expression reads stands for (absolute: "torch.nn", "pkg.model.Net", "builtins.len")."""

    params: tuple[str, ...]
    code: str
    free: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)  # parameter -> its default, a name or a literal
    node: cst.BaseExpression | None = field(default=None, compare=False)  # the expression, for a helper of this file
    # its nodes made by substituting the helper's locals -> the code as written they stand for
    origins: dict[int, cst.CSTNode] = field(default_factory=dict, compare=False)


def template_of(function: cst.FunctionDef, names: dict[str, str], method: bool = False) -> Template | None:
    """``function`` as a template, or None when it is more than one plain ``return``. ``names``: what the
    module's own names stand for (``module_names``)."""
    params = function.params
    if (function.decorators or function.asynchronous or params.star_arg is not cst.MaybeSentinel.DEFAULT
            and params.star_arg is not None or params.kwonly_params or params.star_kwarg or params.posonly_params
            or any(p.default is not None and not _pure(p.default) for p in params.params)
            or (method and not params.params)):
        return None
    returned = _returned(function)
    if returned is None:
        return None
    value, origins = returned
    expression = value.with_changes(lpar=[], rpar=[]) if not isinstance(value, cst.Tuple) else value
    code = _CODE.code_for_node(expression)
    if "\n" in code or "#" in code or any(isinstance(n, _UNSUPPORTED) for n in code_nodes(expression)):
        return None
    own = {p.name.value for p in params.params}
    defaults = {p.name.value: p.default for p in params.params if p.default is not None}
    free = {}
    for name in [*read_names(expression), *(n for d in defaults.values() for n in read_names(d))]:
        if name not in own:
            if name not in names:
                return None
            free[name] = names[name]
    return Template(tuple(p.name.value for p in params.params), code, free,
                    {p: _CODE.code_for_node(d) for p, d in defaults.items()}, value, origins)


def module_names(module: cst.Module, imports: dict[str, str], module_name: str) -> dict[str, str]:
    """What each name of the module's global scope stands for: builtins, its own top-level definitions
    (``<module_name>.<name>``) and its imports (absolute)."""
    names = dict(_BUILTINS)
    for name in _top_level_bindings(module):
        names[name] = f"{module_name}.{name}"
    names.update(imports)
    return names


@dataclass
class Expansion:
    module: cst.Module
    origins: dict[int, cst.CSTNode] = field(default_factory=dict)  # id(new node) -> the parsed node it stands for
    replaced: list[cst.Call] = field(default_factory=list)  # the parsed calls that were expanded
    # made nodes holding only the helper's own text (no argument) -> the call they were expanded from: what they
    # show, the helper's file shows itself (unless the rule judges it at the call: ``Rule.judged_at_call``)
    helpers_own: dict[int, cst.CSTNode] = field(default_factory=dict)
    # names the expanded code reads that the file never imported: a helper module's own names (local -> absolute)
    imports: dict[str, str] = field(default_factory=dict)

    def original(self, node: cst.CSTNode) -> cst.CSTNode:
        return self.origins.get(id(node), node)

    def is_original(self, node: cst.CSTNode) -> bool:
        return id(node) not in self.origins


def expand(module: cst.Module, project: ModuleView | None = None) -> Expansion:
    """``module`` as the analysis reads it: each call of a one-expression helper replaced by the expression it
    returns, then each parallel assignment split into one per name (``hs_lint.parallel``)."""
    expansion = _with_helpers(module, project)
    expansion.module = split_parallel(expansion.module, expansion.origins)
    return expansion


def _with_helpers(module: cst.Module, project: ModuleView | None) -> Expansion:
    if not _may_expand(module, project):
        return Expansion(module)  # no helper here, nothing imported from the project: no walk
    survey = _Survey(project)
    for statement in module.body:
        survey.top = statement
        walk(statement, survey)
    own = project.name if project is not None else "<module>"
    names = module_names(module, survey.imports, own)
    templates = survey.templates(names)
    expansion = Expansion(module)
    if not templates:
        return expansion
    replacements = {}
    tops: dict[int, cst.CSTNode] = {}  # the top-level statements holding an expanded call
    for call, top, cls, bound in survey.calls:
        new = _expanded(call, _Context(templates, names, bound, cls, expansion, own, project), 0, ())
        if new is not None:
            replacements[id(call)] = new
            expansion.replaced.append(call)
            tops[id(top)] = top
    if replacements:
        on_path = {id(module)}.union(*(paths_to(top, replacements) | {id(top)} for top in tops.values()))
        expansion.module = rebuild(module, replacements, on_path, expansion.origins)
    return expansion


@dataclass(frozen=True)
class _Context:
    templates: dict[str, Template | None]  # None: a spelling looked up and found to be no helper
    names: dict[str, str]  # the caller's module: name -> what it stands for
    bound: frozenset[str]  # names the functions around the call bind
    cls: str | None  # the class whose method the call is in
    expansion: Expansion
    module: str  # the caller's module, absolute
    project: ModuleView | None = None


def _expanded(call: cst.Call, context: _Context, depth: int, active: tuple[str, ...]) -> cst.BaseExpression | None:
    """The expression ``call`` stands for, with helpers inside it expanded too; None when it stays a call."""
    key = key_of(call.func)
    if key is None or depth >= MAX_DEPTH or key in active:
        return None
    method = key.startswith("self.") and key.count(".") == 1
    if depth and not method and key not in context.templates:
        context.templates[key] = _nested_template(key, context)
    template = context.templates.get(f"{context.cls}:{key}" if method else key)
    if template is None or not method and key.split(".", 1)[0] in context.bound:
        return None
    arguments = _bind(call, template.params[1:] if method else template.params, template.defaults)
    if arguments is None:
        return None
    if method:
        arguments[template.params[0]] = call.func.value
    renames = {}
    for name, meaning in template.free.items():
        spelling = _spelling(meaning, name, context)
        if spelling is None:
            return None
        if spelling != name:
            renames[name] = cst.parse_expression(spelling)
    expression = cst.parse_expression(template.code)
    uses = read_names(expression)
    for param, argument in arguments.items():
        if uses.count(param) != 1 and not _pure(argument):
            return None  # an argument read twice or never: its evaluation would change
    defaulted = {p: cst.parse_expression(d).visit(Substitute(renames)) for p, d in template.defaults.items()
                 if p not in arguments}
    new = expression.visit(Substitute({**defaulted, **arguments, **renames}))
    kept = set(map(id, arguments.values()))
    origin = context.expansion.original(call)
    _own_text(new, kept, context.expansion.helpers_own, origin)
    if template.node is not None:  # a helper of this file: a finding inside its expression is placed there
        _map_onto(new, template.node, kept, context.expansion.origins, template.origins)
    else:
        context.expansion.origins.update((id(node), origin) for node in _own_nodes(new, kept))
    inner = {}
    for nested in _calls_below(new, kept):
        deeper = _expanded(nested, context, depth + 1, (*active, key))
        if deeper is not None:
            inner[id(nested)] = deeper
    if inner:
        new = replaced(new, inner, paths_to(new, inner), context.expansion.origins)
    if call.lpar:
        new = new.with_changes(lpar=call.lpar, rpar=call.rpar)
    elif not isinstance(new, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.BaseNumber, cst.BaseString)):
        new = new.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    context.expansion.origins[id(new)] = origin  # the call's whole value is the caller's: reported at the call
    return new


def _spelling(meaning: str, name: str, context: _Context) -> str | None:
    """How the caller names what the helper's ``name`` stands for: the same name, another name (``import torch.nn
    as tnn``), an attribute of an imported package (``torch.nn``), or a name the expansion imports for it (the
    helper module's own ``args``: ``Expansion.imports``); None for a builtin or a name of this module it cannot
    reach."""
    names = context.names
    if names.get(name) == meaning:
        return name if name not in context.bound else None
    usable = [(local, known) for local, known in names.items() if local not in context.bound]
    exact = next((local for local, known in usable if known == meaning), None)
    found = exact or next((local + meaning[len(known):] for local, known in usable
                           if meaning.startswith(known + ".")), None)
    if found is not None or meaning.startswith(("builtins.", f"{context.module}.")):
        return found
    imports = context.expansion.imports
    fresh = next((local for local, known in imports.items() if known == meaning), None)
    if fresh is None:
        fresh = f"_hs_{len(imports)}_{name}"
        while fresh in names or fresh in context.bound:
            fresh = f"_{fresh}"
        imports[fresh] = meaning
    return fresh


def _bind(call: cst.Call, params: tuple[str, ...], defaults: dict[str, str]) -> dict[str, cst.BaseExpression] | None:
    """Parameter -> argument, when every parameter without a default gets exactly one and nothing is unpacked."""
    bound: dict[str, cst.BaseExpression] = {}
    for position, arg in enumerate(call.args):
        if arg.star:
            return None
        name = arg.keyword.value if arg.keyword is not None else params[position] if position < len(params) else None
        if name is None or name not in params or name in bound:
            return None
        bound[name] = arg.value
    return bound if all(p in bound or p in defaults for p in params) else None


def _pure(expr: cst.BaseExpression) -> bool:
    return key_of(expr) is not None or isinstance(expr, (cst.BaseNumber, cst.SimpleString))


class Substitute(cst.CSTTransformer):
    """Parameters -> arguments and free names -> the caller's spelling; attribute and keyword names stay."""

    def __init__(self, values: dict[str, cst.BaseExpression]) -> None:
        self.values = values

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self.values.get(original.value, updated)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)


def _own_nodes(root: cst.CSTNode, kept: set[int]) -> Iterator[cst.CSTNode]:
    """The nodes the expansion made: ``root`` and what is below it, without the arguments' own subtrees."""
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in kept:
            continue
        yield node
        stack.extend(code_children(node))


def _map_onto(new: cst.CSTNode, written: cst.CSTNode, kept: set[int], origins: dict[int, cst.CSTNode],
              through: dict[int, cst.CSTNode]) -> None:
    """Map the nodes the expansion made onto the helper's own expression, node for node (the same shape, but
    where a parameter became an argument, kept as it is, or a name became an attribute chain); ``through``
    maps a node of that expression made from the helper's locals to the code as written."""
    stack = [(new, written)]
    while stack:
        made, source = stack.pop()
        if id(made) in kept:
            continue
        origins[id(made)] = through.get(id(source), source)
        children, originals = list(code_children(made)), list(code_children(source))
        if type(made) is not type(source) or len(children) != len(originals):
            origins.update((id(n), through.get(id(source), source)) for n in _own_nodes(made, kept))
            continue
        stack.extend(zip(children, originals))


def _own_text(node: cst.CSTNode, kept: set[int], found: dict[int, cst.CSTNode], call: cst.CSTNode) -> bool:
    """Map the nodes under ``node`` that hold no argument to ``call`` in ``found``; whether ``node`` is one."""
    if id(node) in kept:
        return False
    own = all([_own_text(child, kept, found, call) for child in code_children(node)])
    if own:
        found[id(node)] = call
    return own


def _calls_below(root: cst.CSTNode, kept: set[int]) -> Iterator[cst.Call]:
    """Calls the template itself wrote (not the arguments')."""
    return (n for n in _own_nodes(root, kept) if isinstance(n, cst.Call))


def _may_expand(module: cst.Module, project: ModuleView | None) -> bool:
    """A one-return function or method is defined here, or a module of the project is imported."""
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            if any(isinstance(s, cst.FunctionDef) and _returned(s) for s in statement.body.body):
                return True
        elif isinstance(statement, cst.FunctionDef) and _returned(statement):
            return True
    return project is not None and any(project.in_project(m) for m in _imported_modules(module, project))


def _returned(function: cst.FunctionDef) -> tuple[cst.BaseExpression, dict[int, cst.CSTNode]] | None:
    """The expression a helper returns, and what each node made for it stands for: the ``return`` that is its
    whole body (a docstring aside, in an indented block or on the ``def`` line), or a ``return`` after a few
    assignments of local names, each read once after it (``h = torch.zeros(...)`` then ``return h``, read as
    ``return torch.zeros(...)``)."""
    if isinstance(function.body, cst.SimpleStatementSuite):
        smalls = list(function.body.body)
    else:
        lines = [s for s in function.body.body if not _is_docstring(s)]
        if len(lines) > HELPER_LOCALS + 1 or not all(isinstance(line, cst.SimpleStatementLine) for line in lines):
            return None
        smalls = [small for line in lines for small in line.body]
    if not smalls or len(smalls) > HELPER_LOCALS + 1 or not isinstance(last := smalls[-1], cst.Return) \
            or last.value is None:
        return None
    targets = [s.targets[0].target if isinstance(s, cst.Assign) and len(s.targets) == 1 else None for s in smalls[:-1]]
    names = [t.value for t in targets if isinstance(t, cst.Name)]
    params = {p.name.value for p in function.params.params}
    if len(names) != len(targets) or len(set(names)) != len(names) or set(names) & params:
        return None
    values = [s.value for s in smalls[:-1]]
    if any(set(read_names(value)) & set(names[i:]) for i, value in enumerate(values)):
        return None  # a value reads its own name or a later one: an outer or earlier binding
    reads = [*read_names(last.value), *(n for value in values for n in read_names(value))]
    if any(reads.count(name) != 1 for name in names):
        return None  # read twice, or never: its evaluation would move
    origins: dict[int, cst.CSTNode] = {}
    expression = last.value
    for name, value in reversed(list(zip(names, values))):  # the last first: its value may read the earlier ones
        if not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.BaseNumber, cst.BaseString)):
            origins[id(wrapped := value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))] = value
            value = wrapped
        reading = {id(node): value for node in name_reads(expression) if node.value == name}
        expression = replaced(expression, reading, paths_to(expression, reading), origins)
    return expression, origins


def _imported_modules(module: cst.Module, project: ModuleView) -> Iterator[str]:
    """The modules the top level imports from (also inside a top-level ``try``/``if``), absolute."""
    statements = list(module.body)
    for statement in module.body:
        if isinstance(statement, (cst.Try, cst.If)):
            statements.extend(statement.body.body)
    for statement in statements:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Import):
                yield from (key_of(alias.name) or "" for alias in small.names)
            elif isinstance(small, cst.ImportFrom):
                name = key_of(small.module) if small.module is not None else None
                found = project.absolute(len(small.relative), name) if small.relative else name
                if found:
                    yield found


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and isinstance(
        statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.BaseString)


def _targets(node: cst.CSTNode | None) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _targets(element.value)
    elif isinstance(node, cst.StarredElement):
        yield from _targets(node.value)


def _top_level_bindings(module: cst.Module) -> Iterator[str]:
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            yield statement.name.value
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        yield from _targets(target.target)
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    yield from _targets(small.target)


class _Survey(cst.CSTVisitor):
    """One walk: imports, one-return helpers, and every call with the names bound in the functions around it
    and the class whose method it is in."""

    def __init__(self, project: ModuleView | None) -> None:
        super().__init__()
        self.project = project
        self.imports: dict[str, str] = {}
        self.functions: dict[str, cst.FunctionDef | None] = {}  # top-level; None when defined twice
        self.methods: dict[tuple[str, str], cst.FunctionDef | None] = {}
        self.calls: list[tuple[cst.Call, cst.CSTNode, str | None, frozenset[str]]] = []  # (call, top, class, bound)
        self.top: cst.CSTNode | None = None  # the top-level statement being walked
        self._scopes: list[tuple[cst.CSTNode, set[str], str | None]] = []  # (def or class, bound names, class)

    def templates(self, names: dict[str, str]) -> dict[str, Template]:
        """Call spelling -> template: this module's helpers, ``<Class>:self.<method>``, imported helpers."""
        found = {n: t for n, f in self.functions.items() if f is not None and (t := template_of(f, names))}
        for (cls, name), function in self.methods.items():
            template = template_of(function, names, method=True) if function is not None else None
            if template is not None:
                found[f"{cls}:self.{name}"] = template
        if self.project is not None:
            for spelling in {key_of(c.func) for c, _, _, _ in self.calls} - {None} - set(found):
                head, _, rest = spelling.partition(".")
                if head in self.imports and "." not in rest:
                    template = _imported_template(self.project, f"{self.imports[head]}.{rest}" if rest
                                                  else self.imports[head])
                    if template is not None:
                        found[spelling] = template
        return found

    def _bound_here(self, names: Iterator[str] | list[str]) -> None:
        if self._scopes and not isinstance(self._scopes[-1][0], cst.ClassDef):
            self._scopes[-1][1].update(names)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bound_here([node.name.value])
        owner = self._scopes[-1][0] if self._scopes else None
        if owner is None:
            self.functions[node.name.value] = None if node.name.value in self.functions else node
        elif isinstance(owner, cst.ClassDef) and len(self._scopes) == 1:
            key = (owner.name.value, node.name.value)
            self.methods[key] = None if key in self.methods else node
        params = node.params
        bound = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                bound.add(star.name.value)
        cls = owner.name.value if isinstance(owner, cst.ClassDef) else None
        self._scopes.append((node, bound, cls))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bound_here([node.name.value])
        self._scopes.append((node, set(), None))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False  # its parameters are its own; a call inside it is left as written

    def visit_Call(self, node: cst.Call) -> None:
        functions = [(bound, cls) for n, bound, cls in self._scopes if isinstance(n, cst.FunctionDef)]
        bound = frozenset().union(*(b for b, _ in functions)) if functions else frozenset()
        self.calls.append((node, self.top, functions[-1][1] if functions else None, bound))

    def visit_Import(self, node: cst.Import) -> None:
        bindings = dict(alias_bindings(node.names, None))
        if self._scopes:
            self._bound_here(bindings)
        else:
            self.imports.update(bindings)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = key_of(node.module) if node.module is not None else None
        if node.relative:
            module = self.project.absolute(len(node.relative), module) if self.project is not None else None
        bindings = dict(alias_bindings(node.names, module or "?"))
        if self._scopes:
            self._bound_here(bindings)
        elif module is not None:
            self.imports.update(bindings)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bound_here(_targets(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bound_here(_targets(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bound_here(_targets(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._bound_here(_targets(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bound_here(_targets(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        self._bound_here(_targets(node.name))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bound_here(_targets(node.target))

    def visit_Global(self, node: cst.Global) -> None:
        self._bound_here([n.name.value for n in node.names])

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._bound_here([n.name.value for n in node.names])


def _nested_template(key: str, context: _Context) -> Template | None:
    """A helper that an expanded helper calls, though this file never calls it: found through what its name
    stands for here (an import, or a name the expansion imports for it), so a helper of a helper is read too."""
    head, _, rest = key.partition(".")
    meaning = context.names.get(head) or context.expansion.imports.get(head)
    if context.project is None or meaning is None or "." in rest or head in context.bound:
        return None
    return _imported_template(context.project, f"{meaning}.{rest}" if rest else meaning)


def _imported_template(project: ModuleView, qualified: str) -> Template | None:
    from hs_lint.project.summary import FunctionSummary

    found = project.resolve(qualified)
    if not isinstance(found, FunctionSummary) or found.template is None:
        return None
    code, free, defaults = found.template
    return Template(found.params, code, dict(free), dict(defaults))
