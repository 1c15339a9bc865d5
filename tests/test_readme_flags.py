"""The README's command summary and ``--help`` name the same flags, command by command."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, hs_lint

FLAG = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
HELP = {"-h", "--help"}  # every command has them; the summary says so once


def flags_in(text: str) -> set[str]:
    """The flags ``text`` names; a repeated short flag (``-qq``) is that flag."""
    return {re.sub(r"^-(\w)\1+$", r"-\1", flag) for flag in FLAG.findall(text)}


def summary_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Command line\n\n```sh\n(.*?)```", readme, re.S)
    assert block, "README: no command summary under '## Command line'"
    return block.group(1).splitlines()


def readme_flags(command: str | None) -> set[str]:
    """Flags on the summary lines of ``hs-lint COMMAND`` (None: lines of ``hs-lint`` without a command)."""
    flags = set()
    for line in summary_lines():
        words = line.split()
        own = words[1] if len(words) > 1 and not words[1].startswith("-") else None
        if own == command:
            flags.update(flags_in(line))
    return flags - HELP


def help_flags(*command: str) -> set[str]:
    """The option strings in the options section of the real ``--help``."""
    result = hs_lint(*command, "--help")
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("options:", 1)[1]
    flags = set()
    for line in options.splitlines():
        if line.startswith("  -"):
            flags.update(flags_in(line.strip().split("  ", 1)[0]))
    assert HELP <= flags
    return flags - HELP


@pytest.mark.parametrize("command", ["check", "rules", "explain", None])
def test_every_flag_of_help_is_in_the_readme_summary_and_back(command):
    in_help = help_flags(*([command] if command else []))
    in_readme = readme_flags(command)
    assert in_help - in_readme == set(), f"in --help, missing from the README summary: {in_help - in_readme}"
    assert in_readme - in_help == set(), f"in the README summary, not in --help: {in_readme - in_help}"


def test_the_summary_says_how_to_get_help():
    assert any("--help" in line and "-h" in line for line in summary_lines())
    assert help_flags("check") >= {"--stdin-filename", "--show-source", "--color", "-q", "--quiet",
                                   "--respect-gitignore", "--no-respect-gitignore", "--statistics"}
