"""The metamorphic harness in the test run: hs-lint's findings survive meaning-preserving rewrites.

Each case is one (subject, transformation) pair with its seeded variant. The default run takes a fixed sixteenth
of the pairs; ``-m slow`` takes them all. A pair listed in ``variants/known_failures.txt`` is a known failure
(xfail, strict: a fix turns it green, and then it must leave the list).
"""

from __future__ import annotations

import zlib

import pytest

from variants.base import Transform
from variants.catalogue import TRANSFORMS, sample
from variants.harness import Subject, judge, subjects
from variants.program import Program, Variant
from variants.survey import known_failures

SUBJECTS = subjects()
KNOWN = known_failures()


def _in_default_run(subject: Subject, transform: Transform) -> bool:
    return zlib.crc32(f"{subject.name}::{transform.name}".encode()) % 16 == 0


def _cases(default: bool):
    for subject in SUBJECTS:
        for transform in TRANSFORMS:
            if _in_default_run(subject, transform) != default:
                continue
            key = f"{subject.name}::{transform.name}"
            marks = [pytest.mark.xfail(strict=True, reason=f"{transform.name}: {KNOWN[key]}")] if key in KNOWN else []
            if not default:
                marks.append(pytest.mark.slow)
            yield pytest.param(subject, transform, id=key, marks=marks)


def _check(subject: Subject, transform: Transform) -> None:
    for variant in sample(subject.name, transform, subject.program):
        outcome = judge(subject, variant)
        assert outcome.passed, f"{variant.detail}: lost {list(outcome.lost)}, unexpected {list(outcome.extra)}"


@pytest.mark.parametrize(("subject", "transform"), list(_cases(True)))
def test_finding_survives_rewrite(subject, transform):
    _check(subject, transform)


@pytest.mark.parametrize(("subject", "transform"), list(_cases(False)))
def test_finding_survives_rewrite_every_pair(subject, transform):
    _check(subject, transform)


def test_every_subject_is_reported_exactly_before_any_rewrite():
    for subject in SUBJECTS:
        if subject.kind.startswith("example"):
            continue
        outcome = judge(subject, _identity(subject.program))
        assert outcome.passed, (subject.name, outcome.lost, outcome.extra)


def test_every_transformation_applies_somewhere():
    for transform in TRANSFORMS:
        assert any(next(transform.variants(s.program), None) for s in SUBJECTS), transform.name


def _identity(program: Program) -> Variant:
    return Variant("identity", "", program)
