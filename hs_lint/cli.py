"""The ``hs-lint`` command: ``check`` (and ``--fix``) files, list ``rules``, ``explain`` one.

Exit 0 clean, 1 findings, 2 errors, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hs_lint import __version__
from hs_lint.config import Config, ConfigError, find_pyproject, load, validate_codes
from hs_lint.budget import DEFAULT_SECONDS
from hs_lint.discover import discover
from hs_lint.docs import CHECKER_CODES, checker_page
from hs_lint.engine import SourceError, decode
from hs_lint.output import FORMATTERS, STATISTICS, plural, printable, progress, summary
from hs_lint.pretty import COLOR_CHOICES, as_pretty_text, use_color
from hs_lint.project.index import Projects
from hs_lint.project.store import cache_directory
from hs_lint.scan import CACHE_DIR_NAME, Cache, Checker, analyse, default_jobs, scan

if TYPE_CHECKING:
    from hs_lint.engine import Finding
    from hs_lint.fix import Fixer

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's line ends, by which findings count lines


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, for stderr
    warnings: list[str] = field(default_factory=list)  # one line each, for stderr; they do not change the exit code
    files: int = 0


def _config_for(args: argparse.Namespace, start: Path) -> Config:
    """The configuration for files at ``start`` (a directory): ``--config``, else the nearest pyproject.toml."""
    source = Path(args.config) if args.config else find_pyproject(start)
    if args.config and not source.is_file():
        raise ConfigError(f"{args.config}: no such configuration file")
    config = load(source)
    overrides: dict[str, object] = {}
    if args.select is not None:
        overrides["select"] = validate_codes(tuple(args.select), "--select")
    if args.ignore is not None:
        overrides["ignore"] = validate_codes(tuple(args.ignore), "--ignore")
    if args.extend_select:
        overrides["extend_select"] = config.extend_select + validate_codes(tuple(args.extend_select),
                                                                           "--extend-select")
    if args.exclude:
        overrides["exclude"] = config.exclude + tuple(args.exclude)
    if args.respect_gitignore is not None:
        overrides["respect_gitignore"] = args.respect_gitignore
    return replace(config, **overrides)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes (1 or more), got {value!r}")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 for no limit), got {value!r}")
    return seconds


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def _usage_problem(args: argparse.Namespace, stdin: bool) -> str | None:
    """What is wrong with this combination of options, if anything."""
    if "-" in args.paths and len(args.paths) > 1:
        return "'-' (standard input) cannot be checked together with other paths"
    if args.stdin_filename is not None and not stdin:
        return "--stdin-filename names standard input: use it with '-' (or without paths)"
    if args.statistics and args.format not in STATISTICS:
        return f"--statistics prints {' or '.join(STATISTICS)}, not {args.format}"
    return None


def run_check(args: argparse.Namespace) -> int:
    stdin = args.paths == ["-"] or (not args.paths and args.stdin_filename is not None)
    problem = _usage_problem(args, stdin)
    if problem is not None:
        print(f"hs-lint: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    name = args.stdin_filename or "-"
    try:
        config = _config_for(args, Path(os.path.abspath(name)).parent if stdin else Path.cwd())
    except ConfigError as exc:
        print(f"hs-lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = Report()
    fixer = None
    if args.fix or args.diff:
        from hs_lint.fix import Fixer  # libcst: only when fixing

        fixer = Fixer(unsafe=args.unsafe_fixes, write=not args.diff and not stdin)
    fix_stdin = stdin and args.fix and not args.diff  # as ruff: the fixed file on stdout, the report on stderr
    cache = None if args.no_cache or fixer is not None else Cache(cache_directory(config.root))
    named = [Path(p) for p in args.paths if p != "-" and Path(p).is_dir()]
    projects = Projects(fallback=named[0] if named else Path.cwd(), store_dir=cache.directory if cache else None)
    budget = args.budget or None
    if stdin:  # never cached: an editor sends a new buffer on every change
        source = sys.stdin.buffer.read()
        outcomes = analyse([(name, source)], Checker(config, fixer, projects, budget=budget), 1)
    else:
        paths = progress(discover(args.paths or ["."], config, report))
        outcomes = scan(paths, config, jobs=args.jobs, cache=cache, fixer=fixer, projects=projects, budget=budget)
    for outcome in outcomes:
        report.files += 1
        report.findings.extend(outcome.findings)
        report.errors.extend(outcome.errors)
    report.findings.sort()
    refuted = 0
    if args.confirm:
        try:
            judged = _confirmed(report.findings)
        except RuntimeError as exc:
            print(f"hs-lint: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        refuted = sum(f.confirmation is not None and f.confirmation.status == "refuted" for f in judged)
        report.findings = judged if args.show_refuted else [
            f for f in judged if f.confirmation is None or f.confirmation.status != "refuted"]
    if fix_stdin:
        fixed = next(iter(fixer.texts.values()), None)  # the one file's, if anything was fixed
        from hs_lint.fix import encode_like

        source = source if fixed is None else encode_like(source, fixed)
        sys.stdout.buffer.write(source)
        sys.stdout.flush()
    stream = sys.stderr if fix_stdin else sys.stdout
    color = use_color(args.color, None if args.output_file else stream)
    output = _rendered(args, report.findings, fixer, color, {name: source, str(Path(name)): source} if stdin else {})
    unreadable = [f for f in report.findings if f.code in CHECKER_CODES]  # HS001/HS002: a file not checked
    listed = not (args.statistics or (args.diff and fixer is not None))  # each is reported once: there, or on stderr
    unreadable_lines = [] if listed else [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in unreadable]
    try:
        if args.quiet < 2 or args.output_file:
            _write_output(output, args.output_file, stream)
    except OSError as exc:
        report.errors.append(f"{args.output_file}: cannot write: {exc.strerror or exc}")
    for error in [*report.errors, *unreadable_lines]:
        print(f"hs-lint: error: {printable(error)}", file=sys.stderr)
    for warning in report.warnings if args.quiet < 2 else ():
        print(f"hs-lint: warning: {printable(warning)}", file=sys.stderr)
    line = summary(report.findings, report.files, args.unsafe_fixes)
    if args.confirm and refuted:
        line += f"; {refuted} refuted by torch" + ("" if args.show_refuted else " (not shown: --show-refuted)")
    if fixer is not None:
        line = f"{'would fix' if args.diff else 'fixed'} {plural(sum(fixer.fixed.values()), 'finding')}; left: {line}"
    if not args.quiet:
        print(f"hs-lint: {line}", file=sys.stderr)
    if report.errors or unreadable:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if args.diff and fixer is not None:  # as ruff: 1 when there is a diff to show, whatever else remains
        return EXIT_FINDINGS if fixer.diffs else EXIT_CLEAN
    return EXIT_FINDINGS if report.findings else EXIT_CLEAN


def _rendered(args: argparse.Namespace, findings: list[Finding], fixer: Fixer | None, color: bool,
              given: dict[str, bytes]) -> str:
    """The report: ``--diff``'s diff, the statistics, or the findings (``given``: sources not on disk)."""
    if args.diff and fixer is not None:
        return "".join(fixer.diffs)
    if args.statistics:
        return STATISTICS[args.format](findings, args.unsafe_fixes)
    if args.format == "text" and (args.show_source or color):
        lines = _source_lines(given) if args.show_source else None
        return as_pretty_text(findings, args.unsafe_fixes, color=color, source_lines=lines)
    return FORMATTERS[args.format](findings, args.unsafe_fixes)


