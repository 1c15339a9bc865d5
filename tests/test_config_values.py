"""Configuration as values: argparse defaults as the default run sees them, and mappings built in the code."""
from __future__ import annotations

import json

import libcst as cst
import pytest

from conftest import hs_lint
from hs_lint.facts import FileFacts
from hs_lint.project.index import Projects
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


LOADS = {
    "json": ('{"rnn": {"hidden": 64, "layers": 2}}', "import json\nwith open('{name}') as f:\n    CONFIG = json.load(f)\n"),
    "yaml": ("rnn:\n  hidden: 64\n  layers: 2\n", "import yaml\nCONFIG = yaml.safe_load(open('{name}'))\n"),
    "toml": ("[rnn]\nhidden = 64\nlayers = 2\n",
             "import tomllib\nfrom pathlib import Path\nCONFIG = tomllib.loads(Path('{name}').read_text())\n"),
    "cfg": ("[rnn]\nhidden = 64\nlayers = 2\n",
            "import configparser\nCONFIG = configparser.ConfigParser()\nCONFIG.read('{name}')\n"),
}


def _project_value(tmp_path, form: str, name: str, expr: str):
    text, reader = LOADS[form]
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "conf").mkdir(exist_ok=True)
    (tmp_path / "conf" / f"settings.{form}").write_text(text)
    source = reader.format(name=name) + f"probe = {expr}\n"
    script = tmp_path / "train.py"
    script.write_text(source)
    view = Projects().view(script)
    facts = FileFacts(cst.parse_module(source), view)
    return facts.shapes.value(facts.assignments[-1].value, facts.module_scope), view


@pytest.mark.parametrize(("form", "expr"), [
    ("json", 'CONFIG["rnn"]["hidden"]'), ("yaml", 'CONFIG["rnn"].get("hidden", 8)'), ("toml", 'CONFIG["rnn"]["hidden"]'),
    ("cfg", 'CONFIG.getint("rnn", "hidden")'), ("cfg", 'int(CONFIG["rnn"]["hidden"])'),
    ("cfg", 'CONFIG["rnn"].getint("hidden")'),
])
def test_a_configuration_file_shipped_with_the_code_is_read_as_data(tmp_path, form, expr):
    value, view = _project_value(tmp_path, form, f"conf/settings.{form}", expr)
    assert value == Dim(64)
    assert str((tmp_path / "conf" / f"settings.{form}").resolve()) in view.used  # a change redoes the result


@pytest.mark.parametrize("name", ["../outside.json", "conf/missing.json", "conf"])
def test_a_file_outside_the_project_or_not_a_file_is_unknown(tmp_path, name):
    (tmp_path.parent / "outside.json").write_text('{"rnn": {"hidden": 64}}')
    value, _ = _project_value(tmp_path, "json", name, 'CONFIG["rnn"]["hidden"]')
    assert not isinstance(value, Dim) or value.value is None


def test_a_file_that_does_not_parse_is_unknown(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "settings.json").write_text("{not json")
    source = "import json\nCONFIG = json.load(open('settings.json'))\nprobe = CONFIG['hidden']\n"
    (tmp_path / "train.py").write_text(source)
    facts = FileFacts(cst.parse_module(source), Projects().view(tmp_path / "train.py"))
    value = facts.shapes.value(facts.assignments[-1].value, facts.module_scope)
    assert not isinstance(value, Dim) or value.value is None


def test_a_cached_result_is_redone_when_its_configuration_file_changes(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "settings.json").write_text('{"layers": 1}')
    (tmp_path / "model.py").write_text(
        "import json\nimport torch.nn as nn\n\nCONFIG = json.load(open('settings.json'))\n"
        "rnn = nn.LSTM(8, 16, num_layers=CONFIG['layers'], dropout=0.5)\n")
    first = hs_lint("check", "--format", "json", ".", cwd=tmp_path)
    assert [f["code"] for f in json.loads(first.stdout)] == ["HS209"]
    (tmp_path / "settings.json").write_text('{"layers": 2}')
    second = hs_lint("check", "--format", "json", ".", cwd=tmp_path)
    assert json.loads(second.stdout) == [], second.stdout
