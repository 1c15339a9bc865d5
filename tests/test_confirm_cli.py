"""--confirm end to end: every bad shape finding confirmed by torch's own words, lookalikes refuted,
no torch -> exit 2 with the install command, and the scanned code is never run."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from conftest import FIXTURES, ROOT, hs_lint
from hs_lint.output import _cut

pytest.importorskip("torch")

# The code that produces verdicts; torch's messages must come from torch, not from here.
CONFIRMER = (ROOT / "hs_lint" / "runtime" / "confirm.py").read_text(encoding="utf-8")
CONFIRMABLE = ("HS101", "HS102", "HS103", "HS104", "HS105", "HS106", "HS201", "HS202", "HS203", "HS204", "HS205",
               "HS206", "HS207", "HS208", "HS209", "HS211", "HS212", "HS401", "HS107", "HS306", "HS308", "HS402", "HS601", "HS602",
               "HS603", "HS604", "HS605")


def confirmed(*paths: str, extra: tuple[str, ...] = ()) -> list[dict]:
    result = hs_lint("check", "--confirm", "--format", "json", *extra, *paths)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_every_bad_shape_finding_is_confirmed_in_torchs_words():
    findings = [f for f in confirmed(*map(str, sorted((FIXTURES / "bad").glob("shape_*.py"))))
                if f["code"].startswith("HS2")]
    assert len(findings) >= 27
    for finding in findings:
        verdict = finding["confirmation"]
        assert verdict["status"] == "confirmed", finding
        error = re.match(r"(\w+Error|UserWarning): (.*)", verdict["detail"])
        if error:  # torch's exception or warning text, which the confirmer does not contain
            assert error.group(2)[:30] not in CONFIRMER, verdict["detail"]


def test_the_detail_is_what_torch_raised(monkeypatch):
    """Make torch's LSTM raise a sentinel: the verdict must carry exactly that text."""
    import torch

    from hs_lint.runtime.confirm import confirm

    def forward(self, *args, **kwargs):
        raise RuntimeError("sentinel raised inside torch.nn.LSTM.forward")

    monkeypatch.setattr(torch.nn.LSTM, "forward", forward)
    data = {"module": {"kind": "LSTM", "input_size": 4, "hidden_size": 8, "num_layers": 2},
            "state": [[1, 3, 8], [1, 3, 8]], "state_is_tuple": True, "input": None, "input_feature": None}
    verdict = confirm("HS202", data)
    assert (verdict.status, verdict.detail) == ("confirmed", "RuntimeError: sentinel raised inside torch.nn.LSTM.forward")


LOOKALIKES = {
    "unbatched_lstm.py": """\
        import torch
        import torch.nn as nn

        lstm = nn.LSTM(8, 16, batch_first=True)
        sentence = torch.randn(12, 8)
        out, (h, c) = lstm(sentence)
        last = out[-1]
        """,
    "unbatched_stack.py": """\
        import torch
        import torch.nn as nn

        lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        frames = torch.randn(6, 8)
        out, (h, c) = lstm(frames)
        summary = out[-1]
        """,
    "unbatched_gru.py": """\
        import torch
        from torch.nn import GRU

        gru = GRU(4, 32, batch_first=True)
        tokens = torch.randn(20, 4)
        out, h = gru(tokens)
        final = out[-1]
        """,
}


def test_lookalikes_the_static_rule_flags_are_refuted_and_dropped(tmp_path):
    for name, source in LOOKALIKES.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    static = json.loads(hs_lint("check", "--format", "json", str(tmp_path)).stdout)
    assert sorted(f["code"] for f in static) == ["HS207"] * 3  # what the static side alone claims
    assert confirmed(str(tmp_path)) == []  # torch accepts all three: nothing is left
    shown = confirmed(str(tmp_path), extra=("--show-refuted",))
    assert [f["confirmation"]["status"] for f in shown] == ["refuted"] * 3
    assert all("unbatched" in f["confirmation"]["detail"] for f in shown)


