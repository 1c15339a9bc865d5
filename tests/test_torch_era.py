"""HS106 judges ``type(h) == Variable`` by the torch a file is written for; a helper module that shows no era
of its own takes the era of the project modules it shares imports with (directly, or through a package)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in

_HELPER = textwrap.dedent("""\
    from torch.autograd import Variable


    def repackage(h):
        if type(h) == Variable:
            return Variable(h.data)
        return tuple(repackage(v) for v in h)
    """)

_OLD_DRIVER = textwrap.dedent("""\
    from torch.autograd import Variable
    from {module} import repackage


    def train(model, batches, hidden):
        for x, y in batches:
            hidden = repackage(hidden)
            out, hidden = model(Variable(x, volatile=False), hidden)
    """)

_NEW_DRIVER = textwrap.dedent("""\
    import torch
    from {module} import repackage


    def train(model, batches, hidden):
        for x, y in batches:
            hidden = repackage(hidden)
            out, hidden = model(x.to("cpu"), hidden)
            print(out.sum().item())
    """)


def _project(driver: str, packaged: bool) -> dict[str, str]:
    if packaged:
        return {"state/__init__.py": "from .impl import repackage\n", "state/impl.py": _HELPER,
                "train.py": driver.format(module="state")}
    return {"utils.py": _HELPER, "train.py": driver.format(module="utils")}


@pytest.mark.parametrize("packaged", [False, True], ids=["module", "package"])
@pytest.mark.parametrize(("driver", "expected"), [(_OLD_DRIVER, []), (_NEW_DRIVER, [(5, "HS106")])],
                         ids=["torch-0.3 driver", "torch-0.4+ driver"])
def test_a_helper_takes_the_era_of_the_modules_that_use_it(tmp_path, driver, expected, packaged):
    files = _project(driver, packaged)
    helper = "state/impl.py" if packaged else "utils.py"
    assert codes_in(tmp_path, files, helper) == expected


def test_a_helper_used_by_both_eras_is_judged_as_new(tmp_path):
    files = {"utils.py": _HELPER, "train.py": _OLD_DRIVER.format(module="utils"),
             "serve.py": _NEW_DRIVER.format(module="utils")}
    assert codes_in(tmp_path, files, "utils.py") == [(5, "HS106")]


def test_a_file_alone_is_judged_by_its_own_idioms(tmp_path):
    assert codes_in(tmp_path, {"utils.py": _HELPER}, "utils.py") == [(5, "HS106")]
