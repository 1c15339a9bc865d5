"""What the project index costs (a script, not a timed test).

    PYTHONPATH=. python bench/bench_project.py [--repeat 5]

1. Summarising every module of the installed torch tree (torch/nn, optim, utils, distributions,
   autograd, ao): cold (an empty summary store) and warm (a new index reading the store).
2. flake8 on the one recurrent training script of a generated 200-file project (the model in
   another module, 198 other modules that import each other), with an empty cache directory and
   then with the one the first run left. CPU time of the flake8 process (user + system), the
   median of --repeat runs, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hs_lint.project.index import ProjectIndex  # noqa: E402
from hs_lint.project.store import SummaryStore  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
TORCH_PARTS = ("nn", "optim", "utils", "distributions", "autograd", "ao")

MODEL = '''import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, vocab, width=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.lstm = nn.LSTM(width, width)
        self.out = nn.Linear(width, vocab)

    def init_hidden(self, batch):
        zeros = torch.zeros(1, batch, self.lstm.hidden_size, device=self.out.weight.device)
        return (zeros, zeros.clone())

    def forward(self, tokens, state):
        seq, state = self.lstm(self.embed(tokens), state)
        return self.out(seq), state
'''
TRAIN = '''import torch
import torch.nn as nn

from model import Tagger
{imports}

net = Tagger(1000)
optimizer = torch.optim.Adam(net.parameters())
state = net.init_hidden(32)
for chunk in batches:
    state = state.detach()
    logits, state = net(chunk, state)
    loss = nn.functional.cross_entropy(logits.flatten(0, 1), chunk.flatten())
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    optimizer.step()
'''
FILLER = '''"""Module {i} of a generated project."""
import math

from util_{j} import helper_{j}


class Thing{i}:
    def __init__(self, size={i}):
        self.size = size

    def area(self):
        return math.sqrt(self.size) * helper_{j}({i})


def helper_{i}(x):
    return [Thing{i}(k).area() for k in range(x % 7)]
'''


def torch_tree() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        sys.exit("torch is not installed: pip install torch==2.13.0")
    base = Path(spec.origin).parent
    return sorted(p for part in TORCH_PARTS for p in (base / part).rglob("*.py"))


def summarise_all(files: list[Path], store: Path) -> float:
    index = ProjectIndex(Path(os.path.commonpath(files)), SummaryStore(store))
    started = time.process_time()
    for path in files:
        index.summary(path)
    return time.process_time() - started


def make_project(folder: Path, size: int = 200) -> Path:
    (folder / "pyproject.toml").write_text("[project]\nname = 'generated'\n")
    (folder / "model.py").write_text(MODEL)
    for i in range(size - 2):
        (folder / f"util_{i}.py").write_text(FILLER.format(i=i, j=(i + 1) % (size - 2)))
    imports = "\n".join(f"from util_{i} import helper_{i}" for i in range(0, size - 2, 20))
    (folder / "train.py").write_text(TRAIN.format(imports=imports))
    return folder / "train.py"


def flake8_cpu(target: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "HS", str(target)],
                            cwd=target.parent, env=ENV, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        sys.exit(result.stderr[-2000:])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = torch_tree()
    cold, warm = [], []
    for _ in range(args.repeat):
        store = Path(tempfile.mkdtemp())
        cold.append(summarise_all(files, store))
        warm.append(summarise_all(files, store))
        shutil.rmtree(store)
    print(f"torch tree, {len(files)} modules summarised: cold {statistics.median(cold):.2f} s CPU "
          f"({1000 * statistics.median(cold) / len(files):.1f} ms/module), warm {statistics.median(warm):.2f} s CPU")
    first, again = [], []
    for _ in range(args.repeat):
        folder = Path(tempfile.mkdtemp())
        target = make_project(folder)
        first.append(flake8_cpu(target))
        again.append(flake8_cpu(target))
        shutil.rmtree(folder)
    print(f"flake8 --select HS on train.py of a 200-file project: cold cache {1000 * statistics.median(first):.0f} ms "
          f"CPU, warm cache {1000 * statistics.median(again):.0f} ms CPU")


if __name__ == "__main__":
    main()
