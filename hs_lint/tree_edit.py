"""Editing a libcst tree without copying it: the nodes on the paths to the replaced ones are rebuilt, the rest
is shared, and each rebuilt node is mapped back to the node it stands for (so positions can be looked up)."""

from __future__ import annotations

import dataclasses

import libcst as cst

from hs_lint.walk import code_children, code_nodes


def read_names(expression: cst.CSTNode) -> list[str]:
    """The names an expression reads (not attribute names, not keywords), once per occurrence."""
    return [node.value for node in name_reads(expression)]


def name_reads(expression: cst.CSTNode) -> list[cst.Name]:
    """The ``Name`` nodes of an expression that read a name (not attribute names, not keywords)."""
    skip: set[int] = set()
    found = []
    for node in code_nodes(expression):
        if isinstance(node, cst.Attribute):
            skip.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            skip.add(id(node.keyword))
        elif isinstance(node, cst.Name) and id(node) not in skip:
            found.append(node)
    return found


def paths_to(root: cst.CSTNode, targets: dict[int, object]) -> set[int]:
    """The nodes on the paths from ``root`` down to the targets."""
    parents: dict[int, cst.CSTNode] = {}
    found = []
    for node in code_nodes(root):
        if id(node) in targets:
            found.append(node)
        for child in code_children(node):
            parents[id(child)] = node
    on_path: set[int] = set()
    for node in found:
        while id(node) in parents and id(node := parents[id(node)]) not in on_path:
            on_path.add(id(node))
    return on_path


def rebuild(node: cst.CSTNode, replacements: dict[int, cst.BaseExpression], on_path: set[int],
            origins: dict[int, cst.CSTNode]) -> cst.CSTNode:
    """``node`` with the replacements made; only the nodes on a path to one are copied (and mapped back)."""
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, cst.CSTNode):
            new = replaced(value, replacements, on_path, origins)
            if new is not value:
                changes[f.name] = new
        elif isinstance(value, (tuple, list)) and any(isinstance(v, cst.CSTNode) and (
                id(v) in on_path or id(v) in replacements) for v in value):
            changes[f.name] = type(value)(replaced(v, replacements, on_path, origins) if isinstance(
                v, cst.CSTNode) else v for v in value)
    rebuilt = node.with_changes(**changes) if changes else node
    if rebuilt is not node:
        origins[id(rebuilt)] = origins.get(id(node), node)
    return rebuilt


def replaced(node: cst.CSTNode, replacements: dict[int, cst.BaseExpression], on_path: set[int],
             origins: dict[int, cst.CSTNode]) -> cst.CSTNode:
    if id(node) in replacements:
        return replacements[id(node)]
    return rebuild(node, replacements, on_path, origins) if id(node) in on_path else node
