"""How deep libcst would have to go, measured on CPython's token stream before libcst sees the file.

libcst's native parser recurses once per level of an expression and has no limit of its own: about
1,500 nested brackets, or a 20,000-long ``not`` or 8,000-long ``+`` chain, overflow its stack and kill
the process; chains of calls, attributes, unary operators or lambdas cost time and memory that grow
faster than the file (a 5,000-long ``not`` chain: 4 s and 1.4 GB). So every line is measured first,
with ``tokenize`` (a tenth of libcst's time): the levels a tree would have there are the brackets
open plus, at each open level, the operators chained since its last ``,``, ``;`` or ``=``. Chains
that libcst keeps flat (``and``/``or``, comparisons) are not counted.
"""

from __future__ import annotations

import io
import keyword
import tokenize

MAX_LEVELS = 500  # libcst parses 500 levels of any kind in well under a second and 100 MB

_OPENING, _CLOSING, _RESETS = frozenset("([{"), frozenset(")]}"), frozenset({",", ";", "="})
_FLAT = frozenset({"<", ">", "==", "!=", "<=", ">=", ":", "->"})  # libcst keeps these chains flat
_CHAINING_WORDS = frozenset({"not", "if", "else", "lambda", "await"})


def deepest(source: str) -> tuple[int, int]:
    """The most levels any expression of ``source`` would have, and the line where it is reached.
    Text that ``tokenize`` rejects is measured up to the error (the parser reports the error itself)."""
    counts = [0]  # operators chained at each open bracket level, outermost first
    chained = levels = 0  # sum(counts); and the most levels so far
    where, previous = 1, None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = token.type, token.string
            if kind == tokenize.OP and text in _OPENING:
                step = _after_operand(previous)  # a call or subscript nests what it follows
                counts[-1] += step
                chained += step
                counts.append(0)
            elif kind == tokenize.OP and text in _CLOSING:
                chained -= counts.pop() if len(counts) > 1 else 0
            elif kind == tokenize.NEWLINE:
                counts, chained = [0], 0
            elif kind == tokenize.OP and (text in _RESETS or (text.endswith("=") and text not in _FLAT)):
                chained -= counts[-1]
                counts[-1] = 0
            elif ((kind == tokenize.OP and text not in _FLAT) or (kind == tokenize.NAME and text in _CHAINING_WORDS)
                  or (kind == tokenize.STRING and previous is not None and previous.type == tokenize.STRING)):
                counts[-1] += 1  # an operator, or strings concatenated by adjacency
                chained += 1
            if len(counts) - 1 + chained > levels:
                levels, where = len(counts) - 1 + chained, token.start[0]
            if kind not in (tokenize.NL, tokenize.COMMENT):
                previous = token
    except (tokenize.TokenError, SyntaxError):
        pass
    return levels, where


def _after_operand(previous: tokenize.TokenInfo | None) -> int:
    """1 when a bracket opened after ``previous`` is a call or subscript, 0 when it starts an operand."""
    if previous is None or (previous.type == tokenize.NAME and keyword.iskeyword(previous.string)):
        return 0
    return 1 if previous.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING) or previous.string in _CLOSING \
        else 0


def too_deep(source: str) -> str | None:
    """Why libcst must not parse ``source`` (one line), or None when it may."""
    levels, line = deepest(source)
    if levels <= MAX_LEVELS:
        return None
    return (f"expressions are nested too deeply: {levels:,} levels (brackets and chained operators) on line {line}, "
            f"more than the {MAX_LEVELS} hs-lint analyses")
