"""The rule catalogue: every module in this package defines rules, and defining one registers it."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from hs_lint.rule import REGISTRY, Rule


@functools.cache
def all_rules() -> dict[str, type[Rule]]:
    """Every rule class by code, sorted; the catalogue modules are imported once per process."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))
