"""Editor latency: how long after a change python-lsp-server publishes diagnostics, with plain flake8 and with
flake8 + hs-lint, for a recurrent training script of about 200 lines (the fixtures, renamed and concatenated).

    PYTHONPATH=. python bench/lsp_latency.py --changes 15

Two pylsp servers run side by side on the same buffer, one whose flake8 has hs-lint hidden from its plugin finder
and one whose flake8 has it; each change (a new comment line: the buffer is new every time, as when typing) goes to
both in turn, in alternating order, and the wall-clock time from ``didChange`` to ``publishDiagnostics`` is
recorded. pylsp waits 0.5 s (its debounce) before linting a change, in both. Wall-clock time: run it on a quiet
machine, and read the difference of the medians rather than either one alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import recurrent_source  # noqa: E402
from lsp_client import SETTINGS, Server  # noqa: E402

# flake8 with the named plugin packages hidden from its finder (as bench/overhead.py runs it).
WRAPPER = """\
import sys
from flake8.plugins import finder
hidden = {hidden!r}
found = finder._find_importlib_plugins
finder._find_importlib_plugins = lambda: (p for p in found() if p.package not in hidden)
from flake8.main.cli import main
sys.exit(main())
"""


def script(lines: int) -> str:
    text = recurrent_source(lines * 27)
    while text.count("\n") < lines:
        text = recurrent_source(len(text) + 2000)
    return text


def server(root: Path, name: str, hidden: set[str]) -> Server:
    wrapper = root / f"flake8-{name}"
    wrapper.write_text(f"#!{sys.executable}\n" + WRAPPER.format(hidden=hidden))
    wrapper.chmod(0o755)
    settings = {"pylsp": {**SETTINGS["pylsp"], "plugins": {**SETTINGS["pylsp"]["plugins"],
                                                           "flake8": {"enabled": True, "executable": str(wrapper)}}}}
    lsp = Server(root)
    lsp.start(root, settings)
    return lsp


def main() -> int:
    # pip compiles an installed package's bytecode; a Python told not to write it (PYTHONDONTWRITEBYTECODE, set on
    # some CI machines) makes every flake8 process compile hs-lint again, about 0.1-0.2 s that users do not pay.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=15, help="edits per server (default 15)")
    parser.add_argument("--lines", type=int, default=200, help="about this many lines (default 200)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hs-lint-lsp-"))
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    text = script(args.lines)
    path = root / "train.py"
    path.write_text(text)
    servers = {"flake8": server(root, "plain", {"hs-lint"}), "flake8 + hs-lint": server(root, "hs", set())}
    uri = path.as_uri()
    times: dict[str, list[float]] = {name: [] for name in servers}
    found: dict[str, int] = {}
    try:
        for lsp in servers.values():
            lsp.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 0,
                                                               "text": text}})
            lsp.diagnostics(uri)
        for change in range(1, args.changes + 1):
            order = list(servers.items()) if change % 2 else list(servers.items())[::-1]
            for name, lsp in order:
                edited = f"# edit {change}\n{text}"
                started = time.perf_counter()
                lsp.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": change},
                                                    "contentChanges": [{"text": edited}]})
                diagnostics = lsp.diagnostics(uri)
                times[name].append(time.perf_counter() - started)
                found[name] = sum(str(d.get("code", "")).startswith("HS") for d in diagnostics)
    finally:
        for lsp in servers.values():
            lsp.close()
    print(f"{text.count(chr(10)) + 1} lines, {args.changes} changes per server, pylsp debounce included")
    for name, values in times.items():
        print(f"{name:>18}: median {statistics.median(values) * 1000:.0f} ms "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}); {found[name]} HS diagnostics")
    deltas = [b - a for a, b in zip(*times.values())]
    print(f"hs-lint adds: median {statistics.median(deltas) * 1000:+.0f} ms per change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
