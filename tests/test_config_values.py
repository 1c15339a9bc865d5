"""Configuration as values: argparse defaults as the default run sees them, and mappings built in the code."""
from __future__ import annotations

import libcst as cst
import pytest

from hs_lint.facts import FileFacts
from hs_lint.shapes import Dim


def _options(line: str) -> dict:
    facts = FileFacts(cst.parse_module(f"import argparse\np = argparse.ArgumentParser()\n{line}\nargs = p.parse_args()\n"))
    return {dest: option.value for dest, option in facts.options.items()}


@pytest.mark.parametrize(("line", "expected"), [
    ('p.add_argument("--layers", type=int, default=2)', {"layers": 2}),
    ('p.add_argument("--hidden", type=int, default="256")', {"hidden": 256}),  # argparse applies type
    ('p.add_argument("--lr", type=float, default="1e-3")', {"lr": 0.001}),
    ('p.add_argument("--bi", action="store_true")', {"bi": False}),
    ('p.add_argument("--no-bf", dest="batch_first", action="store_false")', {"batch_first": True}),
    ('p.add_argument("--cell", choices=["lstm", "gru"], default="gru")', {"cell": "gru"}),
    ('p.add_argument("--sizes", nargs="+", type=int, default=[1, 2])', {"sizes": None}),
    ('p.add_argument("--seed", type=int)', {"seed": None}),
    ('p.add_argument("--hidden", type=int, default=HIDDEN)', {"hidden": None}),  # not a literal: unknown
    ('p.add_argument("--v", action="count", default=0)', {"v": None}),
])
def test_an_option_is_its_default_when_the_flag_is_not_given(line, expected):
    assert _options(line) == expected


def _value(source: str, expr: str):
    facts = FileFacts(cst.parse_module(source + f"\nprobe = {expr}\n"))
    probe = facts.assignments[-1].value
    return facts.shapes.value(probe, facts.module_scope)


@pytest.mark.parametrize(("source", "expr", "expected"), [
    ('CONFIG = {"hidden": 64, "layers": 2}', 'CONFIG["hidden"]', Dim(64)),
    ('CONFIG = dict(hidden=64, layers=2)', 'CONFIG["layers"]', Dim(2)),
    ('CONFIG = {"hidden": 64}', 'CONFIG.get("layers", 1)', Dim(1)),
    ('H = 32\nCONFIG = {"hidden": H * 2}', 'CONFIG["hidden"]', Dim(64)),
    ('import argparse\np = argparse.ArgumentParser()\np.add_argument("--bi", action="store_true")\n'
     'args = p.parse_args()', "args.bi", False),
])
def test_a_mapping_built_in_the_code_is_read_entry_by_entry(source, expr, expected):
    assert _value(source, expr) == expected


@pytest.mark.parametrize("change", ['CONFIG.update(hidden=128)', 'CONFIG["hidden"] = 128',
                                    'CONFIG = {"hidden": 128} if big else CONFIG'])
def test_a_mapping_changed_after_it_is_built_is_not_trusted(change):
    value = _value(f'CONFIG = {{"hidden": 64}}\n{change}', 'CONFIG["hidden"]')
    assert value != Dim(64)
