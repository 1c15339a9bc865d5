"""The text format for a person: colour on a terminal, and ``--show-source`` (the line, a caret under the column).

Each finding's line is ``output.as_text``'s own, only decorated, so the plain and the pretty text
never disagree. Colour follows the usual conventions: ``--color always|never``, else only when the
output is a terminal and ``NO_COLOR`` is unset or empty (https://no-color.org).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Sequence
from typing import TextIO

from hs_lint.engine import Finding
from hs_lint.output import as_text, printable

BOLD, RED, CYAN, RESET = "\033[1m", "\033[1;31m", "\033[36m", "\033[0m"
COLOR_CHOICES = ("auto", "always", "never")


def use_color(choice: str, stream: TextIO | None) -> bool:
    """``stream`` is where the text goes (None: a file named by ``--output-file``)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream is not None and stream.isatty()


def as_pretty_text(findings: Sequence[Finding], unsafe_fixes: bool, *, color: bool,
                   source_lines: Callable[[str], Sequence[str]] | None = None) -> str:
    """``as_text`` with colour and, given ``source_lines`` (path -> the file's lines), each finding's line."""
    parts = []
    for finding in findings:
        line = as_text([finding], unsafe_fixes)
        parts.append(_colored(line, finding) if color else line)
        if source_lines is not None:
            parts.append(_excerpt(finding, source_lines(finding.path), color))
    return "".join(parts)


def _colored(line: str, finding: Finding) -> str:
    location = f"{printable(finding.path)}:{finding.line}:{finding.col}:"
    code = f" {finding.code} "
    if not line.startswith(location + code):
        return line
    rest = line[len(location + code):]
    if rest.startswith("[*] "):
        rest = f"{CYAN}[*]{RESET} {rest[4:]}"
    return f"{BOLD}{location}{RESET} {RED}{finding.code}{RESET} {rest}"


def _excerpt(finding: Finding, lines: Sequence[str], color: bool) -> str:
    """The finding's source line and a caret line under its columns (tabs kept, wide characters counted twice)."""
    if not 1 <= finding.line <= len(lines):
        return ""
    text = lines[finding.line - 1].rstrip("\r\n")
    start = min(finding.col - 1, len(text))
    end = finding.end_col - 1 if finding.end_line == finding.line else len(text)
    pad = "".join(_blank(c) for c in text[:start])
    width = max(1, sum(len(_blank(c)) for c in text[start:max(end, start)]))
    caret = "^" * width
    return f"{text}\n{pad}{RED}{caret}{RESET}\n" if color else f"{text}\n{pad}{caret}\n"


def _blank(char: str) -> str:
    if char == "\t":
        return "\t"
    return "  " if unicodedata.east_asian_width(char) in "WF" else " "