def _source_lines(given: dict[str, bytes]) -> Callable[[str], list[str]]:
    """path -> its lines as Python decodes them (from ``given``, else from disk), read once; [] if unreadable."""
    cache: dict[str, list[str]] = {}

    def lines(path: str) -> list[str]:
        if path not in cache:
            try:
                data = given[path] if path in given else Path(path).read_bytes()
                cache[path] = LINE_BREAK.split(decode(data, path))
            except (OSError, SourceError):
                cache[path] = []
        return cache[path]

    return lines


def _confirmed(findings: list[Finding]) -> list[Finding]:
    """torch's verdict on each finding, the refuted ones included (imports torch: only under --confirm)."""
    import warnings

    # torch warns on import when numpy is missing; --confirm never hands torch a numpy array
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    try:
        from hs_lint.runtime.confirm import confirm_findings
    except ImportError as exc:
        from hs_lint.install import TORCH_INSTALL

        raise RuntimeError(f"--confirm needs torch ({exc}): {TORCH_INSTALL}") from None

    return confirm_findings(findings, show_refuted=True)


def _write_output(text: str, output_file: str | None, stream: TextIO) -> None:
    if output_file is None:
        stream.write(text)
    else:
        Path(output_file).write_text(text, encoding="utf-8")


def run_explain(args: argparse.Namespace) -> int:
    """Print a rule's page; for an unknown code, the codes it is closest to."""
    from hs_lint.docs import rule_page
    from hs_lint.rules import all_rules

    rules = all_rules()
    code = args.code.strip().upper()
    by_name = {rule.name: rule for rule in rules.values()}
    rule = rules.get(code) or by_name.get(args.code.strip().lower())
    if rule is not None:
        sys.stdout.write(rule_page(rule))
        return EXIT_CLEAN
    checker = {name: c for c, (name, _, _) in CHECKER_CODES.items()}
    if code in CHECKER_CODES or args.code.strip().lower() in checker:
        sys.stdout.write(checker_page(code if code in CHECKER_CODES else checker[args.code.strip().lower()]))
        return EXIT_CLEAN
    codes = [*rules, *CHECKER_CODES]
    close = [c for c in codes if c.startswith(code)] or difflib.get_close_matches(code, codes, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `hs-lint rules` lists them all"
    print(f"hs-lint: error: unknown rule code '{args.code}'{hint}", file=sys.stderr)
    return EXIT_ERROR


def run_rules(args: argparse.Namespace) -> int:
    from hs_lint.rules import all_rules

    for code, rule in all_rules().items():
        state = "on " if rule.default_enabled else "off"
        print(f"{code}  {rule.name:<40} {state}  {rule.summary}")
    return EXIT_CLEAN


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hs-lint", description="Find hidden-state mistakes in PyTorch recurrent-network code."
    )
    parser.add_argument("--version", action="version", version=f"hs-lint {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check files and directories (default: .)")
    check.add_argument("paths", nargs="*", default=[], metavar="PATH", help="'-' reads standard input")
    check.add_argument("--stdin-filename", metavar="PATH",
                       help="check standard input as the file PATH: its configuration, per-file ignores and name")
    check.add_argument("--select", type=_codes, metavar="CODES",
                       help="comma-separated code prefixes to run instead of the default set")
    check.add_argument("--ignore", type=_codes, metavar="CODES", help="comma-separated code prefixes to skip")
    check.add_argument("--extend-select", type=_codes, metavar="CODES",
                       help="code prefixes to run in addition (e.g. advisory rules)")
    check.add_argument("--exclude", action="append", metavar="GLOB",
                       help="skip files and directories matching GLOB (repeatable)")
    check.add_argument("--respect-gitignore", action=argparse.BooleanOptionalAction, default=None,
                       help="skip what .gitignore and .git/info/exclude ignore in a git repository (default: on)")
    check.add_argument("--config", metavar="PYPROJECT", help="read [tool.hs-lint] from this file")
    check.add_argument("--format", choices=sorted(FORMATTERS), default="text",
                       help="text (default), json, sarif (code scanning) or github (Actions annotations)")
    check.add_argument("--output-file", metavar="FILE", help="write the findings to FILE instead of stdout")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--show-source", action="store_true",
                       help="with the text format, print each finding's line and a caret under its column")
    check.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                       help="colour the text format: auto (default: on a terminal, unless NO_COLOR is set)")
    check.add_argument("-q", "--quiet", action="count", default=0,
                       help="no summary line; -qq: no findings or warnings either, only errors and the exit code")
    check.add_argument("--confirm", action="store_true",
                       help="ask real torch modules (meta device) for their verdict on each finding; needs torch")
    check.add_argument("--show-refuted", action="store_true",
                       help="with --confirm, keep the findings torch refuted (they are dropped by default)")
    check.add_argument("--statistics", action="store_true",
                       help="print counts per code instead of the findings (text or --format json)")
    check.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what remains")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; change no file")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="also apply fixes that may change behaviour (with --fix or --diff)")
    check.add_argument("-j", "--jobs", type=_positive, default=default_jobs(), metavar="N",
                       help="processes to analyse files with (default: the number of CPUs); --fix runs in one")
    check.add_argument("--no-cache", action="store_true", help=f"neither read nor write {CACHE_DIR_NAME}/")
    check.add_argument("--budget", type=_seconds, default=DEFAULT_SECONDS, metavar="SECONDS",
                       help=f"CPU seconds one file may take before it is reported not analysed (HS002); "
                            f"default {DEFAULT_SECONDS:g}, 0 for no limit")
    check.set_defaults(handler=run_check)

    rules = commands.add_parser("rules", help="list every rule")
    rules.set_defaults(handler=run_rules)

    explain = commands.add_parser("explain", help="print a rule's page: what, why, bad and good code, the fix")
    explain.add_argument("code", metavar="CODE", help="a rule's code (HS101) or name (discarded-result)")
    explain.set_defaults(handler=run_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("hs-lint: interrupted", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # Now, not after the interpreter's exit handlers: they would wait for the pool's queue feeder,
        # which may be stuck writing a file to a worker that is gone.
        os._exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
