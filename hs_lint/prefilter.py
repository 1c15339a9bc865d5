"""The screen before libcst: does any selected rule's precondition hold in this file?

libcst costs far more than everything else, and most Python files have nothing recurrent in
them. Each rule's ``check`` reads facts that exist only under a precondition, and this module
tests those preconditions on CPython's ``ast`` (the tree flake8 already holds, or one parsed here
only for files that pass the cheap text checks first). The preconditions, shared by the rules:

- *a torch recurrent module*: a call or a class base that the import table resolves to
  ``torch.nn.RNN/LSTM/GRU`` or a cell (as ``facts._TORCH_RECURRENT``); every recurrent class,
  wrapper, step function and module binding of a file starts from one;
- *the carried shape* ``out, h = f(x, h)``: the heuristic recurrent call, for an ``f`` that is not
  one of the file's functions, a method of the class it runs in, or a torch function;
- *a name from elsewhere*: with the project index, an import of a name or module that holds
  recurrent code in another file of the project (``elsewhere``);
- a recurrent call is one of those three; loops that call something, ``backward``/``step``, an
  ``init_hidden``-like function, ``type(x) == Variable``, a ``clip_grad`` call, a
  ``pack_padded_sequence`` call are the rules' own needs (``_SCREENS``).

Text is read before trees: a loop statement starts a line, a dropped method call is spelled
``.detach(``, and a torch module is looked for only on the lines that name one (or an import alias
of one). The cycle collector is paused while a tree parsed here is alive (``hs_lint.gcpause``).

Each screen is a superset of what its rule reports, so a skipped file is one in which the rule
finds nothing (the tests compare screened and unscreened findings on every fixture, rule example
and fuzz case). A code missing from ``_SCREENS`` is not known to be safe to skip: selecting it
makes every file go through the full analysis. A file the screen skips is not parsed, so its
syntax errors are left to Python (and flake8's E999); one that CPython cannot parse is passed on.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import functools
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator

from hs_lint.gcpause import collector_paused

# One name or module path imported by the file ("pkg.models.Encoder", ".models.Encoder") -> whether
# it holds recurrent code elsewhere in the project; or the collection of such names and modules.
Elsewhere = Callable[[str], bool] | Collection[str]

# The torch knowledge the screen needs (tests/test_screen.py checks it against hs_lint.facts).
RECURRENT_KINDS = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
RECURRENT_WORDS = ("RNN", "LSTM", "GRU")  # in the name of every one of them
TORCH_RECURRENT = frozenset(f"{prefix}.{kind}" for kind in RECURRENT_KINDS
                            for prefix in ("torch.nn", "torch.nn.modules.rnn"))
TENSOR_FACTORIES = frozenset(
    f"torch.{name}" for name in ("zeros", "ones", "empty", "randn", "rand", "full", "Tensor", "FloatTensor")
)
DROPPED_METHODS = frozenset({"detach", "to", "cuda", "cpu", "contiguous", "float", "half", "double", "bfloat16"})
STATE_INIT_NAME = re.compile(r"(init|initial|zero|begin|reset|new|default)_?(hidden|state)", re.IGNORECASE)
# The same, for text already lowered: ten times faster on a long file than the case-insensitive search.
_LOWER_STATE_INIT_NAME = re.compile(STATE_INIT_NAME.pattern.replace("(", "(?:"))
_NONE: frozenset[str] = frozenset()
# Text that every loop statement and every dropped method call is spelled with (a line break between a
# method's name and its dot or bracket is not followed).
_LOOP_LINE = re.compile(r"^[ \t\f]*(?:async[ \t\f]+)?(?:for|while)\b", re.MULTILINE)
_DROPPED_CALL = re.compile(r"\.[ \t]*(?:{})[ \t]*\(".format("|".join(sorted(DROPPED_METHODS))))
_MAX_CHAIN = 8  # names followed through their assigned values at most this far


class _Unparsable(Exception):
    """CPython cannot read the file: pass it on, so that the analysis reports why."""


class Evidence:
    """What one file holds, each part computed on first use: text checks, then statements, then expressions."""

    def __init__(self, text: str, tree: ast.AST | None = None, elsewhere: Elsewhere | None = None) -> None:
        self.text = text
        self._tree = tree
        self._elsewhere = elsewhere

    # -- text ----------------------------------------------------------------------------------
    def has(self, *words: str) -> bool:
        return any(word in self.text for word in words)

    @functools.cached_property
    def lowered(self) -> str:
        return self.text.lower()

    @functools.cached_property
    def trains(self) -> bool:
        """A backward pass or an optimizer step is spelled somewhere (``facts.is_backward_call``)."""
        return self.has("backward", "step", "autograd")

    # -- statements ----------------------------------------------------------------------------
    @functools.cached_property
    def tree(self) -> ast.AST:
        if self._tree is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # CPython's SyntaxWarnings are not ours to print
                    self._tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                raise _Unparsable from None
        return self._tree

    @functools.cached_property
    def _statements(self) -> _Statements:
        return _Statements(self.tree)

    @functools.cached_property
    def loops(self) -> bool:
        """A ``for`` or ``while`` statement: each starts a line of its own (text first)."""
        if "\r" not in self.text and _LOOP_LINE.search(self.text) is None:
            return False
        return self._statements.loops

    @property
    def state_initialiser(self) -> bool:
        """A function named like ``init_hidden`` (``facts.is_state_initialiser``)."""
        if not self.names_an_initialiser:  # the name is in the text
            return False
        names = "\n".join(self._statements.functions).lower()  # no match spans two names: none has a newline
        return _LOWER_STATE_INIT_NAME.search(names) is not None

    @property
    def drops_a_result(self) -> bool:
        """``h.detach()`` as a statement: a tensor method whose result is dropped."""
        return _DROPPED_CALL.search(self.text) is not None and bool(self._statements.dropped & DROPPED_METHODS)

    @functools.cached_property
    def from_elsewhere(self) -> bool:
        """An imported name or module that the project index says holds recurrent code."""
        if self._elsewhere is None:
            return False
        known = self._elsewhere if callable(self._elsewhere) else self._elsewhere.__contains__
        return any(known(name) for origin in self._statements.origins for name in _spellings(origin))

    @functools.cached_property
    def loop_calls(self) -> bool:
        """A loop calls something other than a builtin the file leaves alone: every recurrent call, carried
        state or generation step a rule follows through a loop is a call inside it. (A builtin rebound only
        by a star import is taken for the builtin.)"""
        builtins_called = set()
        seen: set[int] = set()
        for loop in self._statements.loop_nodes:
            for node in _walk_once(loop, seen):
                if isinstance(node, ast.Call):
                    if not (isinstance(node.func, ast.Name) and node.func.id in _BUILTINS):
                        return True
                    builtins_called.add(node.func.id)
        return bool(builtins_called) and bool(builtins_called & _bound_names(self.tree))

    # -- expressions ---------------------------------------------------------------------------
    @functools.cached_property
    def _expressions(self) -> _Expressions:
        return _Expressions(self.tree, self._statements.imports)

    @functools.cached_property
    def torch_module(self) -> bool:
        """A call, alias or class base here that resolves to a torch recurrent module. Only the nodes on lines
        that name one, or an import alias of one, are looked at."""
        if not self.has(*RECURRENT_WORDS):
            return False
        imports = self._statements.imports
        if "\r" in self.text:  # lines as CPython counts them, which str.split cannot follow: read everything
            lines = None
        else:
            aliases = [local for local, origins in imports.items() if any(w in o for o in origins for w in RECURRENT_WORDS)]
            words = re.compile("|".join([*RECURRENT_WORDS, *(rf"\b{re.escape(a)}\b" for a in aliases)]))
            lines = [n for n, line in enumerate(self.text.split("\n"), 1) if words.search(line)]
        return bool(_Expressions(self.tree, imports, lines).named & TORCH_RECURRENT)

    @functools.cached_property
    def names_an_initialiser(self) -> bool:
        """``init_hidden``-like text (``facts.is_state_initialiser``), called or defined."""
        lowered = self.lowered
        return ("hidden" in lowered or "state" in lowered) and _LOWER_STATE_INIT_NAME.search(lowered) is not None

    @property
    def factory_without_device(self) -> bool:
        """``torch.zeros(...)`` (any torch tensor factory) without ``device=``: a state built where it may not run."""
        return bool(self._expressions.undevised & TENSOR_FACTORIES)

    @property
    def recurrent(self) -> bool:
        """A recurrent call may exist: the carried shape, a name from elsewhere or a torch module."""
        carried = self.has(",") and self.has("=") and self._statements.carried_shape
        return carried or self.from_elsewhere or self.torch_module

    def calls(self, function: str) -> bool:
        """A call of ``function`` by its own name, an import alias or an attribute (``rnn_utils.pack_padded_sequence``):
        what ``facts.qualify`` can resolve to it."""
        return self.has(function) and function in self._expressions.called

    @property
    def packs_moved_lengths(self) -> bool:
        """``pack_padded_sequence(x, lengths.to(device))``, or lengths named after such a value in the same
        function (HS602's ``_on_gpu``)."""
        return any(_packs_moved_lengths(scope, self._statements.imports) for scope in _scopes(self.tree))

    @property
    def compares_type_to_variable(self) -> bool:
        """``type(x) == Variable`` / ``type(x) is autograd.Variable`` (``facts.type_comparisons`` against
        ``VARIABLE_CLASSES``)."""
        return self.has("Variable") and self._expressions.type_to_variable


class _Expressions:
    """One pass over every node: the names calls, aliases and class bases stand for, and type comparisons."""

    def __init__(self, tree: ast.AST, imports: dict[str, set[str]], lines: list[int] | None = None) -> None:
        """``lines``: only the nodes that span one of these (sorted) lines are read, and only ``named`` is whole."""
        self.named: set[str] = set()  # what a call, an alias (``Cell = nn.LSTM``) or a class base may resolve to
        self.called: set[str] = set()  # the last part of every name a call may resolve to
        self.undevised: set[str] = set()  # what a call without ``device=`` may resolve to
        self.type_to_variable = False
        for node in ast.walk(tree) if lines is None else _spanning(tree, lines):
            kind = type(node)
            if kind is ast.Call:
                func = node.func
                if type(func) is ast.Name and func.id == "getattr" and len(node.args) == 2 and \
                        isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    head = _key(node.args[0])  # ``getattr(nn, "LSTM")`` (``facts._aliases``)
                    keys = [f"{head}.{node.args[1].value}"] if head else []
                else:
                    keys = [_key(func)]
                names = self._resolve(keys, imports)
                if keys[0:1] != [None]:
                    self.called.update(name.rpartition(".")[2] for name in (*names, *filter(None, keys)))
                if not any(k.arg == "device" for k in node.keywords):
                    self.undevised.update(names)
            elif kind is ast.Assign:
                self._resolve([_key(node.value)], imports)
            elif kind is ast.ClassDef:
                self._resolve([_key(base) for base in node.bases], imports)
            elif kind is ast.Compare and not self.type_to_variable:
                self.type_to_variable = _type_compared_to_variable(node, imports)

    def _resolve(self, keys: list[str | None], imports: dict[str, set[str]]) -> list[str]:
        names = [name for key in keys if key for name in _qualified(key, imports)]
        self.named.update(names)
        return names


def _spanning(tree: ast.AST, lines: list[int]) -> Iterator[ast.AST]:
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


def _type_compared_to_variable(node: ast.Compare, imports: dict[str, set[str]]) -> bool:
    left = node.left
    if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "type"
            and len(left.args) + len(left.keywords) == 1):
        return False
    keys = [key for comparator in node.comparators if (key := _key(comparator))]
    return any(name.endswith("Variable") for key in keys for name in (key, *_qualified(key, imports)))


