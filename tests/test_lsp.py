"""The editor path: a real language server (python-lsp-server with its flake8 plugin) publishes hs-lint's findings
for an open buffer, with the positions and codes ``hs-lint check --stdin-filename`` gives for the same text."""

from __future__ import annotations

import json

import pytest

from conftest import CARRY, hs_lint
from lsp_client import Server

pytest.importorskip("pylsp")


def test_pylsp_publishes_the_findings_the_cli_gives_for_the_buffer(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.hs-lint]\nignore = ["HS102"]\n')
    path = tmp_path / "train.py"
    path.write_text("# saved on disk: nothing recurrent yet\n")
    buffer = CARRY + "h.detach()\n"  # unsaved: the server must read the buffer, not the file
    server = Server(tmp_path)
    try:
        server.start(tmp_path)
        server.send("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "python",
                                                              "version": 1, "text": buffer}})
        diagnostics = server.diagnostics(path.as_uri())
    finally:
        server.close()
    found = {(d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["code"])
             for d in diagnostics if str(d.get("code", "")).startswith("HS")}
    cli = hs_lint("check", "--format", "json", "--stdin-filename", "train.py", "-", cwd=tmp_path, stdin=buffer)
    expected = {(f["line"], f["col"], f["code"]) for f in json.loads(cli.stdout)}
    assert found == expected and {code for *_, code in found} == {"HS101"}  # HS102 ignored by [tool.hs-lint]
