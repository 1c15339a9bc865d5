"""What CPython's tree of a file holds, as the screen (``hs_lint.prefilter``) reads it.

One pass over the statements (imports, functions, loops, dropped calls, the carried shape), one
over the expressions (what calls, aliases and class bases resolve to), and the few walks a single
precondition needs. Nothing here imports libcst: this is all a file with nothing recurrent costs.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import re
from collections.abc import Iterator

from hs_lint.torch_api import RECURRENT_KINDS

# The torch knowledge the screen needs (tests/test_screen.py checks it against hs_lint.facts).
RECURRENT_WORDS = ("RNN", "LSTM", "GRU")  # in the name of every one of them
TORCH_RECURRENT = frozenset(f"{prefix}.{kind}" for kind in RECURRENT_KINDS
                            for prefix in ("torch.nn", "torch.nn.modules.rnn"))
TENSOR_FACTORIES = frozenset(
    f"torch.{name}" for name in ("zeros", "ones", "empty", "randn", "rand", "full", "Tensor", "FloatTensor")
)
DROPPED_METHODS = frozenset({"detach", "to", "cuda", "cpu", "contiguous", "float", "half", "double", "bfloat16"})
STATE_INIT_NAME = re.compile(r"(init|initial|zero|begin|reset|new|default)_?(hidden|state)", re.IGNORECASE)
# The same, for text already lowered: ten times faster on a long file than the case-insensitive search.
LOWER_STATE_INIT_NAME = re.compile(STATE_INIT_NAME.pattern.replace("(", "(?:"))
NO_NAMES: frozenset[str] = frozenset()
_MAX_CHAIN = 8  # names followed through their assigned values at most this far


class Expressions:
    """One pass over every node: the names calls, aliases and class bases stand for, and type comparisons."""

    def __init__(self, tree: ast.AST, imports: dict[str, set[str]], lines: list[int] | None = None) -> None:
        """``lines``: only the nodes that span one of these (sorted) lines are read, and only ``named`` is whole."""
        self.named: set[str] = set()  # what a call, an alias (``Cell = nn.LSTM``) or a class base may resolve to
        self.called: set[str] = set()  # the last part of every name a call may resolve to
        self.undevised: set[str] = set()  # what a call without ``device=`` may resolve to
        self.type_to_variable = False
        for node in ast.walk(tree) if lines is None else spanning(tree, lines):
            kind = type(node)
            if kind is ast.Call:
                func = node.func
                if type(func) is ast.Name and func.id == "getattr" and len(node.args) == 2 and \
                        isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    head = dotted(node.args[0])  # ``getattr(nn, "LSTM")`` (``facts._aliases``)
                    keys = [f"{head}.{node.args[1].value}"] if head else []
                else:
                    keys = class_spellings(func)
                names = self._resolve(keys, imports)
                if keys[0:1] != [None]:
                    self.called.update(name.rpartition(".")[2] for name in (*names, *filter(None, keys)))
                if not any(k.arg == "device" for k in node.keywords):
                    self.undevised.update(names)
            elif kind is ast.Assign:
                self._resolve(class_spellings(node.value), imports)
            elif kind is ast.ClassDef:
                self._resolve([dotted(base) for base in node.bases], imports)
            elif kind is ast.Compare and not self.type_to_variable:
                self.type_to_variable = type_compared_to_variable(node, imports)

    def _resolve(self, keys: list[str | None], imports: dict[str, set[str]]) -> list[str]:
        names = [name for key in keys if key for name in qualifications(key, imports)]
        self.named.update(names)
        return names


def class_spellings(node: ast.AST, depth: int = 0) -> list[str | None]:
    """What a callee or an assigned value may name: ``nn.LSTM``, both of ``nn.GRU if gru else nn.LSTM``, every
    value of ``{"lstm": nn.LSTM, "gru": nn.GRU}`` (indexed or not) (``facts._class_kinds``)."""
    if depth < 4 and isinstance(node, ast.IfExp):
        return class_spellings(node.body, depth + 1) + class_spellings(node.orelse, depth + 1)
    if depth < 4 and isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        return class_spellings(node.value, depth + 1)
    if depth < 4 and isinstance(node, ast.Dict):
        return [key for value in node.values for key in class_spellings(value, depth + 1)]
    return [dotted(node)]


def spanning(tree: ast.AST, lines: list[int]) -> Iterator[ast.AST]:
    """``ast.walk``, without the nodes (and so their children) whose lines hold none of ``lines``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        start = getattr(node, "lineno", None)
        if start is not None:
            end = getattr(node, "end_lineno", None) or start
            start = min([start, *(d.lineno for d in getattr(node, "decorator_list", ()))])  # they come first
            at = bisect.bisect_left(lines, start)
            if at == len(lines) or lines[at] > end:
                continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def type_compared_to_variable(node: ast.Compare, imports: dict[str, set[str]]) -> bool:
    left = node.left
    if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "type"
            and len(left.args) + len(left.keywords) == 1):
        return False
    keys = [key for comparator in node.comparators if (key := dotted(comparator))]
    return any(name.endswith("Variable") for key in keys for name in (key, *qualifications(key, imports)))


