"""hs-lint over installed Python it was never shown: all of torch, and a fixed third of every other installed
``.py`` file (sympy, networkx, pip, pygments, libcst, ...), chosen by a hash of its path: whatever it meets, it
never crashes.

The slowest test (the whole of site-packages took 20 minutes and more on two busy cores; this share, about
half the files, keeps ``.ci/run`` within its limit), so it is marked ``slow``: deselected by default, run by
.ci/run as a step of its own, with no time limit (load must not fail it). Its cache lives in pytest's cache
directory, so re-runs with an unchanged hs-lint are quick.
"""

from __future__ import annotations

import re
import sysconfig
import zlib
from pathlib import Path

import pytest

from conftest import hs_lint

pytestmark = pytest.mark.slow

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
# The only errors a foreign tree may cause: a file hs-lint cannot read, decode, parse or afford to analyse, or
# does not read (a FIFO, a device, a link out of the tree).
EXPECTED_ERROR = re.compile(r"hs-lint: error: .+: (cannot read|cannot decode|cannot parse|not analysed|not checked): ")


def _swept() -> list[str]:
    """torch's folder, and each other installed ``.py`` file whose path (inside site-packages) hashes to 0 mod 3."""
    others = sorted(str(path) for path in SITE_PACKAGES.rglob("*.py")
                    if path.relative_to(SITE_PACKAGES).parts[0] != "torch"
                    and zlib.crc32(path.relative_to(SITE_PACKAGES).as_posix().encode()) % 3 == 0)
    return [str(SITE_PACKAGES / "torch"), *others]


def test_installed_python_is_checked_without_a_crash(request):
    assert (SITE_PACKAGES / "torch").is_dir()
    work = Path(request.config.cache.mkdir("hs-lint-site-packages"))
    result = hs_lint("check", "--select", "HS", *_swept(), cwd=work, timeout=None)
    assert result.returncode in (0, 1, 2)
    assert "Traceback" not in result.stderr
    assert " HS001 " not in result.stdout
    *errors, summary = result.stderr.splitlines()
    assert all(EXPECTED_ERROR.match(line) for line in errors), errors
    checked = int(re.search(r"(\d+) files checked", summary).group(1))
    assert checked > 3000  # torch alone has more than 2,000
