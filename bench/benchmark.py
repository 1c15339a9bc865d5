"""Throughput of hs-lint on real trees (a script, not a timed test).

    PYTHONPATH=. python bench/benchmark.py [--repeat 3] [--skip-flake8]

Trees: the installed torch package's sources, and a generated corpus of recurrent training
scripts (the fixtures, renamed and repeated). For each: cold CLI (no cache) with the default
number of processes and with -j1, a warm re-run answered from the cache, and flake8 with and
without the plugin. Then the in-process cost per recurrent file, split into parse, facts and
rules. Every figure is the median of --repeat runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def median_of(repeat: int, command: list[str], cwd: Path, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        times.append(timed(command, cwd))
    return statistics.median(times)


def recurrent_corpus(directory: Path, copies: int) -> Path:
    sources = sorted((ROOT / "fixtures").rglob("*.py"))
    for i in range(copies):
        for source in sources:
            text = source.read_text(encoding="utf-8").replace("hidden", f"hidden_{i}")
            (directory / f"{source.parent.name}_{source.stem}_{i:04d}.py").write_text(text)
    return directory


def count_py(tree: Path) -> int:
    return sum(1 for _ in tree.rglob("*.py"))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hs_lint.cli", "check", *args]


def flake8(*args: str) -> list[str]:
    return [sys.executable, "-m", "flake8", "--isolated", "--exit-zero", *args]


def bench_tree(name: str, tree: Path, repeat: int, with_flake8: bool) -> None:
    files = count_py(tree)
    print(f"\n## {name}: {tree} ({files} files, {sum(p.stat().st_size for p in tree.rglob('*.py')) / 1e6:.1f} MB)")
    with tempfile.TemporaryDirectory() as work:
        cwd = Path(work)  # the cache goes to the working directory's .hs_lint_cache
        cold = median_of(repeat, cli("--no-cache", str(tree)), cwd)
        serial = median_of(repeat, cli("--no-cache", "-j", "1", str(tree)), cwd)
        timed(cli(str(tree)), cwd)  # fill the cache
        warm = median_of(repeat, cli(str(tree)), cwd)
    print(f"cold CLI, -j{os.cpu_count()}: {cold:6.2f} s  {files / cold:7.0f} files/s")
    print(f"cold CLI, -j1: {serial:6.2f} s  {files / serial:7.0f} files/s")
    print(f"warm CLI (cache):  {warm:6.2f} s  {files / warm:7.0f} files/s  ({cold / warm:.1f}x faster than cold)")
    if with_flake8:
        e9 = median_of(repeat, flake8("--select", "E9", str(tree)), tree.parent)
        hs = median_of(repeat, flake8("--select", "E9,HS", str(tree)), tree.parent)
        # flake8 runs every installed plugin whatever --select says and only filters the reports, so
        # ``--select E9`` costs what a plain flake8 run costs; with it our plugin runs no rule at all.
        print(f"flake8 --select E9: {e9:6.2f} s;  --select E9,HS: {hs:6.2f} s  (plugin adds {hs - e9:+.2f} s, "
              f"{100 * (hs - e9) / e9:+.0f}% of plain flake8)")


def per_file_cost(repeat: int) -> None:
    """In-process cost of one recurrent file: parse, facts walk and resolution, rules."""
    import libcst as cst

    from hs_lint import facts as facts_module
    from hs_lint.engine import Linter
    from hs_lint.facts import FileFacts

    linter = Linter()
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "fixtures").rglob("*.py"))]
    rows = []
    for _ in range(max(repeat, 5)):
        parse = facts = total = 0.0
        for source in sources:
            t0 = time.perf_counter()
            module = cst.parse_module(source)
            t1 = time.perf_counter()
            file_facts = FileFacts(module)
            t2 = time.perf_counter()
            for rule in linter.rules:
                list(rule.check(file_facts))
            t3 = time.perf_counter()
            linter.check_source(source, "x.py")
            t4 = time.perf_counter()
            parse, facts, total = parse + t1 - t0, facts + t2 - t1, total + t4 - t3
        rows.append((parse, facts, total))
    n = len(sources)
    lines = sum(s.count("\n") for s in sources) / n
    parse, facts, total = (statistics.median(r[i] for r in rows) * 1000 / n for i in range(3))
    modules = [cst.parse_module(source) for source in sources]
    walks = {}
    for label, walk in (("hs_lint.walk", facts_module.walk), ("libcst visit", lambda m, c: m.visit(c))):
        samples = []
        for _ in range(max(repeat, 5)):
            started = time.perf_counter()
            for module in modules:
                walk(module, facts_module._Collector())
            samples.append(time.perf_counter() - started)
        walks[label] = statistics.median(samples) * 1000 / n
    print(f"\n## per recurrent file (the {n} fixtures, {lines:.0f} lines on average), in-process")
    print(f"libcst parse {parse:.1f} ms + facts {facts:.1f} ms = {parse + facts:.1f} ms; "
          f"whole check_source incl. rules and positions (for the files with findings): {total:.1f} ms")
    print(f"the collector's walk alone: {walks['hs_lint.walk']:.1f} ms with hs_lint.walk, "
          f"{walks['libcst visit']:.1f} ms with libcst's visit (before)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-flake8", action="store_true")
    parser.add_argument("--copies", type=int, default=60, help="copies of the fixtures in the recurrent corpus")
    parser.add_argument("--only", choices=["torch", "recurrent", "per-file"])
    args = parser.parse_args()
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if args.only in (None, "per-file"):
        per_file_cost(args.repeat)
    if args.only in (None, "recurrent"):
        with tempfile.TemporaryDirectory() as corpus:
            scripts = Path(corpus) / "scripts"
            scripts.mkdir()
            tree = recurrent_corpus(scripts, args.copies)
            bench_tree("generated recurrent training scripts", tree, args.repeat, not args.skip_flake8)
    if args.only in (None, "torch"):
        spec = importlib.util.find_spec("torch")  # finds the sources without importing torch
        if spec is None or not spec.submodule_search_locations:
            print("\n(torch is not installed: skipping the torch tree)")
        else:
            bench_tree("torch package sources", Path(spec.submodule_search_locations[0]), args.repeat,
                       not args.skip_flake8)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
