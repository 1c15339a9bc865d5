"""The editor path: a real language server (python-lsp-server with its flake8 plugin) publishes hs-lint's findings
for an open buffer, with the positions and codes ``hs-lint check --stdin-filename`` gives for the same text."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from conftest import CARRY, hs_lint

pytest.importorskip("pylsp")

SETTINGS = {"pylsp": {"configurationSources": ["flake8"], "plugins": {
    "flake8": {"enabled": True}, "pycodestyle": {"enabled": False}, "pyflakes": {"enabled": False},
    "mccabe": {"enabled": False}}}}


class Server:
    """pylsp over stdio: JSON-RPC messages framed with Content-Length headers."""

    def __init__(self, root) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "pylsp"], cwd=root, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.ids = 0
        # not a speed limit: only a server that never answers is stopped, so that the test fails instead of hanging
        self.watchdog = threading.Timer(300, self.process.kill)
        self.watchdog.start()

    def send(self, method: str, params: dict, request: bool = False) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.ids += 1
            message["id"] = self.ids
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while (line := self.process.stdout.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.process.stdout.read(length))

    def until(self, wanted) -> dict:
        while not wanted(message := self.receive()):
            pass
        return message

    def close(self) -> None:
        self.send("shutdown", {}, request=True)
        self.send("exit", {})
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.watchdog.cancel()


def test_pylsp_publishes_the_findings_the_cli_gives_for_the_buffer(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.hs-lint]\nignore = ["HS102"]\n')
    path = tmp_path / "train.py"
    path.write_text("# saved on disk: nothing recurrent yet\n")
    buffer = CARRY + "h.detach()\n"  # unsaved: the server must read the buffer, not the file
    server = Server(tmp_path)
    try:
        server.send("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}, request=True)
        server.until(lambda m: m.get("id") == 1)
        server.send("initialized", {})
        server.send("workspace/didChangeConfiguration", {"settings": SETTINGS})
        server.send("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "python",
                                                              "version": 1, "text": buffer}})
        published = server.until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                 and any(str(d.get("code", "")).startswith("HS") for d in m["params"]["diagnostics"]))
    finally:
        server.close()
    diagnostics = [d for d in published["params"]["diagnostics"] if str(d.get("code", "")).startswith("HS")]
    found = {(d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["code"]) for d in diagnostics}
    cli = hs_lint("check", "--format", "json", "--stdin-filename", "train.py", "-", cwd=tmp_path, stdin=buffer)
    expected = {(f["line"], f["col"], f["code"]) for f in json.loads(cli.stdout)}
    assert found == expected and {code for *_, code in found} == {"HS101"}  # HS102 ignored by [tool.hs-lint]
