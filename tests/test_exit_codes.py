"""Exit codes as a user meets them: a file that cannot be parsed exits 2 whatever the screen thinks of it,
and ``--diff`` exits 1 only when it has a diff to show (as ruff)."""

from __future__ import annotations

import pytest

from conftest import CARRY, hs_lint

BROKEN = "def f(:\n    pass\n"  # nothing recurrent: the screen would skip it on its text
# Findings without a fix: h0 laid out batch first.
UNFIXABLE = ("import torch\nimport torch.nn as nn\nrnn = nn.GRU(4, 8, num_layers=2)\nx = torch.zeros(5, 3, 4)\n"
             "h0 = torch.zeros(3, 2, 8)\nout, h = rnn(x, h0)\n")


@pytest.mark.parametrize("args", [["."], ["broken.py"], ["--select", "HS502", "."], ["--ignore", "HS", "."]])
def test_a_syntax_error_in_a_file_without_recurrent_code_is_hs002_and_exits_2(tmp_path, args):
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "clean.py").write_text("x = 1\n")
    for run in ("cold", "cached"):
        result = hs_lint("check", *args, cwd=tmp_path)
        assert result.returncode == 2, (run, result.stderr)
        assert "broken.py:1:7: HS002 cannot parse: invalid syntax" in result.stdout, run


def test_a_syntax_error_on_stdin_and_a_null_byte_exit_2(tmp_path):
    (tmp_path / "nul.py").write_bytes(b"x = 1\0\n")
    assert hs_lint("check", "nul.py", cwd=tmp_path).returncode == 2
    (tmp_path / "broken.py").write_text(BROKEN)
    stdin = hs_lint("check", "--stdin-filename", "broken.py", "-", cwd=tmp_path, stdin=BROKEN)
    assert (stdin.returncode, stdin.stdout) == (2, "broken.py:1:7: HS002 cannot parse: invalid syntax\n")


def test_what_only_the_compiler_refuses_is_not_a_parse_error(tmp_path):
    """``return`` outside a function parses (flake8 gives no E999 for it either): it is not HS002."""
    (tmp_path / "ret.py").write_text("return 1\nnonlocal y\n")
    result = hs_lint("check", "ret.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


def test_diff_exits_0_when_nothing_can_be_fixed_even_with_findings_left(tmp_path):
    (tmp_path / "shape.py").write_text(UNFIXABLE)
    result = hs_lint("check", "--diff", "shape.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    assert "would fix 0 findings; left: 1 finding" in result.stderr
    assert hs_lint("check", "shape.py", cwd=tmp_path).returncode == 1  # without --diff the finding still counts


def test_diff_exits_1_with_a_diff_and_2_with_a_broken_file(tmp_path):
    (tmp_path / "train.py").write_text(CARRY)
    assert hs_lint("check", "--diff", "train.py", cwd=tmp_path).returncode == 1
    (tmp_path / "broken.py").write_text(BROKEN)
    result = hs_lint("check", "--diff", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "broken.py:1:7: HS002" in result.stderr
