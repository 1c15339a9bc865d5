"""What hs-lint costs where there is nothing to find, and how its cost grows (a script, not a test).

    python bench/overhead.py [--pairs 5] [--tree DIR ...]

In one run, side by side: plain flake8, flake8 + hs-lint, and flake8 + flake8-bugbear (the
reference peer) on the installed torch sources (nn, optim, utils, distributions, autograd, ao),
as interleaved pairs; ``hs-lint check --no-cache`` cold and a warm re-run; flake8 on one
non-recurrent file with and without the plugin; and the time per KB of generated recurrent files
from 50 KB to 1 MB. Times are CPU seconds (user + system, the process and its children) unless
marked wall: the machine may be shared, and CPU time is what load changes least.

Each flake8 variant runs the same flake8 with some installed plugins hidden from its plugin
finder (``flake8 --select`` would not do: flake8 runs every installed plugin and only filters
what they report).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
PACKAGES = ("nn", "optim", "utils", "distributions", "autograd", "ao")
HIDDEN = {"plain flake8": ("hs-lint", "flake8-bugbear"), "flake8 + hs-lint": ("flake8-bugbear",),
          "flake8 + bugbear": ("hs-lint",)}
# Runs flake8 with the named plugin packages hidden from its finder.
DRIVER = """\
import sys
from flake8.main import cli
from flake8.plugins import finder
hidden = set(sys.argv[1].split(",")) - {""}
found = finder._find_importlib_plugins
finder._find_importlib_plugins = lambda: (p for p in found() if p.package not in hidden)
sys.exit(cli.main(sys.argv[2:]))
"""


def measured(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(CPU seconds of the command and its children, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def flake8(variant: str, *args: str) -> list[str]:
    return [sys.executable, "-c", DRIVER, ",".join(HIDDEN[variant]), "--isolated", "--exit-zero",
            "--output-file", os.devnull, *args]


def torch_tree() -> list[Path]:
    spec = importlib.util.find_spec("torch")  # finds the sources without importing torch
    if spec is None or not spec.submodule_search_locations:
        sys.exit("torch is not installed")
    base = Path(spec.submodule_search_locations[0])
    return [base / package for package in PACKAGES]


def count(trees: list[Path]) -> tuple[int, float]:
    files = [p for tree in trees for p in tree.rglob("*.py")]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def flake8_pairs(trees: list[Path], pairs: int) -> None:
    print(f"\n## flake8 on the tree, {pairs} interleaved rounds (CPU s; ratio to plain flake8 in the same round)")
    rows: dict[str, list[tuple[float, float]]] = {variant: [] for variant in HIDDEN}
    for _ in range(pairs):
        for variant in HIDDEN:
            rows[variant].append(measured(flake8(variant, *map(str, trees))))
    plain = [cpu for cpu, _ in rows["plain flake8"]]
    for variant, runs in rows.items():
        cpu = [c for c, _ in runs]
        ratios = [c / p for c, p in zip(cpu, plain)]
        wall = statistics.median(w for _, w in runs)
        print(f"{variant:18} CPU median {statistics.median(cpu):6.2f} s (wall {wall:6.2f} s)  "
              f"ratio median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


# flake8 + hs-lint in one process (-j1), with the CPU time spent inside the plugin summed: a measure of the
# plugin's own share that the machine's noise between two separate runs does not swamp.
ATTRIBUTION = DRIVER.replace("sys.exit(cli.main(sys.argv[2:]))", """\
import time
import hs_lint.flake8_plugin as plugin
spent, run = [0.0], plugin.HiddenStatePlugin.run
def timed(self):
    started = time.process_time()
    found = list(run(self))
    spent[0] += time.process_time() - started
    return iter(found)
