"""Findings -> text for people and machines. Keys of the JSON objects are a public contract.

Formats: ``text`` (flake8's ``path:line:col: CODE message``, ``[*]`` before the message when
``--fix`` repairs it), ``json``, ``sarif`` (SARIF 2.1.0, for GitHub code scanning and other
viewers) and ``github`` (workflow commands that GitHub Actions turns into annotations). Also the
summary line, ``--statistics`` and the progress bar, which go to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeVar
from urllib.parse import quote

from hs_lint import __version__
from hs_lint.catalogue import rule_codes
from hs_lint.docs import CHECKER_CODES, checker_page, detail, rule_page
from hs_lint.engine import Finding, applies

T = TypeVar("T")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): a file name holding a newline must not
    split a line of text output, nor an escape sequence reach the terminal."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _mark(finding: Finding, unsafe_fixes: bool) -> str:
    return "[*] " if applies(finding.fix, unsafe_fixes) else ""


def as_text(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """``path:line:col: CODE message``, one per line, as flake8 prints them; ``[*]``: ``--fix`` repairs it."""
    return "".join(
        f"{printable(f.path)}:{f.line}:{f.col}: {f.code} {_mark(f, unsafe_fixes)}{f.message}{_verdict(f)}\n"
        for f in findings
    )


_VERDICTS = {"confirmed": "confirmed by torch", "reproduced": "reproduced by torch on a stand-in",
             "plausible": "plausible (torch, on an assumed module)", "refuted": "refuted by torch",
             "unconfirmable": "unconfirmable"}
_VERDICT_CHARS = 100  # the verdict's detail on the finding's line; JSON and SARIF keep it whole


def _verdict(finding: Finding) -> str:
    """`` [confirmed by torch: <torch's message>]`` under --confirm, on the same line."""
    verdict = finding.confirmation
    if verdict is None:
        return ""
    module = verdict.assumed.get("module")
    stand_in = str(module).split(" (", 1)[0] if module else str(verdict.assumed.get("stand-in", "")).split(", not ")[0]
    assumed = f"; assumed {stand_in}" if stand_in else ""
    return f" [{_VERDICTS[verdict.status]}: {_cut(verdict.detail, _VERDICT_CHARS)}{assumed}]"


def _cut(text: str, limit: int) -> str:
    """``text`` on one line, cut with ``…`` at the last word boundary before ``limit`` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = line[: limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(" ,;:") + "…"


def as_json(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """The findings' fields, and ``detail``: the why behind the one-line message (the rule's rationale)."""
    return json.dumps([{**f.as_dict(), "detail": detail(f.code)} for f in findings], indent=2) + "\n"


def _level(code: str) -> str:
    """SARIF's level: an advisory rule's finding is a ``warning`` (GitHub shows it as such), every other an ``error``."""
    return "warning" if rule_codes().get(code, True) is False else "error"


def _sarif_rules() -> list[dict[str, object]]:
    """Every code with its why (``fullDescription``) and its whole page (``help``): viewers show them
    next to the one-line message."""
    from hs_lint.rules import all_rules  # the rules' texts: loaded for SARIF output only

    rules: list[dict[str, object]] = [
        {
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.rationale},
            "help": {"text": detail(code), "markdown": rule_page(rule)},
            "defaultConfiguration": {"level": _level(code), "enabled": rule.default_enabled},
            "properties": {"fix": "none" if not rule.fix_summary else "safe" if rule.fix_safe else "unsafe"},
        }
        for code, rule in all_rules().items()
    ]
    rules += [
        {"id": code, "name": name, "shortDescription": {"text": text}, "fullDescription": {"text": text},
         "help": {"text": text, "markdown": checker_page(code)}}
        for code, (name, text, _) in CHECKER_CODES.items()
    ]
    return rules


def as_sarif(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """One SARIF 2.1.0 run: every rule in ``tool.driver.rules``, one result per finding.

    Columns are counted in code points, as libcst and the text output count them; paths are
    relative to where hs-lint ran (``%SRCROOT%``), as code scanning expects.
    """
    rules = _sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _level(f.code),
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.path),
                        "region": {"startLine": f.line, "startColumn": f.col, "endLine": f.end_line,
                                   "endColumn": f.end_col},
                    }
                }
            ],
        }
        for f in findings
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "hs-lint", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _artifact(path: str) -> dict[str, str]:
    """A relative path is relative to the checkout (``%SRCROOT%``); an absolute one becomes a file URI."""
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path.replace("\\", "/").removeprefix("./")), "uriBaseId": "%SRCROOT%"}


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping (data; properties also escape ``:`` and ``,``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def as_github(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """``::error file=..,line=..,col=..,endLine=..,endColumn=..,title=HS101::message`` per finding
    (``::warning`` for an advisory rule's)."""
    lines = []
    for f in findings:
        props = (f"file={_escape(f.path, property_value=True)},line={f.line},col={f.col},endLine={f.end_line},"
                 f"endColumn={f.end_col},title={f.code}")
        lines.append(f"::{_level(f.code)} {props}::{_escape(f'{f.code} {f.message}')}\n")
    return "".join(lines)


FORMATTERS: dict[str, Callable[[Sequence[Finding], bool], str]] = {
    "text": as_text, "json": as_json, "sarif": as_sarif, "github": as_github,
}


def _per_code(findings: Sequence[Finding], unsafe_fixes: bool) -> list[tuple[str, str, int, int]]:
    """``(code, name, count, how many --fix repairs)`` per code, most frequent first."""
    counts = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    fixable = Counter(f.code for f in findings if applies(f.fix, unsafe_fixes))
    return [(code, names[code], count, fixable[code])
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def statistics(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """``count  CODE  [*] name`` per code, most frequent first (``[*]``: all of them are fixable)."""
    return "".join(
        f"{count:>5}  {code}  {'[*]' if fixable == count else '   '} {name}\n"
        for code, name, count, fixable in _per_code(findings, unsafe_fixes)
    )


def statistics_as_json(findings: Sequence[Finding], unsafe_fixes: bool = False) -> str:
    """``--statistics --format json``: ``[{"code", "name", "count", "fixable"}]`` in the text's order."""
    return json.dumps([{"code": code, "name": name, "count": count, "fixable": fixable}
                       for code, name, count, fixable in _per_code(findings, unsafe_fixes)], indent=2) + "\n"


STATISTICS: dict[str, Callable[[Sequence[Finding], bool], str]] = {"text": statistics, "json": statistics_as_json}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(findings: Sequence[Finding], files_checked: int, unsafe_fixes: bool = False) -> str:
    """``N findings in M files (K fixable), F files checked``."""
    fixable = sum(applies(f.fix, unsafe_fixes) for f in findings)
    hidden = sum(f.fix == "unsafe" for f in findings) if not unsafe_fixes else 0
    line = (f"{plural(len(findings), 'finding')} in {plural(len({f.path for f in findings}), 'file')} "
            f"({fixable} fixable), {plural(files_checked, 'file')} checked")
    if hidden:
        line += f"; {hidden} more fixable with --unsafe-fixes"
    return line


def progress(items: Iterable[T], stream: TextIO | None = None, threshold: int = 200, width: int = 30) -> Iterator[T]:
    """Yield ``items``, drawing a bar on ``stream`` (stderr) for more than ``threshold`` of them on a TTY."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield from items
        return
    todo = list(items)
    if len(todo) <= threshold:
        yield from todo
        return
    step = max(1, len(todo) // 100)
    text = ""
    for done, item in enumerate(todo):
        if done % step == 0:
            filled = width * done // len(todo)
            text = f"\rhs-lint [{'#' * filled}{'.' * (width - filled)}] {done}/{len(todo)} files"
            stream.write(text)
            stream.flush()
        yield item
    stream.write("\r" + " " * len(text) + "\r")
    stream.flush()