def scopes(tree: ast.AST) -> Iterator[list[ast.AST]]:
    """The nodes of the module and of each function, each without those of the functions nested in it."""
    pending = [tree]
    while pending:
        owner = pending.pop()
        nodes, stack = [], list(ast.iter_child_nodes(owner))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                pending.append(node)
                continue
            nodes.append(node)
            stack.extend(ast.iter_child_nodes(node))
        yield nodes


def packs_moved_lengths(nodes: list[ast.AST], imports: dict[str, set[str]]) -> bool:
    """In one scope's nodes: a pack_padded_sequence call whose lengths may be a moved tensor."""
    values: dict[str, list[ast.expr]] = {}
    for node in nodes:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and len(targets) == 1 and \
                node.value is not None and (key := dotted(targets[0])) is not None:
            values.setdefault(key, []).append(node.value)

    def moved(expr: ast.expr | None, depth: int = 0) -> bool:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("cuda", "to"):
            return True
        key = dotted(expr) if expr is not None and depth < _MAX_CHAIN else None
        return key is not None and any(moved(v, depth + 1) for v in values.get(key, ()) if not isinstance(v, ast.Name))

    for call in nodes:
        key = dotted(call.func) if isinstance(call, ast.Call) else None
        if key is None or not any(name.rpartition(".")[2] == "pack_padded_sequence"
                                  for name in (key, *qualifications(key, imports))):
            continue
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return True
        if any(moved(expr) for expr in (*call.args[1:2], *(k.value for k in call.keywords if k.arg == "lengths"))):
            return True
    return False


BUILTINS = frozenset(dir(builtins))


def walk_once(node: ast.AST, seen: set[int]) -> Iterator[ast.AST]:
    """``ast.walk`` that skips what an earlier walk (of an enclosing loop) has visited."""
    stack = [node]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(ast.iter_child_nodes(node))


