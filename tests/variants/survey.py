"""Run the harness over every subject and print the survival tables (``python -m tests.variants``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from .catalogue import TRANSFORMS, sample
from .harness import Outcome, judge, subjects

KNOWN = Path(__file__).with_name("known_failures.txt")


def known_failures() -> dict[str, str]:
    """``subject::transform`` -> the variant that fails (the default sample's failures, kept in the repo)."""
    if not KNOWN.exists():
        return {}
    lines = [line.split("\t") for line in KNOWN.read_text().splitlines() if line and not line.startswith("#")]
    return {key: detail for key, detail in lines}


def outcomes(every: bool = False, only: str | None = None, transform_only: str | None = None) -> list[Outcome]:
    found = []
    for subject in subjects():
        if only and only not in subject.name:
            continue
        for transform in TRANSFORMS:
            if transform_only and transform.name != transform_only:
                continue
            variants = list(transform.variants(subject.program)) if every else sample(subject.name, transform, subject.program)
            found.extend(judge(subject, variant) for variant in variants)
    return found


def table(results: list[Outcome]) -> str:
    cross = {t.name for t in TRANSFORMS if t.cross_module}
    rows = ["| transformation | family | variants | survived | bad: marks kept | good: clean |", "|---|---|---|---|---|---|"]
    family = {t.name: t.family for t in TRANSFORMS}
    for transform in [t.name for t in TRANSFORMS]:
        mine = [o for o in results if o.transform == transform]
        if not mine:
            continue
        bad = [o for o in mine if o.codes]
        good = [o for o in mine if not o.codes]
        rows.append(f"| {transform} | {family[transform]} | {len(mine)} | {_rate(sum(o.passed for o in mine), len(mine))} | "
                    f"{_rate(sum(not o.lost for o in bad), len(bad))} | {_rate(sum(not o.extra for o in good), len(good))} |")
    same = [o for o in results if o.transform not in cross]
    other = [o for o in results if o.transform in cross]
    rows.append(f"| **same-module** | 1-3, 7-9 | {len(same)} | {_rate(sum(o.passed for o in same), len(same))} | | |")
    rows.append(f"| **cross-module** | 4-7 | {len(other)} | {_rate(sum(o.passed for o in other), len(other))} | | |")
    rows.append(f"| **all** | | {len(results)} | {_rate(sum(o.passed for o in results), len(results))} | | |")
    rows += ["", "| rule | variants of its bad cases | finding kept | variants of its good cases | no finding |", "|---|---|---|---|---|"]
    kept, total, clean, seen = Counter(), Counter(), Counter(), Counter()
    for o in results:
        for code in o.codes:
            total[code] += 1
            kept[code] += not any(code == f[2] for f in o.lost)
        for code in {f[2] for f in o.extra}:
            clean[code] += 1
    codes = sorted(set(total) | set(clean))
    good_total = sum(1 for o in results if not o.codes)
    for code in codes:
        rows.append(f"| {code} | {total[code]} | {_rate(kept[code], total[code])} | {good_total} | "
                    f"{_rate(good_total - clean[code], good_total)} |")
    del seen
    return "\n".join(rows)


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.2f})" if whole else "-"


def failures(results: list[Outcome]) -> str:
    grouped = defaultdict(list)
    for o in results:
        if not o.passed:
            grouped[o.transform].append(f"  {o.subject}: {o.detail}  lost={list(o.lost)} extra={list(o.extra)}")
    return "\n".join(f"{t}:\n" + "\n".join(lines) for t, lines in grouped.items())


def main(args) -> int:
    if args.known and (args.subject or args.transform):
        print("--known rewrites the whole file: run it without --subject or --transform")
        return 2
    results = outcomes(args.all, args.subject, args.transform)
    if args.known:
        lines = sorted({f"{o.key}\t{o.detail}" for o in results if not o.passed})
        KNOWN.write_text("# subject::transform <TAB> the sampled variant that fails (python -m tests.variants --known)\n"
                         + "".join(line + "\n" for line in lines))
    if args.failures:
        print(failures(results))
    if args.report or not (args.known or args.failures):
        print(table(results))
    return 0
