"""A cheap text check that skips the libcst parse for files in which no selected rule can fire.

Every rule reads the recurrent calls of a file (or the state keys they define). A recurrent call
exists only if the file names a torch recurrent module (``RNN``, ``LSTM``, ``GRU`` and their
cells: the import table resolves dotted spellings, so the class name is always in the text), or
if it has the heuristic shape ``out, h = f(x, h)``: an assignment whose first target is a
two-element tuple whose second element is also passed to the call that is assigned. Without a recurrent module, a finding also needs the
rule's own trigger in the text:

- HS101 needs a loop that runs a backward call: ``.backward()``/``.manual_backward()``,
  ``torch.autograd.backward/grad`` (always spelled through ``autograd``), or an optimizer's
  ``.step()``;
- HS102 needs a method call ``.detach()``, ``.to()``, ``.cuda()``, ... whose result is dropped;
- the other rules' needs are listed with them in ``_TRIGGERS`` (HS103's tuple may come from a
  same-file ``init_hidden``; HS106 needs the name ``Variable``; the shape rules, HS305 and HS401
  need a named module).

Only when a trigger is present is the heuristic shape looked for, with CPython's own parser (much
cheaper than libcst, and run on few files). A rule missing from ``_TRIGGERS`` is not proven safe to
skip, so selecting it makes every file go through the full analysis. A consequence: a file
skipped here is not parsed, so its syntax errors are left to Python (and flake8's E999).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Iterable

RECURRENT_NAMES = ("RNN", "LSTM", "GRU")

# Whitespace, backslash continuations and whole comments that may sit between ``.`` and a name.
_GAP = r"[\s\\]*(?:#[^\n]*\n[\s\\]*)*"
_DROPPED_METHOD = re.compile(
    r"\." + _GAP + r"(?:detach|to|cuda|cpu|contiguous|float|half|double|bfloat16)\b"
)


def _calls_backward(text: str) -> bool:
    return "backward" in text or "step" in text or "autograd" in text


def _drops_a_result(text: str) -> bool:
    return _DROPPED_METHOD.search(text) is not None


def _names_a_state_initialiser(text: str) -> bool:
    """``init_hidden``-style functions (``facts._STATE_INIT_NAME``) all contain "hidden" or "state"."""
    lowered = text.lower()
    return "hidden" in lowered or "state" in lowered


def _never(text: str) -> bool:
    return False


def _has_a_loop(text: str) -> bool:
    """Carrying a state (HS301-HS304) takes a loop."""
    return "for" in text or "while" in text


# What each rule needs in a file that names no torch recurrent module: a trigger in the text, and
# whether the heuristic ``out, h = f(x, h)`` shape must be there too (rules built on recurrent calls).
_TRIGGERS: dict[str, tuple[Callable[[str], bool], bool]] = {
    "HS101": (_calls_backward, True),
    "HS102": (_drops_a_result, True),
    "HS103": (_names_a_state_initialiser, False),  # the tuple may come from a same-file init_hidden()
    "HS104": (_calls_backward, True),
    "HS105": (_calls_backward, True),
    "HS106": (lambda text: "Variable" in text, False),
    # configurations and shapes exist only for constructions of a named module
    **{f"HS20{n}": (_never, False) for n in range(1, 10)},
    **{code: (_has_a_loop, True) for code in ("HS301", "HS302", "HS303", "HS304")},
    "HS305": (_never, False),  # needs a same-file recurrent class
    "HS401": (_never, False),  # needs the state argument of a named module (or a class wrapping one)
    "HS501": (lambda text: "clip_grad" in text, False),  # any training loop; the clip is named (aliases too)
    "HS502": (_calls_backward, True),
    "HS107": (lambda text: "numpy" in text or "tolist" in text, True),  # the round trip leaves torch by name
    "HS306": (_never, False),  # a named module, or a recurrent class of the file, is dropped
    "HS307": (_has_a_loop, True),
    "HS308": (_has_a_loop, True),
    "HS402": (_never, False),  # needs a recurrent class of the file
    "HS601": (lambda text: "pack_padded_sequence" in text, False),
    "HS602": (lambda text: "pack_padded_sequence" in text, False),
    "HS603": (_never, False),  # compares with a named module's batch_first
    "HS604": (lambda text: "pack_padded_sequence" in text, False),
    "HS605": (lambda text: "pad_packed_sequence" in text, False),
}


def may_have_findings(text: str, codes: Iterable[str]) -> bool:
    """False only when none of ``codes`` can report anything in ``text``: safe to skip the parse."""
    codes = list(codes)
    if not codes:
        return False
    if any(code not in _TRIGGERS for code in codes) or any(name in text for name in RECURRENT_NAMES):
        return True
    triggered = [_TRIGGERS[code] for code in codes if _TRIGGERS[code][0](text)]
    if any(not needs_shape for _, needs_shape in triggered):
        return True
    return bool(triggered) and _has_heuristic_shape(text)


def _has_heuristic_shape(text: str) -> bool:
    """``a, h = f(..., h, ...)`` anywhere; True too when CPython cannot read the file.

    A superset of what ``FileFacts`` takes for a heuristic recurrent call: a two-element tuple target
    whose second element names a key that is also passed to the call (here any argument counts,
    the first too).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CPython's SyntaxWarnings are not ours to print
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Tuple) and len(target.elts) == 2:
            results = set(_flat_keys(target.elts[1]))
            arguments = [*node.value.args, *(k.value for k in node.value.keywords if k.arg is not None)]
            if any(results.intersection(_flat_keys(arg)) for arg in arguments):
                return True
    return False


def _flat_keys(node: ast.expr) -> list[str]:
    """``names.flat_keys`` on CPython's tree: ``h`` -> [h], ``(h, self.c)`` -> [h, self.c]."""
    if isinstance(node, ast.Starred):
        node = node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [key for element in node.elts for key in _flat_keys(element)]
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [".".join([node.id, *reversed(parts)])] if isinstance(node, ast.Name) else []
