"""Overhead of hs_lint.runtime.watch on a real small LSTM training step (CPU).

Workload "lstm": LSTM(64, 128, num_layers=2) + Linear head, batch 32, seq 35,
MSE loss, backward, Adam step, truncated-BPTT state carried (detached) into
the next step -- so every check runs on a real h0 each step.

Workload "decoder": the same step with an LSTMCell(64, 128) unrolled over the
35 time steps in Python -- 35 guarded calls per step instead of one, the
worst case for per-call hook cost.

Workload "tiny": the LSTM step on LSTM(4, 4, num_layers=2), batch 2, seq 2.
Its compute is next to nothing, so its overhead column is the guard's fixed
cost per step in microseconds, measured well above the noise.

Configurations are interleaved in short blocks (a few steps each, order
shuffled every round) so that drift in the machine's speed hits all of them
alike. Each step is timed on the wall clock
and as CPU time of the main thread (with --threads 1 all of torch's work runs
there, and CPU time is far less disturbed by other processes on a shared
machine). "baseline (again)" is a second unwatched run: its distance from
"baseline" is the noise floor of the measurement.

    PYTHONPATH=. python bench/bench_watch.py [--rounds 100] [--steps 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from hs_lint.runtime import watch

OFF = dict(check_shapes=False, check_device=False, detect_graph_carry=False, grad_norms=False)
CONFIGS: dict[str, dict | None] = {
    "baseline (no watch)": None,
    "baseline (again)": None,
    "watch() all features": {},
    "check_shapes only": {**OFF, "check_shapes": True},
    "check_device only": {**OFF, "check_device": True},
    "detect_graph_carry only": {**OFF, "detect_graph_carry": True},
    "grad_norms only": {**OFF, "grad_norms": True},
}


@dataclass(frozen=True)
class Workload:
    name: str
    features: int
    hidden: int
    batch: int
    seq: int
    cell: bool  # unroll an LSTMCell in Python instead of a 2-layer nn.LSTM
    steps_factor: int  # tiny steps are ~100x cheaper, so time more of them


WORKLOADS = [
    Workload("lstm: LSTM(64, 128, num_layers=2), batch 32, seq 35", 64, 128, 32, 35, False, 1),
    Workload("decoder: LSTMCell(64, 128) unrolled over seq 35, batch 32", 64, 128, 32, 35, True, 1),
    Workload("tiny: LSTM(4, 4, num_layers=2), batch 2, seq 2 (fixed cost)", 4, 4, 2, 2, False, 20),
]


class LanguageModelish(nn.Module):
    """The recurrent core of a small word-level LM, minus the embedding lookup."""

    def __init__(self, work: Workload) -> None:
        super().__init__()
        self.rnn = nn.LSTMCell(work.features, work.hidden) if work.cell else nn.LSTM(work.features, work.hidden, 2)
        self.head = nn.Linear(work.hidden, work.features)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        if isinstance(self.rnn, nn.LSTMCell):
            outputs = []
            for x_t in x:
                state = self.rnn(x_t, state)
                outputs.append(state[0])
            return self.head(torch.stack(outputs)), state
        out, state = self.rnn(x, state)
        return self.head(out), state


def make_stepper(model: LanguageModelish, work: Workload):
    """A closure doing one full training step; the data is fixed so only the guard varies."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(work.seq, work.batch, work.features)
    target = torch.randn(work.seq, work.batch, work.features)
    shape = (work.batch, work.hidden) if work.cell else (2, work.batch, work.hidden)
    state = [(torch.zeros(shape), torch.zeros(shape))]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        prediction, new_state = model(x, state[0])
        nn.functional.mse_loss(prediction, target).backward()
        optimizer.step()
        state[0] = tuple(s.detach() for s in new_state)

    return step


def time_steps(step, steps: int) -> list[tuple[float, float]]:
    """(wall, main-thread CPU) seconds per step."""
    times = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.thread_time()
        step()
        times.append((time.perf_counter() - wall, time.thread_time() - cpu))
    return times


def run(work: Workload, rounds: int, steps: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    torch.manual_seed(0)
    model = LanguageModelish(work)
    step = make_stepper(model, work)
    for _ in range(warmup):
        step()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CONFIGS}
    order = list(CONFIGS)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            options = CONFIGS[name]
            handle = watch(model, **options) if options is not None else None
            samples[name] += time_steps(step, steps * work.steps_factor)
            if handle is not None:
                handle.remove()
    return samples


def print_table(work: Workload, samples: dict[str, list[tuple[float, float]]]) -> None:
    wall = {name: statistics.median(w for w, _ in times) for name, times in samples.items()}
    cpu = {name: statistics.median(c for _, c in times) for name, times in samples.items()}
    base_wall, base_cpu = wall["baseline (no watch)"], cpu["baseline (no watch)"]
    print(f"\n{work.name}; {len(samples['baseline (no watch)'])} timed steps per configuration")
    print("| configuration | wall median (ms) | overhead | CPU median (ms) | overhead (µs) | overhead |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in samples:
        print(
            f"| {name} | {wall[name] * 1e3:.3f} | {(wall[name] - base_wall) / base_wall:+.2%} "
            f"| {cpu[name] * 1e3:.3f} | {(cpu[name] - base_cpu) * 1e6:+.0f} "
            f"| {(cpu[name] - base_cpu) / base_cpu:+.2%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2, help="timed lstm steps per configuration per round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before the first round")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    for work in WORKLOADS:
        print_table(work, run(work, args.rounds, args.steps, args.warmup))


if __name__ == "__main__":
    main()
