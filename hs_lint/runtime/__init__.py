"""Opt-in runtime guard for recurrent hidden states (imports torch; the static checker never imports this)."""

from hs_lint.runtime.guard import (
    GuardHandle,
    GuardReport,
    HiddenStateError,
    HiddenStateWarning,
    NormStats,
    watch,
)

__all__ = ["GuardHandle", "GuardReport", "HiddenStateError", "HiddenStateWarning", "NormStats", "watch"]