def bound_names(tree: ast.AST) -> set[str]:
    """Names the file binds itself (assigned, a parameter, defined, imported)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add((node.asname or node.name).split(".")[0])
    return found


class Statements:
    """One pass over the statements (not the expressions) of a tree."""

    def __init__(self, tree: ast.AST) -> None:
        self.imports: dict[str, set[str]] = {}  # local name -> every origin it is imported from
        self.origins: list[str] = []  # every imported name, relative ones with their leading dots
        self.functions: list[str] = []
        self.module_functions: set[str] = set()  # ``facts.functions``: defined outside every function and class
        self.dropped: set[str] = set()  # methods called as a statement
        self.loop_nodes: list[ast.AST] = []
        assignments: list[tuple[ast.Assign, frozenset[str]]] = []  # with the methods of the class they run in
        # Each statement with where it is: "module", "function", or "class"/"method" with the class's method names.
        stack: list[tuple[ast.AST, str, frozenset[str]]] = [(n, "module", NO_NAMES) for n in getattr(tree, "body", ())]
        while stack:
            node, where, methods = stack.pop()
            kind = type(node)
            inside = (where, methods)
            if kind is ast.Assign:
                assignments.append((node, methods if where == "method" else NO_NAMES))
            elif kind is ast.Expr:
                call = node.value
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                    self.dropped.add(call.func.attr)
            elif kind in (ast.For, ast.AsyncFor, ast.While):
                self.loop_nodes.append(node)
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                self.functions.append(node.name)
                if where == "module":
                    self.module_functions.add(node.name)
                inside = ("method", methods) if where == "class" else ("function", NO_NAMES)
            elif kind is ast.ClassDef:
                inside = ("class", frozenset(n.name for n in node.body
                                             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))))
            elif kind is ast.Import:
                self._import(node)
            elif kind is ast.ImportFrom:
                self._import_from(node)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stack.extend((child, *inside) for child in children)
        self.loops = bool(self.loop_nodes)
        # ``a, h = r`` / ``h = r[1]``: the names each name's value is read back into (``facts.result_reads``)
        self.read_back: dict[str, set[str]] = {}
        for node, _ in assignments:
            base = node.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                self.read_back.setdefault(base.id, set()).update(k for t in node.targets for k in flat_dotted(t))
        self.carried_shape = any(carries(node, self, methods) for node, methods in assignments)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.origins.append(alias.name)
            local, origin = (alias.asname, alias.name) if alias.asname else ((top := alias.name.split(".")[0]), top)
            self.imports.setdefault(local, set()).add(origin)

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            self.origins.append(f"{module}.{alias.name}" if node.module else f"{module}{alias.name}")
            if node.level == 0 and node.module is not None and alias.name != "*":
                self.imports.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")


def carries(node: ast.Assign, statements: Statements, methods: frozenset[str]) -> bool:
    """``a, h = f(x, h)``, or ``r = f(x, h)`` read back into ``h`` (``a, h = r``, ``h = r[1]``): ``FileFacts``'s
    heuristic recurrent call (``_matched_call``), for an ``f`` the file
    does not know (``facts._resolve_callee``: not one of its own functions, nor a method of the class the
    call runs in, nor a torch function other than checkpoint's).

    The state is an argument other than a leading positional one (the input), not starred.
    """
    target, call = node.targets[0], node.value
    if isinstance(call, ast.Call) and isinstance(target, ast.Name):  # ``r = f(x, h)``, then ``out, h = r``
        results = statements.read_back.get(target.id, set())
    elif isinstance(call, ast.Call) and isinstance(target, ast.Tuple) and len(target.elts) == 2:
        results = set(flat_dotted(target.elts[1]))
    else:
        return False
    if not results or known_callee(call.func, statements, methods):
        return False
    arguments = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))  # source order
    candidates = [a.value if isinstance(a, ast.keyword) else a for a in arguments
                  if not isinstance(a, ast.Starred) and not (isinstance(a, ast.keyword) and a.arg is None)]
    if arguments and not (isinstance(arguments[0], ast.keyword) and arguments[0].arg is not None):
        candidates = candidates[1:]  # libcst's ``args[0].keyword is None``: a positional, ``*a`` or ``**kw``
    return any(results.intersection(flat_dotted(arg)) for arg in candidates)


def known_callee(func: ast.expr, statements: Statements, methods: frozenset[str]) -> bool:
    """A callee the facts resolve to something that is not recurrent unless other code in this file is."""
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        func = func.value
    key = dotted(func)
    if key is None:
        return False
    head, _, name = key.rpartition(".")
    if (head == "self" and name in methods) or (not head and name in statements.module_functions):
        return True
    return any(is_torch_function(q) for q in qualifications(key, statements.imports))


def is_torch_function(qualified: str) -> bool:
    """A torch function or class that is not a recurrent module: it carries no state of its own
    (``scatter_kwargs``, ``fuse_conv_bn_weights``), unless it runs a function it is given (checkpoint)."""
    return qualified.startswith("torch.") and qualified not in TORCH_RECURRENT and \
        not qualified.startswith("torch.utils.checkpoint")


def flat_dotted(node: ast.expr) -> list[str]:
    """``names.flat_keys`` on CPython's tree: ``h`` -> [h], ``(h, self.c)`` -> [h, self.c]."""
    if isinstance(node, ast.Starred):
        node = node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [key for element in node.elts for key in flat_dotted(element)]
    key = dotted(node)
    return [key] if key else []


def dotted(node: ast.expr) -> str | None:
    """``names.key_of``: ``self.rnn`` -> "self.rnn"."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def qualifications(key: str, imports: dict[str, set[str]]) -> Iterator[str]:
    """Every name ``key`` may stand for through the import table (``facts._Collector.qualify``)."""
    head, _, rest = key.partition(".")
    for origin in imports.get(head, ()):
        yield f"{origin}.{rest}" if rest else origin


def spellings(origin: str) -> Iterator[str]:
    """"pkg.models.Encoder" -> itself, its modules "pkg.models" and "pkg", and its name "Encoder"."""
    yield origin
    head = origin
    while "." in head.lstrip("."):
        head = head.rsplit(".", 1)[0]
        yield head
    yield origin.rsplit(".", 1)[-1]