plugin.HiddenStatePlugin.run = timed
started = time.process_time()
code = cli.main(sys.argv[2:])
print(spent[0], time.process_time() - started, file=sys.stderr)
sys.exit(code)
""")


def plugin_share(trees: list[Path], rounds: int) -> None:
    print(f"\n## flake8 + hs-lint in one process (-j1), CPU inside the plugin, {rounds} rounds")
    shares = []
    for _ in range(rounds):
        command = [sys.executable, "-c", ATTRIBUTION, ",".join(HIDDEN["flake8 + hs-lint"]), "--isolated",
                   "--exit-zero", "--output-file", os.devnull, "-j1", *map(str, trees)]
        result = subprocess.run(command, capture_output=True, text=True)
        spent, total = map(float, result.stderr.split()[-2:])
        shares.append((spent, total))
    spent, total = statistics.median(s for s, _ in shares), statistics.median(t for _, t in shares)
    ratios = [t / (t - s) for s, t in shares]
    print(f"plugin {spent:.2f} s of {total:.2f} s: flake8 alone would take {total - spent:.2f} s, so the plugin "
          f"costs {statistics.median(ratios):.3f}x (median; min {min(ratios):.3f}, max {max(ratios):.3f})")


def check_cold_and_warm(trees: list[Path], files: int, repeat: int) -> None:
    print(f"\n## hs-lint check on the tree (-j{os.cpu_count()}), median of {repeat}")
    command = [sys.executable, "-m", "hs_lint.cli", "check", "--exit-zero"]
    with tempfile.TemporaryDirectory() as work:
        cold = [measured([*command, "--no-cache", *map(str, trees)], Path(work)) for _ in range(repeat)]
        measured([*command, *map(str, trees)], Path(work))  # fill the cache
        warm = [measured([*command, *map(str, trees)], Path(work)) for _ in range(repeat)]
    for label, runs in (("cold, --no-cache", cold), ("warm (cache)", warm)):
        cpu, wall = statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)
        print(f"{label:17} wall {wall:5.2f} s = {files / wall:5.0f} files/s;  "
              f"CPU {cpu:5.2f} s = {files / cpu:5.0f} files/CPU-s")
    cold_wall, warm_wall = (statistics.median(w for _, w in runs) for runs in (cold, warm))
    print(f"warm is {cold_wall / warm_wall:.1f}x faster than cold (wall)")


def one_file(path: Path, pairs: int) -> None:
    print(f"\n## flake8 on one non-recurrent file ({path.name}, {path.stat().st_size / 1000:.0f} KB), "
          f"{pairs} interleaved pairs, CPU ms")
    without, with_plugin = [], []
    for _ in range(pairs):
        without.append(measured(flake8("plain flake8", str(path)))[0])
        with_plugin.append(measured(flake8("flake8 + hs-lint", str(path)))[0])
    extra = [w - p for w, p in zip(with_plugin, without)]
    print(f"plain {statistics.median(without) * 1000:.0f} ms, "
          f"with hs-lint {statistics.median(with_plugin) * 1000:.0f} ms: "
          f"{statistics.median(extra) * 1000:+.0f} ms (median of the differences)")


def growth(sizes: list[int]) -> None:
    from conftest import recurrent_source

    from hs_lint.budget import DEFAULT_SECONDS, Budget
    from hs_lint.engine import Linter, TimedOut

    print(f"\n## generated recurrent files (the fixtures, renamed and repeated), in-process, budget "
          f"{DEFAULT_SECONDS:g} CPU s")
    linter = Linter(budget=Budget(DEFAULT_SECONDS))
    linter.check_source(recurrent_source(1000), "warmup.py")
    for size in sizes:
        source = recurrent_source(size)
        started = time.process_time()
        try:
            outcome = f"{len(linter.check_source(source, 'generated.py'))} findings"
        except TimedOut as exc:
            outcome = exc.finding.message
        cpu = time.process_time() - started
        kb = len(source) / 1000
        print(f"{kb:6.0f} KB: {cpu:6.2f} CPU s = {cpu * 1000 / kb:6.1f} ms/KB  ({outcome})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5, help="interleaved rounds of the flake8 variants")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each hs-lint check measurement")
    parser.add_argument("--tree", type=Path, action="append", help="trees to measure (default: torch's six packages)")
    parser.add_argument("--sizes", default="50,100,200,400,700,990", help="KB of the generated files")
    parser.add_argument("--only", choices=["flake8", "check", "one-file", "growth"])
    args = parser.parse_args()
    trees = args.tree or torch_tree()
    files, megabytes = count(trees)
    # As a wheel install leaves it: hs-lint's modules compiled once, even where PYTHONDONTWRITEBYTECODE is set.
    compileall.compile_dir(ROOT / "hs_lint", quiet=1)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at start; {files} files, {megabytes:.1f} MB")
    if args.only in (None, "flake8"):
        flake8_pairs(trees, args.pairs)
        plugin_share(trees, 3)
    if args.only in (None, "check"):
        check_cold_and_warm(trees, files, args.repeat)
    if args.only in (None, "one-file"):
        one_file(next(p for p in torch_tree()[0].rglob("linear.py")), max(args.pairs, 10))
    if args.only in (None, "growth"):
        growth([int(kb) * 1000 for kb in args.sizes.split(",")])
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