def _scopes(tree: ast.AST) -> Iterator[list[ast.AST]]:
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


def _packs_moved_lengths(nodes: list[ast.AST], imports: dict[str, set[str]]) -> bool:
    """In one scope's nodes: a pack_padded_sequence call whose lengths may be a moved tensor."""
    values: dict[str, list[ast.expr]] = {}
    for node in nodes:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and len(targets) == 1 and \
                node.value is not None and (key := _key(targets[0])) is not None:
            values.setdefault(key, []).append(node.value)

    def moved(expr: ast.expr | None, depth: int = 0) -> bool:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("cuda", "to"):
            return True
        key = _key(expr) if expr is not None and depth < _MAX_CHAIN else None
        return key is not None and any(moved(v, depth + 1) for v in values.get(key, ()) if not isinstance(v, ast.Name))

    for call in nodes:
        key = _key(call.func) if isinstance(call, ast.Call) else None
        if key is None or not any(name.rpartition(".")[2] == "pack_padded_sequence"
                                  for name in (key, *_qualified(key, imports))):
            continue
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return True
        if any(moved(expr) for expr in (*call.args[1:2], *(k.value for k in call.keywords if k.arg == "lengths"))):
            return True
    return False


_BUILTINS = frozenset(dir(builtins))


def _walk_once(node: ast.AST, seen: set[int]) -> Iterator[ast.AST]:
    """``ast.walk`` that skips what an earlier walk (of an enclosing loop) has visited."""
    stack = [node]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _bound_names(tree: ast.AST) -> set[str]:
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


