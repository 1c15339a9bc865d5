"""Every rewrite, in the issue's order of families, and the deterministic sample the default test run takes."""

from __future__ import annotations

import random

from . import alias, annotate, config, helpers, move, reassign, rename, split_join, wrap
from .base import Transform
from .program import Program, Variant

TRANSFORMS: list[Transform] = [
    *rename.TRANSFORMS, *reassign.TRANSFORMS, *split_join.TRANSFORMS, *helpers.TRANSFORMS, *move.TRANSFORMS,
    *config.TRANSFORMS, *alias.TRANSFORMS, *wrap.TRANSFORMS, *annotate.TRANSFORMS,
]
BY_NAME = {t.name: t for t in TRANSFORMS}
SEED = 20261205


def sample(subject_name: str, transform: Transform, program: Program, per_transform: int = 1) -> list[Variant]:
    """``per_transform`` variants of one transform, chosen by a seed that depends only on the names."""
    variants = list(transform.variants(program))
    rng = random.Random(f"{SEED}:{subject_name}:{transform.name}")
    return variants if len(variants) <= per_transform else rng.sample(variants, per_transform)
