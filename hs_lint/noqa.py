"""Inline ``# noqa`` for the CLI, with flake8's own regex and its line mapping.

flake8 searches for ``noqa`` in the text of every physical line a token spans, so a comment on
any line of a multi-line string covers the whole token. Re-using its regex and the same
token walk keeps ``hs-lint check`` and ``flake8`` in agreement on what is suppressed.
"""

from __future__ import annotations

import tokenize
from collections.abc import Iterable

from flake8.defaults import NOQA_FILE, NOQA_INLINE_REGEXP
from flake8.utils import parse_comma_separated_list

from hs_lint.engine import Finding


def noqa_line_mapping(source: str) -> dict[int, str]:
    """Line number -> the text flake8 would search for ``noqa`` when reporting on that line."""
    lines = source.splitlines(keepends=True)
    mapping: dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, token.start[0]), max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(lines[first - 1 : last])
                mapping.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {number: line for number, line in enumerate(lines, start=1)}
    return mapping


def is_suppressed(code: str, text: str | None) -> bool:
    if not text:
        return False
    match = NOQA_INLINE_REGEXP.search(text)
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True
    listed = set(parse_comma_separated_list(codes))
    return code in listed or code.startswith(tuple(listed))


def unsuppressed(findings: Iterable[Finding], source: str) -> list[Finding]:
    """Drop what ``# noqa`` suppresses; ``# flake8: noqa`` on a line of its own silences the file."""
    findings = list(findings)
    if not findings or "noqa" not in source.lower():
        return findings
    if any(NOQA_FILE.match(line) for line in source.splitlines()):
        return []
    mapping = noqa_line_mapping(source)
    return [f for f in findings if not is_suppressed(f.code, mapping.get(f.line))]
