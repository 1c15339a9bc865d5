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
- *borrowed text*: a word a rule needs may be in a project module the file imports, since a
  one-expression helper's code is read where it is called (``borrowed``);
- a recurrent call is one of those three; loops that call something, ``backward``/``step``, an
  ``init_hidden``-like function, ``type(x) == Variable``, a ``clip_grad`` call, a
  ``pack_padded_sequence`` call are the rules' own needs (``_SCREENS``).

Text is read before trees: a loop statement starts a line, a dropped method call is spelled
``.detach(``, and a torch module is looked for only on the lines that name one (or an import alias
of one). The cycle collector is paused while a tree parsed here is alive (``hs_lint.gcpause``).

Each screen is a superset of what its rule reports, so a skipped file is one in which the rule
finds nothing (the tests compare screened and unscreened findings on every fixture, rule example
and fuzz case). A code missing from ``_SCREENS`` is not known to be safe to skip: selecting it
makes every file go through the full analysis. One that CPython cannot parse is passed on, so that
the analysis reports why; the CLI asks for that to be checked on every file it would skip
(``must_parse``), while flake8 reports its own syntax errors (E999).
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Callable, Collection, Iterable

from hs_lint.gcpause import collector_paused
from hs_lint.screen_tree import (
    BUILTINS,
    DROPPED_METHODS,
    LOWER_STATE_INIT_NAME,
    RECURRENT_WORDS,
    TENSOR_FACTORIES,
    TORCH_RECURRENT,
    Expressions,
    Statements,
    bound_names,
    packs_moved_lengths,
    scopes,
    spellings,
    walk_once,
)

# A helper's assignments of local names before its ``return``, read into the returned expression by
# ``hs_lint.inline``: the screen borrows those lines of an imported module with its return lines.
HELPER_LOCALS = 3

# One name or module path imported by the file ("pkg.models.Encoder", ".models.Encoder") -> whether
# it holds recurrent code elsewhere in the project; or the collection of such names and modules.
Elsewhere = Callable[[str], bool] | Collection[str]

# Text that every loop statement and every dropped method call is spelled with (a line break between a
# method's name and its dot or bracket is not followed).
_LOOP_LINE = re.compile(r"^[ \t\f]*(?:async[ \t\f]+)?(?:for|while)\b", re.MULTILINE)
_DROPPED_CALL = re.compile(r"\.[ \t]*(?:{})[ \t]*\(".format("|".join(sorted(DROPPED_METHODS))))
# ``from <module> import`` / ``import <modules>``: what a file imports, read off its text
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([^\n#;]+))", re.MULTILINE)


def imported_modules(text: str) -> list[str]:
    """The modules a file's text imports, as written (``pkg.helpers``, ``.helpers``, ``..``), once each."""
    modules = []
    for match in _IMPORT.finditer(text):
        if match.group(1) is not None:
            modules.append(match.group(1))
        else:
            modules.extend(part.split()[0] for part in match.group(2).split(",") if part.split())
    return list(dict.fromkeys(modules))

# One module path a file imports (as written: "pkg.helpers", ".helpers") -> the text of its ``return`` lines when it
# is a file of the project, else "": a one-expression helper's code stands where it is called (``hs_lint.inline``).
Borrowed = Callable[[str], str]


class _Unparsable(Exception):
    """CPython cannot read the file: pass it on, so that the analysis reports why."""


class Evidence:
    """What one file holds, each part computed on first use: text checks, then statements, then expressions."""

    def __init__(self, text: str, tree: ast.AST | None = None, elsewhere: Elsewhere | None = None,
                 borrowed: Borrowed | None = None) -> None:
        self.text = text
        self._tree = tree
        self._elsewhere = elsewhere
        self._borrowed = borrowed

    # -- text ----------------------------------------------------------------------------------
    def has(self, *words: str) -> bool:
        """A word is in the file, or in a project module it imports (whose helpers it may call)."""
        return any(word in self.text for word in words) or any(word in self.borrowed_text for word in words)

    @functools.cached_property
    def borrowed_text(self) -> str:
        """The ``return`` lines of the project's modules this file imports from (read only when its own text lacks
        a word)."""
        if self._borrowed is None:
            return ""
        return "\n".join(self._borrowed(module) for module in imported_modules(self.text))

    @functools.cached_property
    def lowered(self) -> str:
        return f"{self.text}\n{self.borrowed_text}".lower()

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
    def _statements(self) -> Statements:
        return Statements(self.tree)

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
        return LOWER_STATE_INIT_NAME.search(names) is not None

    @property
    def drops_a_result(self) -> bool:
        """``h.detach()`` as a statement: a tensor method whose result is dropped."""
        return _DROPPED_CALL.search(self.text) is not None and bool(self._statements.dropped & DROPPED_METHODS)

    @functools.cached_property
    def from_elsewhere(self) -> bool:
        """An imported name or module that the project index says holds recurrent code, in a file that calls
        something other than a builtin: every rule judges such calls, and a package's ``__init__`` that re-exports
        a model (and checks its ``__all__`` with ``sorted``) has none.
        (The import counts even unread: it says what the file's ``net(x, h)`` calls are about.)"""
        if self._elsewhere is None:
            return False
        known = self._elsewhere if callable(self._elsewhere) else self._elsewhere.__contains__
        return any(known(name) for origin in self._statements.origins for name in spellings(origin)) and any(
            type(node) is ast.Call and not (type(node.func) is ast.Name and node.func.id in BUILTINS)
            for node in ast.walk(self.tree))

    @functools.cached_property
    def loop_calls(self) -> bool:
        """A loop calls something other than a builtin the file leaves alone: every recurrent call, carried
        state or generation step a rule follows through a loop is a call inside it. (A builtin rebound only
        by a star import is taken for the builtin.)"""
        builtins_called = set()
        seen: set[int] = set()
        for loop in self._statements.loop_nodes:
            for node in walk_once(loop, seen):
                if isinstance(node, ast.Call):
                    if not (isinstance(node.func, ast.Name) and node.func.id in BUILTINS):
                        return True
                    builtins_called.add(node.func.id)
        return bool(builtins_called) and bool(builtins_called & bound_names(self.tree))

    # -- expressions ---------------------------------------------------------------------------
    @functools.cached_property
    def _expressions(self) -> Expressions:
        return Expressions(self.tree, self._statements.imports)

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
        return bool(Expressions(self.tree, imports, lines).named & TORCH_RECURRENT)

    @functools.cached_property
    def names_an_initialiser(self) -> bool:
        """``init_hidden``-like text (``facts.is_state_initialiser``), called or defined."""
        lowered = self.lowered
        return ("hidden" in lowered or "state" in lowered) and LOWER_STATE_INIT_NAME.search(lowered) is not None

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
        what ``facts.qualify`` can resolve to it; or one in a helper of an imported module (read at its call)."""
        return self.has(function) and (function in self._expressions.called or f"{function}(" in self.borrowed_text)

    @property
    def packs_moved_lengths(self) -> bool:
        """``pack_padded_sequence(x, lengths.to(device))``, or lengths named after such a value in the same
        function (HS602's ``_on_gpu``)."""
        return any(packs_moved_lengths(scope, self._statements.imports) for scope in scopes(self.tree))

    @property
    def compares_type_to_variable(self) -> bool:
        """``type(x) == Variable`` / ``type(x) is autograd.Variable`` (``facts.type_comparisons`` against
        ``VARIABLE_CLASSES``)."""
        return self.has("Variable") and self._expressions.type_to_variable


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
    # the (h, c) tuple comes from a torch LSTM (or a class running one) or a same-file init_hidden(), or from a
    # module, class or initialiser of another module
    "HS103": lambda e: e.state_initialiser or e.torch_module or e.from_elsewhere,
    "HS104": _training_carry,
    "HS105": lambda e: e.has("retain_graph", "retain_variables") and _training_carry(e),
    # the round trip leaves torch by name; the layer is built here or inherited from a class of another module
    "HS107": lambda e: e.has("numpy", "tolist") and (e.torch_module or e.from_elsewhere),
    "HS106": lambda e: e.has("type") and e.compares_type_to_variable,
    # configurations and shapes exist only for constructions of a torch module, here or in another module
    # whose summary carries its configuration; HS209 judges a construction where it is written (or expanded)
    **{f"HS2{n:02}": (lambda e: e.torch_module or e.from_elsewhere) for n in (*range(1, 9), 10, 11)},
    "HS209": lambda e: e.torch_module or e.from_elsewhere,  # or through a helper of another module
    "HS212": lambda e: e.has("view", "reshape") and (e.torch_module or e.from_elsewhere),
    # a skip in a loop over a DataLoader built here, of batches a state is sized against
    **{code: (lambda e: e.has("continue", "break") and e.calls("DataLoader") and e.loops) for code in ("HS213", "HS214")},
    **{code: _training_carry for code in ("HS301", "HS302", "HS304")},
    # or a model whose forward is here, trained by a module that imports it
    "HS303": lambda e: _training_carry(e) or e.has("forward") and e.torch_module,
    # a state stored on a recurrent model of this file (its forward is here), or of another module
    "HS305": lambda e: e.has("forward") and (e.torch_module or e.from_elsewhere) or (
        e.names_an_initialiser and e.from_elsewhere),
    # generation loops and carries across sequences: a loop around a recurrent call (none needs a backward); a
    # dropped state and a sequence classifier need a recurrent module or class, built here or imported
    **{code: (lambda e: e.loops and (e.torch_module or e.from_elsewhere) and e.loop_calls)
       for code in ("HS306", "HS307")},
    "HS308": lambda e: e.loops and e.recurrent and e.loop_calls,
    # a model of this file or another keeps its state on self, and is called here
    "HS309": lambda e: e.has("forward") and e.torch_module or e.from_elsewhere,
    "HS310": lambda e: e.torch_module or e.from_elsewhere,  # a model of this file or another is called here
    "HS402": lambda e: e.has("cuda") and (e.torch_module or e.from_elsewhere),  # a recurrent class: state on CUDA
    "HS401": _device_of_state,
    "HS501": lambda e: e.has("clip_grad") and e.has("step") and e.has("backward", "autograd"),
    "HS502": lambda e: e.has("step") and e.has("backward", "autograd") and e.recurrent,
    # packed sequences: the pack is built here, and fed to (or read from) a recurrent module of the file or project
    "HS601": lambda e: e.calls("pack_padded_sequence"),
    "HS602": lambda e: e.has("cuda", "device", "gpu") and e.calls("pack_padded_sequence") and e.packs_moved_lengths,
    "HS603": lambda e: e.calls("pack_padded_sequence") and (e.torch_module or e.from_elsewhere),
    "HS604": lambda e: e.calls("pack_padded_sequence") and (e.torch_module or e.from_elsewhere),
    # unpacked or padded back: a batch padded here (``pad_sequence``, perhaps in a collate function)
    "HS605": lambda e: (e.calls("pad_packed_sequence") or e.calls("pad_sequence")) and (
        e.torch_module or e.from_elsewhere),
}


def may_have_findings(text: str, codes: Iterable[str], tree: ast.AST | None = None,
                      elsewhere: Elsewhere | None = None, *, must_parse: bool = False,
                      borrowed: Borrowed | None = None) -> bool:
    """False only when none of ``codes`` can report anything in ``text``: safe to skip libcst.

    ``tree`` is CPython's tree of ``text`` when the caller has one (flake8 does); ``elsewhere``
    tells which imported names hold recurrent code in other files of the project (None: judge
    the file on its own). ``must_parse``: a file that CPython cannot parse is never skipped, even
    when no rule's precondition holds, so that its syntax error is reported.
    """
    codes = list(codes)
    if any(code not in _SCREENS for code in codes):
        return True
    with collector_paused():  # for as long as the tree parsed here lives
        evidence = Evidence(text, tree, elsewhere, borrowed)
        try:
            return any(_SCREENS[code](evidence) for code in codes) or (
                must_parse and evidence._tree is None and not _parses(text)
            )
        except _Unparsable:
            return True
        finally:
            del evidence  # freed before the collector runs again, or its next pass walks the whole tree


def _parses(text: str) -> bool:
    """Whether CPython parses ``text``, asked of its bytecode compiler, which builds no Python tree and costs half
    as much as ``ast.parse``; its own complaints (``return`` outside a function) are not parse errors, so a failure
    is asked of the parser again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPython's SyntaxWarnings are not ours to print
        try:
            compile(text, "<screened>", "exec", dont_inherit=True)
        except SyntaxError:
            try:
                ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False
        except (ValueError, RecursionError, MemoryError):
            return False
    return True
