"""Findings -> text for people and machines. Keys of the JSON objects are a public contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from hs_lint.engine import Finding


def as_text(findings: Sequence[Finding]) -> str:
    """``path:line:col: CODE message``, one per line, as flake8 prints them."""
    return "".join(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}\n" for f in findings)


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2) + "\n"


FORMATTERS: dict[str, Callable[[Sequence[Finding]], str]] = {"text": as_text, "json": as_json}
