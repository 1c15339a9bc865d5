"""hs-lint over every installed ``.py`` file (torch included): whatever it meets, it never crashes.

The slowest test (minutes on two busy cores), so it is marked ``slow``: deselected by default,
run by .ci/run as a step of its own, with no time limit (load must not fail it). Its cache lives
in pytest's cache directory, so re-runs with an unchanged hs-lint are quick.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest

from conftest import hs_lint

pytestmark = pytest.mark.slow

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
# The only errors a foreign tree may cause: a file hs-lint cannot read, decode, parse or afford to analyse, or
# does not read (a FIFO, a device, a link out of the tree).
EXPECTED_ERROR = re.compile(r"hs-lint: error: .+: (cannot read|cannot decode|cannot parse|not analysed|not checked): ")


def test_every_installed_python_file_is_checked_without_a_crash(request):
    assert (SITE_PACKAGES / "torch").is_dir()
    work = Path(request.config.cache.mkdir("hs-lint-site-packages"))
    result = hs_lint("check", "--select", "HS", str(SITE_PACKAGES), cwd=work, timeout=None)
    assert result.returncode in (0, 1, 2)
    assert "Traceback" not in result.stderr
    assert " HS001 " not in result.stdout
    *errors, summary = result.stderr.splitlines()
    assert all(EXPECTED_ERROR.match(line) for line in errors), errors
    checked = int(re.search(r"(\d+) files checked", summary).group(1))
    assert checked > 5000  # torch alone has more than 2,000
