"""A long fuzz campaign: the CI fuzz tests' invariant, for as long as you like.

    PYTHONPATH=. python bench/fuzz_campaign.py --minutes 15

Alternates batches of mutated fixtures and hypothesmith-generated programs until the time is up,
then prints how many inputs of each kind were checked. A failing input is written to
``$TMPDIR/hs-lint-fuzz-failure-<n>.py`` and the script exits 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fuzz_cases import check_invariant, generated_programs, mutated_sources  # noqa: E402

def run_batch(strategy, examples: int, seed: int, counter: dict[str, int], kind: str) -> None:
    @settings(max_examples=examples, deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def batch(source: str) -> None:
        counter[kind] += 1
        try:
            check_invariant(source)
        except BaseException:
            failure = Path(tempfile.gettempdir()) / f"hs-lint-fuzz-failure-{sum(counter.values())}.py"
            failure.write_text(source, encoding="utf-8", errors="surrogatepass")
            print(f"failure written to {failure}", file=sys.stderr)
            raise

    batch._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    batch()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=200, help="examples per batch")
    args = parser.parse_args()
    counter = {"mutated": 0, "generated": 0}
    deadline = time.monotonic() + args.minutes * 60
    seed = 0
    started = time.monotonic()
    while time.monotonic() < deadline:
        seed += 1
        try:
            run_batch(mutated_sources(), args.batch, seed, counter, "mutated")
            run_batch(generated_programs(), args.batch // 4, seed, counter, "generated")
        except Exception as exc:  # noqa: BLE001 - report and stop
            print(f"FAILED after {counter}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"{time.monotonic() - started:7.0f}s  {counter}", flush=True)
    print(f"OK: {counter['mutated']} mutated fixtures and {counter['generated']} generated programs, "
          f"{seed} batches, {time.monotonic() - started:.0f}s, no exception escaped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