class _Statements:
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
        stack: list[tuple[ast.AST, str, frozenset[str]]] = [(n, "module", _NONE) for n in getattr(tree, "body", ())]
        while stack:
            node, where, methods = stack.pop()
            kind = type(node)
            inside = (where, methods)
            if kind is ast.Assign:
                assignments.append((node, methods if where == "method" else _NONE))
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
                inside = ("method", methods) if where == "class" else ("function", _NONE)
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
        self.carried_shape = any(_carries(node, self, methods) for node, methods in assignments)

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


def _carries(node: ast.Assign, statements: _Statements, methods: frozenset[str]) -> bool:
    """``a, h = f(x, h)``: ``FileFacts``'s heuristic recurrent call (``_matched_call``), for an ``f`` the file
    does not know (``facts._resolve_callee``: not one of its own functions, nor a method of the class the
    call runs in, nor a torch function other than checkpoint's).

    The state is an argument other than a leading positional one (the input), not starred.
    """
    target, call = node.targets[0], node.value
    if not (isinstance(call, ast.Call) and isinstance(target, ast.Tuple) and len(target.elts) == 2):
        return False
    results = set(_flat_keys(target.elts[1]))
    if not results or _known_callee(call.func, statements, methods):
        return False
    arguments = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))  # source order
    candidates = [a.value if isinstance(a, ast.keyword) else a for a in arguments
                  if not isinstance(a, ast.Starred) and not (isinstance(a, ast.keyword) and a.arg is None)]
    if arguments and not (isinstance(arguments[0], ast.keyword) and arguments[0].arg is not None):
        candidates = candidates[1:]  # libcst's ``args[0].keyword is None``: a positional, ``*a`` or ``**kw``
    return any(results.intersection(_flat_keys(arg)) for arg in candidates)


