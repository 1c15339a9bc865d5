"""The screen before libcst: does any selected rule's precondition hold in this file?

libcst costs far more than everything else, and most Python files have nothing recurrent in
them. Each rule's ``check`` reads facts that exist only under a precondition, and this module
tests those preconditions on CPython's ``ast`` (the tree flake8 already holds, or one parsed here
only for files that pass the cheap text checks first). The preconditions, shared by the rules:

- *a torch recurrent module*: a call or a class base that the import table resolves to
  ``torch.nn.RNN/LSTM/GRU`` or a cell (as ``facts._TORCH_RECURRENT``); every recurrent class,
  wrapper, step function and module binding of a file starts from one;
- *the carried shape* ``out, h = f(x, h)``: the heuristic recurrent call, looser here (any
  argument counts);
- *a name from elsewhere*: with the project index, an import of a name or module that holds
  recurrent code in another file of the project (``elsewhere``);
- a recurrent call is one of those three; loops, ``backward``/``step``, an ``init_hidden``-like
  function, ``type(x) == Variable``, a ``clip_grad`` call are the rules' own needs (``_SCREENS``).

Each screen is a superset of what its rule reports, so a skipped file is one in which the rule
finds nothing (the tests compare screened and unscreened findings on every fixture, rule example
and fuzz case). A code missing from ``_SCREENS`` is not known to be safe to skip: selecting it
makes every file go through the full analysis. A file the screen skips is not parsed, so its
syntax errors are left to Python (and flake8's E999); one that CPython cannot parse is passed on.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator

# One name or module path imported by the file ("pkg.models.Encoder", ".models.Encoder") -> whether
# it holds recurrent code elsewhere in the project; or the collection of such names and modules.
Elsewhere = Callable[[str], bool] | Collection[str]

# The torch knowledge the screen needs (tests/test_screen.py checks it against hs_lint.facts).
RECURRENT_KINDS = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
TORCH_RECURRENT = frozenset(f"{prefix}.{kind}" for kind in RECURRENT_KINDS
                            for prefix in ("torch.nn", "torch.nn.modules.rnn"))
TENSOR_FACTORIES = frozenset(
    f"torch.{name}" for name in ("zeros", "ones", "empty", "randn", "rand", "full", "Tensor", "FloatTensor")
)
DROPPED_METHODS = frozenset({"detach", "to", "cuda", "cpu", "contiguous", "float", "half", "double", "bfloat16"})
STATE_INIT_NAME = re.compile(r"(init|initial|zero|begin|reset|new|default)_?(hidden|state)", re.IGNORECASE)


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

    @property
    def loops(self) -> bool:
        return self._statements.loops

    @property
    def state_initialiser(self) -> bool:
        """A function named like ``init_hidden`` (``facts.is_state_initialiser``)."""
        lowered = self.text.lower()
        if "hidden" not in lowered and "state" not in lowered:
            return False
        return any(STATE_INIT_NAME.search(name) for name in self._statements.functions)

    @property
    def drops_a_result(self) -> bool:
        """``h.detach()`` as a statement: a tensor method whose result is dropped."""
        return self.has(*DROPPED_METHODS) and bool(self._statements.dropped & DROPPED_METHODS)

    @functools.cached_property
    def from_elsewhere(self) -> bool:
        """An imported name or module that the project index says holds recurrent code."""
        if self._elsewhere is None:
            return False
        known = self._elsewhere if callable(self._elsewhere) else self._elsewhere.__contains__
        return any(known(name) for origin in self._statements.origins for name in _spellings(origin))

    # -- expressions ---------------------------------------------------------------------------
    @functools.cached_property
    def torch_module(self) -> bool:
        """A call, alias or class base here that resolves to a torch recurrent module."""
        if not self.has("RNN", "LSTM", "GRU"):
            return False
        imports = self._statements.imports
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
                keys = [f"{_key(node.args[0])}.{node.args[1].value}" for _ in [0] if len(node.args) == 2
                        and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)]
            elif isinstance(node, ast.Call):
                keys = [_key(node.func)]
            elif isinstance(node, ast.Assign):  # ``Cell = nn.LSTM``: built through the alias (``facts._aliases``)
                keys = [_key(node.value)]
            elif isinstance(node, ast.ClassDef):
                keys = [_key(base) for base in node.bases]
            else:
                continue
            if any(name in TORCH_RECURRENT for key in keys if key for name in _qualified(key, imports)):
                return True
        return False

    @property
    def names_an_initialiser(self) -> bool:
        """``init_hidden``-like text (``facts.is_state_initialiser``), called or defined."""
        return STATE_INIT_NAME.search(self.text) is not None

    @functools.cached_property
    def factory_without_device(self) -> bool:
        """``torch.zeros(...)`` (any torch tensor factory) without ``device=``: a state built where it may not run."""
        imports = self._statements.imports
        return any(
            isinstance(node, ast.Call) and not any(k.arg == "device" for k in node.keywords)
            and any(name in TENSOR_FACTORIES for name in _qualified(_key(node.func) or "", imports))
            for node in ast.walk(self.tree)
        )

    @property
    def recurrent(self) -> bool:
        """A recurrent call may exist: the carried shape, a name from elsewhere or a torch module."""
        carried = self.has(",") and self.has("=") and self._statements.carried_shape
        return carried or self.from_elsewhere or self.torch_module

    @property
    def type_comparison(self) -> bool:
        """``type(x) == ...`` / ``type(x) is ...`` (``facts.type_comparisons``)."""
        return any(
            isinstance(node, ast.Compare) and isinstance(node.left, ast.Call) and isinstance(node.left.func, ast.Name)
            and node.left.func.id == "type" and len(node.left.args) + len(node.left.keywords) == 1
            for node in ast.walk(self.tree)
        )


class _Statements:
    """One pass over the statements (not the expressions) of a tree."""

    def __init__(self, tree: ast.AST) -> None:
        self.imports: dict[str, set[str]] = {}  # local name -> every origin it is imported from
        self.origins: list[str] = []  # every imported name, relative ones with their leading dots
        self.functions: list[str] = []
        self.dropped: set[str] = set()  # methods called as a statement
        self.loops = False
        self.carried_shape = False
        stack = list(getattr(tree, "body", ()))
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Assign:
                self.carried_shape = self.carried_shape or _carries(node)
            elif kind is ast.Expr:
                call = node.value
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                    self.dropped.add(call.func.attr)
            elif kind in (ast.For, ast.AsyncFor, ast.While):
                self.loops = True
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                self.functions.append(node.name)
            elif kind is ast.Import:
                self._import(node)
            elif kind is ast.ImportFrom:
                self._import_from(node)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stack.extend(children)

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


def _carries(node: ast.Assign) -> bool:
    """``a, h = f(x, h)``: ``FileFacts``'s heuristic recurrent call (``_matched_call``), whatever ``f`` is.

    The state is an argument other than a leading positional one (the input), not starred.
    """
    target, call = node.targets[0], node.value
    if not (isinstance(call, ast.Call) and isinstance(target, ast.Tuple) and len(target.elts) == 2):
        return False
    results = set(_flat_keys(target.elts[1]))
    if not results:
        return False
    arguments = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))  # source order
    candidates = [a.value if isinstance(a, ast.keyword) else a for a in arguments
                  if not isinstance(a, ast.Starred) and not (isinstance(a, ast.keyword) and a.arg is None)]
    if arguments and not (isinstance(arguments[0], ast.keyword) and arguments[0].arg is not None):
        candidates = candidates[1:]  # libcst's ``args[0].keyword is None``: a positional, ``*a`` or ``**kw``
    return any(results.intersection(_flat_keys(arg)) for arg in candidates)


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
    return e.trains and e.loops and e.recurrent


def _device_of_state(e: Evidence) -> bool:
    """HS401: a recurrent class's state, or one built by a torch factory where the code moves to a device."""
    if not e.has("torch"):
        return False
    lowered = e.text.lower()
    moves = any(word in lowered for word in ("cuda", "device", "gpu"))  # ``rules.device._device_move``
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
    "HS106": lambda e: e.has("Variable") and e.has("type") and e.type_comparison,
    # configurations and shapes exist only for constructions of a torch module
    **{f"HS20{n}": (lambda e: e.torch_module) for n in range(1, 10)},
    **{code: _training_carry for code in ("HS301", "HS302", "HS303", "HS304")},
    # a state stored on a recurrent model of this file (its forward is here), or of another module
    "HS305": lambda e: (e.has("forward") and e.torch_module) or (e.names_an_initialiser and e.from_elsewhere),
    # generation loops and carries across sequences: a loop around a recurrent call (none needs a backward); a
    # dropped state and a sequence classifier need a recurrent module or class, built here or imported
    **{code: (lambda e: e.has("for", "while") and e.loops and (e.torch_module or e.from_elsewhere))
       for code in ("HS306", "HS307")},
    "HS308": lambda e: e.has("for", "while") and e.loops and e.recurrent,
    "HS402": lambda e: e.has("cuda") and e.torch_module,  # a recurrent class puts its state on CUDA
    "HS401": _device_of_state,
    "HS501": lambda e: e.has("clip_grad") and e.has("step") and e.has("backward", "autograd"),
    "HS502": lambda e: e.has("step") and e.has("backward", "autograd") and e.recurrent,
    # packed sequences: the pack is built here, and fed to (or read from) a recurrent module of the file or project
    "HS601": lambda e: e.has("pack_padded_sequence"),
    "HS602": lambda e: e.has("pack_padded_sequence") and e.has("cuda", "device", ".to("),
    "HS603": lambda e: e.has("pack_padded_sequence") and e.torch_module,
    "HS604": lambda e: e.has("pack_padded_sequence") and (e.torch_module or e.from_elsewhere),
    "HS605": lambda e: e.has("pad_packed_sequence") and (e.torch_module or e.from_elsewhere),
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
    evidence = Evidence(text, tree, elsewhere)
    try:
        return any(_SCREENS[code](evidence) for code in codes)
    except _Unparsable:
        return True
