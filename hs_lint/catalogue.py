"""Which rule codes exist and which are on by default, without importing the rules.

Importing the rule modules loads libcst (about half a second of CPU), which a flake8 run or an
``hs-lint check`` over files with nothing recurrent in them never needs. The codes are read
from the rule modules' text instead: every rule class states ``code = "HS..."`` and, when it is
advisory, ``default_enabled = False`` after it in its own body (tests/test_screen.py checks this reading
against the imported catalogue, ``hs_lint.rules.all_rules``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_RULES = Path(__file__).resolve().parent / "rules"
# In a rule's body, in this order; an advisory line belongs to the code stated last before it.
_STATEMENT = re.compile(r'^    (?:code = "(HS\d+)"|default_enabled = (False)\b)', re.MULTILINE)


@functools.cache
def rule_codes() -> dict[str, bool]:
    """Every rule code, sorted, with whether it runs by default."""
    codes: dict[str, bool] = {}
    for module in sorted(_RULES.glob("*.py")):
        code = None
        for found in _STATEMENT.finditer(module.read_text(encoding="utf-8")):
            if found.group(1):
                code = found.group(1)
                codes[code] = True
            elif code is not None:
                codes[code] = False
    return dict(sorted(codes.items()))