def _known_callee(func: ast.expr, statements: _Statements, methods: frozenset[str]) -> bool:
    """A callee the facts resolve to something that is not recurrent unless other code in this file is."""
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        func = func.value
    key = _key(func)
    if key is None:
        return False
    head, _, name = key.rpartition(".")
    if (head == "self" and name in methods) or (not head and name in statements.module_functions):
        return True
    return any(is_torch_function(q) for q in _qualified(key, statements.imports))


def is_torch_function(qualified: str) -> bool:
    """A torch function or class that is not a recurrent module: it carries no state of its own
    (``scatter_kwargs``, ``fuse_conv_bn_weights``), unless it runs a function it is given (checkpoint)."""
    return qualified.startswith("torch.") and qualified not in TORCH_RECURRENT and \
        not qualified.startswith("torch.utils.checkpoint")


def _flat_keys(node: ast.expr) -> list[str]:
    """``names.flat_keys`` on CPython's tree: ``h`` -> [h], ``(h, self.c)`` -> [h, self.c]."""
    if isinstance(node, ast.Starred):
        node = node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [key for element in node.elts for key in _flat_keys(element)]
    key = _key(node)
    return [key] if key else []


def _key(node: ast.expr) -> str | None:
    """``names.key_of``: ``self.rnn`` -> "self.rnn"."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _qualified(key: str, imports: dict[str, set[str]]) -> Iterator[str]:
    """Every name ``key`` may stand for through the import table (``facts._Collector.qualify``)."""
    head, _, rest = key.partition(".")
    for origin in imports.get(head, ()):
        yield f"{origin}.{rest}" if rest else origin


def _spellings(origin: str) -> Iterator[str]:
    """"pkg.models.Encoder" -> itself, its modules "pkg.models" and "pkg", and its name "Encoder"."""
    yield origin
    head = origin
    while "." in head.lstrip("."):
        head = head.rsplit(".", 1)[0]
        yield head
    yield origin.rsplit(".", 1)[-1]


def _training_carry(e: Evidence) -> bool:
    """A state carried from one iteration into a backward: HS101, HS104, HS3xx's batch loop."""
    return e.trains and e.loops and e.recurrent and e.loop_calls


