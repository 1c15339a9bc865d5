"""Fuzzing, bounded for CI: generated programs and mutated fixtures never make anything raise.

``bench/fuzz_campaign.py`` runs the same invariant for as long as you like.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import hs_lint
from fuzz_cases import check_invariant, generated_programs, mutated_sources

BOUNDED = settings(max_examples=150, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@BOUNDED
@given(mutated_sources())
def test_mutated_fixtures_never_raise(source):
    check_invariant(source)


@settings(BOUNDED, max_examples=60)
@given(generated_programs())
def test_generated_programs_never_raise(source):
    check_invariant(source)


@settings(BOUNDED, max_examples=1)
@given(st.lists(mutated_sources(), min_size=40, max_size=40))
def test_cli_survives_a_tree_of_mutated_fixtures(tmp_path_factory, sources):
    """The real CLI, in parallel, over files no one wrote by hand."""
    tmp_path = tmp_path_factory.mktemp("mutated")
    for i, source in enumerate(sources):
        (tmp_path / f"m{i:03d}.py").write_text(source)
    result = hs_lint("check", "--no-cache", "-j", "2", ".", cwd=tmp_path)
    assert result.returncode in (0, 1, 2)
    assert "Traceback" not in result.stderr and "HS001" not in result.stdout, result.stderr
    assert f"{len(sources)} files checked" in result.stderr
