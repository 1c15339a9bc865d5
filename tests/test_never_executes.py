"""hs-lint reads code and never runs it: scanned files that would act at import time do nothing.

Each scanned file is a real recurrent training script (so it passes the pre-filter and is fully
analysed) whose top level would write a file, connect to a socket, or raise.
"""

from __future__ import annotations

import socket
import textwrap

import pytest

from conftest import flake8, hs_lint

# Every way of running hs-lint over a tree. When the runtime checker lands, add ["check", "--confirm"]:
# it must import torch, never the user's files.
CHECK_COMMANDS = [["check", "--no-cache", "-j", "1"], ["check", "-j", "2"]]

TRAINING = textwrap.dedent(
    """\
    import torch.nn as nn
    rnn = nn.LSTM(4, 8)
    state = None
    for x in xs:
        out, state = rnn(x, state)
        out.sum().backward()
    """
)


@pytest.fixture
def booby_trapped(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    port = server.getsockname()[1]
    marker = tmp_path / "EXECUTED"
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    payloads = {
        "writes.py": f"open({str(marker)!r}, 'w').write('ran')\n",
        "connects.py": f"import socket\nsocket.create_connection(('127.0.0.1', {port})).sendall(b'ran')\n",
        "raises.py": "raise SystemExit('scanned code ran')\n",
        "pkg/__init__.py": f"import os\nos.makedirs({str(marker)!r})\n",
        "conftest.py": f"open({str(marker)!r}, 'w').write('ran')\n",
        "setup.py": f"open({str(marker)!r}, 'w').write('ran')\n",
    }
    for name, payload in payloads.items():
        (tree / name).write_text(payload + TRAINING)
    yield tree, marker, server
    server.close()


def _assert_nothing_ran(marker, server) -> None:
    assert not marker.exists()
    with pytest.raises(BlockingIOError):
        server.accept()


@pytest.mark.parametrize("command", CHECK_COMMANDS, ids=" ".join)
def test_cli_never_executes_scanned_code(booby_trapped, command):
    tree, marker, server = booby_trapped
    result = hs_lint(*command, ".", cwd=tree)
    assert result.returncode == 1, result.stderr  # findings, not a SystemExit from raises.py
    assert result.stdout.count("HS101") == 6
    _assert_nothing_ran(marker, server)


def test_flake8_plugin_never_executes_scanned_code(booby_trapped):
    tree, marker, server = booby_trapped
    result = flake8("--select=HS", ".", cwd=tree)
    assert result.stdout.count("HS101") == 6, result.stdout + result.stderr
    _assert_nothing_ran(marker, server)