def _device_of_state(e: Evidence) -> bool:
    """HS401: a recurrent class's state, or one built by a torch factory where the code moves to a device."""
    if not e.has("torch"):
        return False
    moves = any(word in e.lowered for word in ("cuda", "device", "gpu"))  # ``rules.device._device_move``
    factory = e.has("zeros", "ones", "empty", "rand", "full", "Tensor")  # ``facts.TENSOR_FACTORIES``
    return e.torch_module or (moves and factory and e.recurrent and e.factory_without_device)


_Screen = Callable[[Evidence], bool]

# Code -> its precondition, text checks first. Only the codes listed here are ever skipped.
_SCREENS: dict[str, _Screen] = {
    "HS101": _training_carry,
    "HS102": lambda e: e.drops_a_result and e.recurrent,
    # the (h, c) tuple comes from a torch LSTM (or a class running one) or a same-file init_hidden()
    # the tuple may also come from an initialiser of a class in another module: a call named like one
    "HS103": lambda e: e.state_initialiser or e.torch_module or (e.names_an_initialiser and e.from_elsewhere),
    "HS104": _training_carry,
    "HS105": lambda e: e.has("retain_graph", "retain_variables") and _training_carry(e),
    "HS107": lambda e: e.has("numpy", "tolist") and e.torch_module,  # the round trip leaves torch by name
    "HS106": lambda e: e.has("type") and e.compares_type_to_variable,
    # configurations and shapes exist only for constructions of a torch module
    **{f"HS20{n}": (lambda e: e.torch_module) for n in range(1, 10)},
    **{code: _training_carry for code in ("HS301", "HS302", "HS303", "HS304")},
    # a state stored on a recurrent model of this file (its forward is here), or of another module
    "HS305": lambda e: (e.has("forward") and e.torch_module) or (e.names_an_initialiser and e.from_elsewhere),
    # generation loops and carries across sequences: a loop around a recurrent call (none needs a backward); a
    # dropped state and a sequence classifier need a recurrent module or class, built here or imported
    **{code: (lambda e: e.loops and (e.torch_module or e.from_elsewhere) and e.loop_calls)
       for code in ("HS306", "HS307")},
    "HS308": lambda e: e.loops and e.recurrent and e.loop_calls,
    "HS402": lambda e: e.has("cuda") and e.torch_module,  # a recurrent class puts its state on CUDA
    "HS401": _device_of_state,
    "HS501": lambda e: e.has("clip_grad") and e.has("step") and e.has("backward", "autograd"),
    "HS502": lambda e: e.has("step") and e.has("backward", "autograd") and e.recurrent,
    # packed sequences: the pack is built here, and fed to (or read from) a recurrent module of the file or project
    "HS601": lambda e: e.calls("pack_padded_sequence"),
    "HS602": lambda e: e.has("cuda", "device", "gpu") and e.calls("pack_padded_sequence") and e.packs_moved_lengths,
    "HS603": lambda e: e.calls("pack_padded_sequence") and e.torch_module,
    "HS604": lambda e: e.calls("pack_padded_sequence") and (e.torch_module or e.from_elsewhere),
    "HS605": lambda e: e.calls("pad_packed_sequence") and (e.torch_module or e.from_elsewhere),
}


def may_have_findings(text: str, codes: Iterable[str], tree: ast.AST | None = None,
                      elsewhere: Elsewhere | None = None) -> bool:
    """False only when none of ``codes`` can report anything in ``text``: safe to skip libcst.

    ``tree`` is CPython's tree of ``text`` when the caller has one (flake8 does); ``elsewhere``
    tells which imported names hold recurrent code in other files of the project (None: judge
    the file on its own).
    """
    codes = list(codes)
    if any(code not in _SCREENS for code in codes):
        return True
    with collector_paused():  # for as long as the tree parsed here lives
        evidence = Evidence(text, tree, elsewhere)
        try:
            return any(_SCREENS[code](evidence) for code in codes)
        except _Unparsable:
            return True
        finally:
            del evidence  # freed before the collector runs again, or its next pass walks the whole tree
