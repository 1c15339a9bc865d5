"""Which HS rules run on a file under flake8: the answer ``hs-lint check`` gives with the same options.

``[tool.hs-lint]`` (from the pyproject.toml found from the current directory, as flake8 finds its
own configuration) is read as the CLI reads it, and flake8's own ``--select``/``--ignore`` (from its
command line or its configuration) stand for the CLI's: when they name an HS code they replace the
configured list, and ``--extend-select``/``--extend-ignore`` add to it; options that name no HS code
(``--ignore E501``) leave ``[tool.hs-lint]`` alone. ``exclude`` skips the files flake8 finds by
walking, not those named to it. An advisory rule that the result selects is taken off flake8's
default ignore list, or flake8 would hide what it reports. (flake8 keeps ``--isolated`` from its plugins: the
pyproject.toml is read under it too.)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from hs_lint.catalogue import rule_codes
from hs_lint.config import Config, ConfigError, find_pyproject, load

_STDIN = ("", "-", "stdin")


@dataclass(frozen=True)
class Selection:
    config: Config = field(default_factory=Config)  # [tool.hs-lint] with flake8's options folded in
    shown: frozenset[str] = frozenset(rule_codes())  # the codes flake8 itself will report
    named: frozenset[str] = frozenset()  # files named on flake8's command line (absolute): never excluded
    problem: str | None = None  # an unusable [tool.hs-lint]: reported on every file instead of findings

    @classmethod
    def read(cls, options: argparse.Namespace) -> Selection:
        """The selection for this flake8 run; adjusts ``options`` so that flake8 shows every code it selects."""
        from flake8.style_guide import Decision, DecisionEngine

        try:
            config = load(find_pyproject(Path.cwd()))
            problem = None
        except ConfigError as exc:
            config, problem = Config(), str(exc)
        config = _with_flake8_options(config, options)
        advisory = {code for code, default in rule_codes().items() if not default}
        wanted = config.enabled_codes() & advisory
        options.extended_default_ignore = [c for c in getattr(options, "extended_default_ignore", [])
                                           if c not in wanted]
        decider = DecisionEngine(options)
        shown = frozenset(code for code in rule_codes() if decider.decision_for(code) is Decision.Selected)
        named = frozenset(os.path.abspath(name) for name in getattr(options, "filenames", None) or ()
                          if name not in _STDIN)
        return cls(config, shown, named, problem)

    def codes_for(self, filename: str) -> frozenset[str]:
        """The codes to run on ``filename``: none when ``exclude`` matches a file flake8 found by walking."""
        if filename not in _STDIN and os.path.abspath(filename) not in self.named and (
            self.config.is_excluded(Path(filename))
        ):
            return frozenset()
        return self.config.enabled_codes(filename if filename not in _STDIN else None) & self.shown


def _with_flake8_options(config: Config, options: argparse.Namespace) -> Config:
    """``config`` as the CLI's ``--select``/``--ignore``/``--extend-select`` would change it."""
    def ours(name: str) -> tuple[str, ...] | None:
        entries = getattr(options, name, None)
        if entries is None:
            return None
        found = tuple(e.strip() for e in entries if e.strip() and any(c.startswith(e.strip()) for c in rule_codes()))
        return found or None

    select, ignore = ours("select"), ours("ignore")
    extend_select, extend_ignore = ours("extend_select") or (), ours("extend_ignore") or ()
    return replace(
        config,
        select=select if select is not None else config.select,
        ignore=(ignore if ignore is not None else config.ignore) + extend_ignore,
        extend_select=config.extend_select + extend_select,
    )
