"""The plugin through a real flake8 process: columns, selection, coexistence, never raising."""

from __future__ import annotations

import textwrap

from conftest import flake8
from hs_lint import flake8_plugin

CARRY = textwrap.dedent(
    """\
    import torch.nn as nn
    rnn = nn.GRU(4, 8)
    h = None
    for x in xs:
        out, h = rnn(x, h)
        out.sum().backward()
    import os
    """
)


def test_reports_with_flake8_columns_next_to_pyflakes(tmp_path):
    (tmp_path / "t.py").write_text(CARRY)
    result = flake8("--select=HS,F", "t.py", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert any(line.startswith("t.py:5:21: HS101 ") for line in lines)
    assert any(": F401 " in line for line in lines)


def test_plugin_is_quiet_on_syntax_errors_flake8_reports_e999(tmp_path):
    (tmp_path / "t.py").write_text("def f(:\n")
    result = flake8("--select=HS,E999", "t.py", cwd=tmp_path)
    assert "E999" in result.stdout and "HS0" not in result.stdout


def test_internal_error_becomes_hs001_and_flake8_goes_on(tmp_path, monkeypatch):
    (tmp_path / "t.py").write_text(CARRY)
    (tmp_path / "sitecustomize.py").write_text(
        "import hs_lint.engine\n"
        "def boom(self, *args, **kwargs):\n"
        "    raise ValueError('synthetic failure')\n"
        "hs_lint.engine.Linter.check_source = boom\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = flake8("--select=HS,F", "t.py", cwd=tmp_path)
    assert "t.py:1:1: HS001 hs-lint internal error: ValueError: synthetic failure" in result.stdout
    assert ": F401 " in result.stdout


def test_unselected_rules_never_run(tmp_path):
    """flake8's own decision engine picks the rules before any file is checked."""
    (tmp_path / "t.py").write_text(CARRY)
    result = flake8("--select=HS102", "t.py", cwd=tmp_path)
    assert result.stdout == ""
    from argparse import Namespace

    options = Namespace(select=["HS102"], extend_select=None, ignore=None, extend_ignore=None,
                        extended_default_select=["HS"], extended_default_ignore=[], filenames=["t.py"])
    flake8_plugin.HiddenStatePlugin.parse_options(options)
    try:
        assert flake8_plugin.HiddenStatePlugin.selection.codes_for("t.py") == {"HS102"}
    finally:
        flake8_plugin.HiddenStatePlugin.selection = None


def test_the_static_path_never_imports_torch():
    """The plugin must cost an editor milliseconds: checking a recurrent file loads no torch."""
    import subprocess
    import sys

    from conftest import FIXTURES

    script = (
        "import sys\n"
        "from hs_lint.cli import main\n"
        "from hs_lint.flake8_plugin import HiddenStatePlugin\n"
        f"lines = open({str(FIXTURES / 'bad' / 'shape_layers.py')!r}).readlines()\n"
        "assert list(HiddenStatePlugin(None, lines, 'x.py').run())\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_a_flake8_process_on_a_file_the_screen_rejects_never_imports_libcst(tmp_path):
    """An editor's flake8 on an ordinary file pays for the screen only, not for libcst (~0.6 s to import)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from flake8.main.cli import main\n"
        "try:\n"
        "    main(['--stdin-display-name', 'plain.py', '-'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('libcst', 'torch') or m.startswith('hs_lint.rules')]\n"
        "print('hs_lint.flake8_plugin' in sys.modules, sorted(heavy))\n"
    )
    source = "import os\nfor x in range(3):\n    print(os.getcwd(), x)\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            input=source)
    assert result.stdout.strip().splitlines()[-1] == "True []", result.stdout + result.stderr
