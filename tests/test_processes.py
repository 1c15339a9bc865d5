"""Bounded cost and clean processes: the per-file budget, Ctrl-C, a killed parent, worker memory.

No assertion here depends on how fast the machine is: budgets are CPU time and either injected
(a fake clock) or far below what the work needs; the waits are generous upper bounds on events
that happen at once.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import CARRY, ROOT, hs_lint, recurrent_source
from hs_lint.budget import Budget
from hs_lint.engine import Linter, TimedOut

LINUX = sys.platform.startswith("linux") and Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def test_the_budget_is_read_with_the_clock_it_is_given():
    readings = itertools.count(0, 100)  # every reading is 100 s after the one before
    linter = Linter(["HS101"], budget=Budget(5, clock=lambda: next(readings), timer=False))
    with pytest.raises(TimedOut) as caught:
        linter.check_source(CARRY, "carry.py")
    finding = caught.value.finding
    assert (finding.code, finding.path, finding.message) == ("HS002", "carry.py", "not analysed: took longer than 5 s")
    frozen = Linter(["HS101"], budget=Budget(5, clock=lambda: 0.0, timer=False))
    assert [f.code for f in frozen.check_source(CARRY, "carry.py")] == ["HS101"]


def test_the_cpu_timer_stops_one_long_step_and_is_disarmed_after():
    source = recurrent_source(150_000)  # seconds of CPU: far more than 10 ms
    with pytest.raises(TimedOut):
        Linter(budget=Budget(0.01, clock=lambda: 0.0)).check_source(source, "big.py")  # only the timer can fire
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert [f.code for f in Linter(["HS101"], budget=Budget(60)).check_source(CARRY, "carry.py")] == ["HS101"]


def test_the_timer_firing_inside_a_libraries_clean_up_is_still_a_timeout(monkeypatch):
    """libcst's position pass, interrupted by the timer, raises a KeyError while it handles OverBudget."""
    import hs_lint.engine as engine
    from hs_lint.budget import OverBudget

    def interrupted(*args):
        try:
            raise OverBudget
        except OverBudget:
            raise KeyError("SimpleStatementLine(...)") from None

    monkeypatch.setattr(engine, "_positions", interrupted)
    with pytest.raises(TimedOut) as caught:
        Linter(["HS101"], budget=Budget(60)).check_source(CARRY, "carry.py")
    assert caught.value.finding.message == "not analysed: took longer than 60 s"
    monkeypatch.setattr(engine, "_positions", lambda *args: {}["missing"])  # a KeyError of its own is a bug, not a timeout
    with pytest.raises(KeyError):
        Linter(["HS101"], budget=Budget(60)).check_source(CARRY, "carry.py")


def test_a_file_over_its_budget_is_reported_and_the_others_go_on(project):
    result = hs_lint("check", "--no-cache", "-j", "1", "--budget", "0.001", ".", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "train.py:1:1: HS002 not analysed: took longer than 0.001 s" in result.stdout  # once, as a finding
    assert "2 files checked" in result.stderr
    assert "HS101" not in result.stdout


def test_a_budget_must_be_a_number_of_seconds(project):
    result = hs_lint("check", "--budget", "soon", ".", cwd=project)
    assert result.returncode == 2 and "expected a number of seconds" in result.stderr


def test_workers_have_bounded_memory():
    probe = textwrap.dedent("""\
        import os, resource
        from hs_lint.workers import WORKER_MEMORY, limit_process
        limit_process(os.getppid())
        print(resource.getrlimit(resource.RLIMIT_AS)[0] == WORKER_MEMORY)
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == ("True" if sys.platform.startswith("linux") else result.stdout.strip())


# -- real processes and signals --------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait(condition, limit: float = 300.0) -> bool:
    """Poll until ``condition()``; ``limit`` only keeps a broken build from hanging the suite."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def busy_check(tmp_path):
    """``hs-lint check -j 2`` on files that take each worker minutes of CPU, with its workers started."""
    source = recurrent_source(990_000)  # about 20 CPU seconds each on a quiet machine
    for i in range(6):
        (tmp_path / f"big{i}.py").write_text(source)
    process = subprocess.Popen(
        [sys.executable, "-m", "hs_lint.cli", "check", "--no-cache", "--budget", "0", "-j", "2", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert _wait(lambda: len(_children(process.pid)) == 2), "the workers never started"
        yield process, _children(process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_ctrl_c_stops_the_workers_at_once_with_one_line(busy_check):
    process, workers = busy_check
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends: the whole process group
    # Stopped, not finished: a run that finished its files (minutes of CPU) would exit 0 or 1 and print them.
    # The timeout only keeps a broken build from hanging the suite; no wall-clock speed is asserted.
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130
    assert stderr.splitlines() == ["hs-lint: interrupted"]
    assert _wait(lambda: not any(_alive(worker) for worker in workers))


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_no_worker_outlives_a_killed_parent(busy_check):
    process, workers = busy_check
    process.kill()
    process.wait(timeout=600)
    assert _wait(lambda: not any(_alive(worker) for worker in workers))


def test_a_file_over_its_budget_is_not_cached(project):
    hs_lint("check", "-j", "1", "--budget", "0.001", ".", cwd=project)
    again = hs_lint("check", "-j", "1", ".", cwd=project)
    assert "HS101" in again.stdout and "not analysed" not in again.stderr
