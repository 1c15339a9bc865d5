"""Autofix: rules describe edits to the tree they checked; this module applies them and writes files.

A rule offers a repair by overriding ``Rule.fix(facts, violation)`` to return a ``Fix``: a few
``Edit``s made with ``replace``, ``replace_statement``, ``remove_statement``, ``insert_before`` or
``move_statement`` on nodes of the facts' tree (a statement is found from any node inside it),
and whether the change is ``safe`` (applied by ``--fix``) or may change behaviour (applied only
with ``--unsafe-fixes``; a rule whose every fix may, sets ``fix_safe = False``). It also sets
``fix_summary``, which its page and ``explain`` show::

    fix_summary = "Wraps the state: `tuple(s.detach() for s in state)`"

    def fix(self, facts, violation):
        new = cst.parse_expression(f"tuple(s.detach() for s in {facts.source(violation.node)})")
        return Fix((replace(violation.node, new),))

All the edits of a file are applied in one libcst pass, so formatting and comments outside the
edited nodes stay as they were. The file is then re-parsed and re-checked, and the rounds repeat
until nothing applicable is left (an edit lost to an overlapping one is made again in the next
round). Nothing is written unless the result compiles; files are replaced atomically (hard-linked
ones rewritten in place) and never when they are read-only or changed on disk during the run.
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import stat
import tempfile
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from hs_lint.engine import applies
from hs_lint.files import Unreadable, read_source
from hs_lint.noqa import unsuppressed

if TYPE_CHECKING:
    from hs_lint.engine import Finding, Linter
    from hs_lint.project.index import ModuleView

MAX_ROUNDS = 10


@dataclass(frozen=True)
class Edit:
    kind: str  # "replace" | "replace_statement" | "insert_before" | "move_before"
    node: cst.CSTNode  # a node of the tree the rule was given (matched by identity)
    new: tuple[cst.CSTNode | cst.RemovalSentinel, ...] = ()
    anchor: cst.CSTNode | None = None  # move_before: the node whose line the moved line goes before


def replace(node: cst.CSTNode, new: cst.CSTNode) -> Edit:
    """Put ``new`` where ``node`` stands (an expression for an expression, a statement for a statement)."""
    return Edit("replace", node, (new,))


def replace_statement(node: cst.CSTNode, new: cst.BaseSmallStatement) -> Edit:
    """Replace the innermost simple statement that holds ``node``: ``h.detach()`` -> ``h = h.detach()``."""
    return Edit("replace_statement", node, (new,))


def remove_statement(node: cst.CSTNode) -> Edit:
    """Remove the innermost simple statement that holds ``node`` (its line too, when it was alone)."""
    return Edit("replace_statement", node, (cst.RemoveFromParent(),))


def insert_before(node: cst.CSTNode, *statements: cst.BaseStatement) -> Edit:
    """Insert whole statements before the line (or compound statement) that holds ``node``."""
    return Edit("insert_before", node, statements)


def move_statement(node: cst.CSTNode, before: cst.CSTNode) -> Edit:
    """Move the line that holds ``node``, with the comments above it, to just before the line holding ``before``."""
    return Edit("move_before", node, anchor=before)


@dataclass(frozen=True)
class Fix:
    edits: tuple[Edit, ...]
    safe: bool = True  # False: may change behaviour; applied only with --unsafe-fixes


_LINES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


class _Locator(cst.CSTVisitor):
    """Where each edited node stands, found before anything changes: its innermost simple statement
    and its innermost line (a simple statement line or a compound statement)."""

    def __init__(self, nodes: set[int]) -> None:
        super().__init__()
        self._wanted = nodes
        self._stacks: tuple[list[cst.CSTNode], list[cst.CSTNode]] = ([], [])
        self.small: dict[int, cst.BaseSmallStatement] = {}
        self.line: dict[int, cst.BaseStatement] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        small, lines = self._stacks
        if isinstance(node, cst.BaseSmallStatement):
            small.append(node)
        if isinstance(node, _LINES):
            lines.append(node)
        if id(node) in self._wanted:
            if small:
                self.small[id(node)] = small[-1]
            if lines:
                self.line[id(node)] = lines[-1]
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for stack in self._stacks:
            if stack and stack[-1] is original_node:
                stack.pop()


class _Applier(cst.CSTTransformer):
    """Applies edits keyed by the identity of the original nodes, in one pass over the tree."""

    def __init__(self, module: cst.Module, edits: Sequence[Edit]) -> None:
        super().__init__()
        where = _Locator({id(n) for e in edits for n in (e.node, e.anchor) if n is not None})
        module.visit(where)
        self._replace: dict[int, cst.CSTNode | cst.RemovalSentinel] = {}
        self._before: dict[int, list[cst.BaseStatement]] = {}
        for edit in edits:
            small, line = where.small.get(id(edit.node)), where.line.get(id(edit.node))
            if edit.kind == "replace":
                self._replace.setdefault(id(edit.node), edit.new[0])
            elif edit.kind == "insert_before" and line is not None:
                self._insert(line, edit.new)
            elif edit.kind == "replace_statement" and small is not None:
                # A removal takes the whole line when the statement is alone on it.
                alone = isinstance(line, cst.SimpleStatementLine) and list(line.body) == [small]
                target = line if alone and isinstance(edit.new[0], cst.RemovalSentinel) else small
                self._replace.setdefault(id(target), edit.new[0])
            elif edit.kind == "move_before" and line is not None:
                anchor = where.line.get(id(edit.anchor))
                if anchor is not None and anchor is not line:
                    self._replace.setdefault(id(line), cst.RemoveFromParent())
                    self._insert(anchor, (line,))

    def _insert(self, line: cst.CSTNode, statements: Sequence[cst.CSTNode | cst.RemovalSentinel]) -> None:
        queued = self._before.setdefault(id(line), [])
        # Two findings asking for the same line (one state carried by two calls) get it once.
        queued.extend(s for s in statements if not any(s.deep_equals(q) for q in queued))  # type: ignore[misc]

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        result = self._replace.get(id(original_node), updated_node)
        before = self._before.get(id(original_node))
        if before:
            return cst.FlattenSentinel([*before, *(() if isinstance(result, cst.RemovalSentinel) else (result,))])
        return result


def apply(module: cst.Module, fixes: Sequence[Fix]) -> str:
    """The module's code with every edit of ``fixes`` made."""
    return module.visit(_Applier(module, [edit for fix in fixes for edit in fix.edits])).code


