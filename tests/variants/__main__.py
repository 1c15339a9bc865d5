"""``python -m tests.variants --report``: the survival table per rule and per transformation.

``--all`` takes every variant (the slow product); the default takes the sample the test run takes.
``--failures`` lists each failing variant; ``--known`` rewrites the known-failures file from this run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.variants.survey import KNOWN, main  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.variants")
    parser.add_argument("--report", action="store_true", help="print the survival tables")
    parser.add_argument("--all", action="store_true", help="every variant, not the default sample")
    parser.add_argument("--failures", action="store_true", help="list every failing variant")
    parser.add_argument("--known", action="store_true", help=f"write the failing sample to {KNOWN.name}")
    parser.add_argument("--subject", help="only subjects whose name contains this")
    parser.add_argument("--transform", help="only this transformation (by its name)")
    sys.exit(main(parser.parse_args()))
