"""Which torch a file, and the modules it shares imports with, is written for: before 0.4 or after.

``type(h) == Variable`` was right before torch 0.4 and is a bug after it (HS106). A file says which it targets by
idioms only one era has; a helper module that says nothing (the ``repackage_hidden`` it holds aside) takes the
era of the project modules it imports or is imported by, where they agree.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import VARIABLE_CLASSES, FileFacts
from hs_lint.names import method_name

_OLD_TORCH_KEYWORDS = frozenset({"volatile", "retain_variables"})  # removed in 0.4: a file for torch 0.3
_NEW_TORCH_METHODS = frozenset({"item", "detach", "detach_", "to"})  # added in 0.4
OLD, NEW = "old", "new"


def era(facts: FileFacts) -> str | None:
    """``NEW`` when the file uses 0.4's ``.item()``, ``.detach()``, ``.to()``, ``torch.no_grad()`` or
    ``torch.device()``; else ``OLD`` when it passes ``volatile=``/``retain_variables=``, reads a loss as
    ``loss.data[0]``, or wraps tensors in ``Variable(...)`` outside a type-testing helper; else None."""
    if any(method_name(site.node) in _NEW_TORCH_METHODS or site.qualified in ("torch.no_grad", "torch.device")
           for site in facts.calls):
        return NEW
    testers = {id(scope) for _, scope in facts.type_comparisons}
    old = any(
        any(arg.keyword is not None and arg.keyword.value in _OLD_TORCH_KEYWORDS for arg in site.node.args)
        or (site.qualified in VARIABLE_CLASSES and id(site.scope) not in testers)
        for site in facts.calls
    ) or any(_reads_first_element_of_data(node) for node, _ in facts.subscripts)
    return OLD if old else None


def targets_old_torch(facts: FileFacts) -> bool:
    """The file is written for torch < 0.4: by its own idioms, or, when it has none, by those of the project
    modules it imports or is imported by (some old, none new)."""
    own = era(facts)
    if own is not None or facts.project is None:
        return own == OLD
    project = facts.project
    users = [s for name in _testers(facts) for s in project.importers(name)]  # through a package's re-export
    neighbours = {s.torch_era for s in (*project.imported(facts.imports), *project.importers(), *users)}
    return OLD in neighbours and NEW not in neighbours


def _testers(facts: FileFacts) -> set[str]:
    """The module-level names (functions, classes) whose bodies hold a ``type(h) == Variable`` test."""
    found = set()
    for _, scope in facts.type_comparisons:
        while scope.parent is not None and scope.parent.parent is not None:
            scope = scope.parent
        if scope.parent is not None:
            found.add(scope.cls.name if scope.cls is not None else scope.name)
    return found


def _reads_first_element_of_data(node: cst.Subscript) -> bool:
    """``loss.data[0]`` or ``loss.data.cpu().numpy()[0]``: a scalar read that fails on 0-d tensors."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    index = node.slice[0].slice.value
    if not (isinstance(index, cst.Integer) and index.value == "0"):
        return False
    value = node.value
    if isinstance(value, cst.Call) and method_name(value) == "numpy":
        return "data" in {n.attr.value for n in _attribute_chain(value)}
    return isinstance(value, cst.Attribute) and value.attr.value == "data"


def _attribute_chain(node: cst.BaseExpression) -> Iterator[cst.Attribute]:
    """The attributes of a chain such as ``loss.data.cpu().numpy``, outermost first."""
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Attribute):
            yield node
            node = node.value
        else:
            node = node.func