class FixError(Exception):
    """A file was not fixed; the message says why (the file is left as it was), ``findings`` what it holds."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


def _verify(source: str, path: str) -> None:
    """A fix must leave code that both libcst and CPython accept."""
    try:
        cst.parse_module(source)
        compile(source, path, "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as exc:
        raise FixError(f"{path}: hs-lint internal error: a fix produced code that does not parse ({exc}); "
                       "the file was left unchanged (please report this with the file)") from None


def fix_source(linter: Linter, source: str, path: str, *, unsafe: bool,
               project: ModuleView | None = None) -> tuple[str, list[Finding]]:
    """The fixed text and the findings that remain in it (``# noqa`` is honoured: those stay as they are).

    Raises FixError when a fix leaves code that does not compile, or does not clear its finding
    (the same findings ask for a fix again), rather than writing a half-fixed file.
    """
    previous = None
    for _ in range(MAX_ROUNDS):
        analysis = linter.analyse(source, path, project)
        findings = unsuppressed(analysis.findings, source)
        chosen = [f for f in findings if applies(f.fix, unsafe)]
        if not chosen or analysis.module is None:
            return source, findings
        asked = sorted((f.code, f.message) for f in chosen)
        if asked == previous:
            codes = ", ".join(sorted({code for code, _ in asked}))
            raise FixError(f"{path}: hs-lint internal error: the fix for {codes} does not clear its finding; "
                           "the file was left unchanged (please report this with the file)")
        fixed = apply(analysis.module, [analysis.fixes[f] for f in chosen])
        if fixed == source:
            return source, findings
        _verify(fixed, path)
        source, previous = fixed, asked
    return source, unsuppressed(linter.check_source(source, path, project), source)


@dataclass
class Fixer:
    """``--fix`` (write) or ``--diff`` (print instead) over the files of one run."""

    unsafe: bool = False
    write: bool = True
    diffs: list[str] = field(default_factory=list)
    fixed: Counter[str] = field(default_factory=Counter)  # fixed findings per code
    texts: dict[str, str] = field(default_factory=dict)  # when not writing: each fixed file's new text

    def merge(self, other: Fixer) -> None:
        """Add what ``other`` (a worker's, for one file) fixed to this run's diffs, counts and texts."""
        self.diffs.extend(other.diffs)
        self.fixed.update(other.fixed)
        self.texts.update(other.texts)

    def fix_file(self, path: Path, data: bytes, source: str, linter: Linter,
                 project: ModuleView | None = None) -> list[Finding]:
        """Fix one file read as ``data`` (decoded: ``source``), with its project's facts; return what remains."""
        name = str(path)
        before = unsuppressed(linter.check_source(source, name, project), source)
        if not any(applies(f.fix, self.unsafe) for f in before):
            return before
        fixed, remaining = fix_source(linter, source, name, unsafe=self.unsafe, project=project)
        if fixed == source:
            return remaining
        if self.write:
            try:
                write_atomically(path, data, fixed)
            except FixError as exc:
                raise FixError(str(exc), before) from None
        else:
            self.diffs.append(unified_diff(source, fixed, name))
            self.texts[name] = fixed
        self.fixed.update(Counter(f.code for f in before) - Counter(f.code for f in remaining))
        return remaining


def unified_diff(before: str, after: str, path: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        *((path, path) if os.path.isabs(path) else (f"a/{path}", f"b/{path}")),
    )
    return "".join(line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines)


def encode_like(original: bytes, text: str) -> bytes:
    """``text`` in the encoding ``original`` was read in (its BOM or PEP 263 cookie)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    return text.encode(encoding)


def write_atomically(path: Path, original: bytes, text: str) -> None:
    """Replace the file's contents in one step, in its own encoding, keeping its permissions.

    The new text goes to a temporary file in the same directory, which then replaces the file
    with ``os.replace``. A file whose bytes changed since they were read, or that is read-only, is
    left alone (FixError); a file with other hard links is rewritten in place, so that every name
    keeps seeing the same, fixed file (a replacement would part them).
    """
    target = path.resolve()  # through a symbolic link: fix the file, keep the link
    data = encode_like(original, text)
    try:
        current = read_source(target, limit=None)
        status = target.stat()
    except (Unreadable, OSError) as exc:
        raise FixError(f"{path}: not fixed: {exc}") from None
    if current != original:
        raise FixError(f"{path}: changed on disk during the run; not fixed (run again)")
    if not status.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise FixError(f"{path}: read-only; not fixed (make it writable to fix it)")
    if status.st_nlink > 1:
        with open(target, "r+b") as stream:
            stream.write(data)
            stream.truncate()
            stream.flush()
            os.fsync(stream.fileno())
        return
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".hs-lint")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
