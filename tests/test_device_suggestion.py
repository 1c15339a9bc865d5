"""HS401's suggested call is code that runs at the reported line: put each suggestion in place of the
factory it replaces and run the fixed script under real torch (on the CPU here)."""

from __future__ import annotations

import runpy

import pytest

from conftest import FIXTURES, lint

torch = pytest.importorskip("torch")

RUNNABLE = ["bad/device_init_hidden.py", "bad/device_cell_forecaster.py"]


def _apply(source: str, findings) -> str:
    """Replace each finding's span with its suggestion, last first so earlier positions stay valid."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    text = source
    for f in sorted(findings, key=lambda f: (f.line, f.col), reverse=True):
        start, end = starts[f.line - 1] + f.col - 1, starts[f.end_line - 1] + f.end_col - 1
        text = text[:start] + f.data["suggestion"] + text[end:]
    return text


@pytest.mark.parametrize("name", RUNNABLE)
def test_suggested_calls_run_in_place(name, tmp_path):
    path = FIXTURES / name
    source = path.read_text(encoding="utf-8")
    findings = [f for f in lint(source, ["HS401"])]
    assert findings and all(f.data.get("suggestion") for f in findings)
    for f in findings:
        assert f"`{f.data['suggestion']}`" in f.message or "device=" in f.message
        assert "device=" in f.data["suggestion"]
    fixed = tmp_path / path.name
    fixed.write_text(_apply(source, findings), encoding="utf-8")
    runpy.run_path(str(fixed), run_name="fixed")  # a positional dtype or a name not yet bound raises here
    assert lint(fixed.read_text(encoding="utf-8"), ["HS401"]) == []


def test_keywords_stay_keywords():
    source = (FIXTURES / "bad/device_cell_forecaster.py").read_text(encoding="utf-8")
    suggestions = [f.data["suggestion"] for f in lint(source, ["HS401"])]
    assert all("dtype=torch.double" in s for s in suggestions)
    assert "torch.zeros(series.size(0), self.width, dtype=torch.double, device=next(self.parameters()).device)" \
        in suggestions