def test_graph_and_device_findings_are_reproduced_on_a_stand_in_and_lifetime_ones_say_why_not():
    """Only a run of the module the code builds, with its values, is ``confirmed``; a run of a tiny module of the
    kind is ``reproduced`` and names what ran instead."""
    findings = confirmed(*map(str, sorted((FIXTURES / "bad").glob("*.py"))))
    by_status: dict[str, set[str]] = {}
    for finding in findings:
        by_status.setdefault(finding["confirmation"]["status"], set()).add(finding["code"])
    stand_ins = {"HS101", "HS102", "HS103", "HS104", "HS105", "HS107", "HS306", "HS308", "HS401", "HS402",
                 "HS602", "HS603", "HS604", "HS605"}
    assert by_status["reproduced"] >= stand_ins - {"HS101"}  # HS101's fixtures: some modules come from elsewhere
    assert not by_status["confirmed"] & stand_ins
    assert by_status["confirmed"] >= {"HS106", "HS201", "HS202", "HS209"}
    assert not by_status.get("confirmed", set()) - set(CONFIRMABLE)
    for finding in findings:
        if finding["confirmation"]["status"] == "reproduced":
            assert "hidden_size=4" in finding["confirmation"]["assumed"]["stand-in"], finding
    # lifetimes, clipping and which batches a loop skips: decided by the whole run
    assert {c[:3] for c in by_status["unconfirmable"] - {"HS213", "HS214"}} <= {"HS3", "HS5"}
    assert all(f["confirmation"]["detail"] for f in findings)


def test_text_output_carries_the_verdict():
    result = hs_lint("check", "--confirm", str(FIXTURES / "bad" / "shape_dropout.py"))
    assert "[confirmed by torch: UserWarning: dropout option adds dropout after all but last recurrent layer" in (
        result.stdout)


def test_without_torch_confirm_exits_2_with_the_install_command(tmp_path, monkeypatch):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['torch'] = None\n")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{ROOT}")
    result = hs_lint("check", "--confirm", str(FIXTURES / "bad" / "shape_dropout.py"))
    assert result.returncode == 2
    assert "pip install torch" in result.stderr and "hs-lint[runtime]'" not in result.stderr  # not on PyPI
    assert result.stdout == ""


def test_confirm_never_runs_the_scanned_code(tmp_path):
    marker = tmp_path / "was_executed"
    (tmp_path / "trap.py").write_text(textwrap.dedent(f"""\
        import torch.nn as nn
        open({str(marker)!r}, "w").write("ran")
        raise SystemExit("the scanned file ran")
        rnn = nn.GRU(4, 8, dropout=0.5)
        """))
    findings = confirmed(str(tmp_path))
    assert [f["code"] for f in findings] == ["HS209"]
    assert findings[0]["confirmation"]["status"] == "confirmed"
    assert not marker.exists()


def test_a_verdict_on_an_assumed_module_is_plausible_never_confirmed(tmp_path):
    """The model comes from elsewhere: torch can only run a stand-in, so nothing is confirmed."""
    (tmp_path / "train.py").write_text(textwrap.dedent("""\
        from project.models import build_model

        model = build_model()
        hidden = None
        for x, y in batches:
            out, hidden = model(x, hidden)
            loss_fn(out, y).backward()
        """))
    (finding,) = confirmed(str(tmp_path / "train.py"))
    verdict = finding["confirmation"]
    assert finding["code"] == "HS101" and verdict["status"] == "plausible", verdict
    assert "module" in verdict["assumed"]
    text = hs_lint("check", "--confirm", str(tmp_path / "train.py")).stdout
    assert "[plausible (torch, on an assumed module): RuntimeError" in text and "confirmed" not in text
    assert len(text.splitlines()) == 1


def test_refuted_findings_are_counted_in_the_summary_and_no_verdict_is_cut_mid_word(tmp_path):
    (tmp_path / "t.py").write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn
        rnn = nn.LSTM(4, 8, batch_first=True)
        x = torch.zeros(7, 4)
        out, _ = rnn(x)
        last = out[-1]
        """))
    hidden = hs_lint("check", "--confirm", "t.py", cwd=tmp_path)
    assert hidden.stdout == "" and "1 refuted by torch (not shown: --show-refuted)" in hidden.stderr
    shown = hs_lint("check", "--confirm", "--show-refuted", "t.py", cwd=tmp_path)
    assert "[refuted by torch: " in shown.stdout and "; 1 refuted by torch\n" in shown.stderr
    assert "NumPy" not in hidden.stderr + shown.stderr
    long = "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors)"
    assert _cut(long * 2, 100) == long[:long.rindex(" ", 0, 99)] + "…"  # at a word's end, never inside one
    assert _cut("one word", 100) == "one word"
