"""A minimal language-server client for python-lsp-server over stdio (JSON-RPC framed with Content-Length headers),
shared by the LSP test and the latency benchmark (``bench/lsp_latency.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

SETTINGS = {"pylsp": {"configurationSources": ["flake8"], "plugins": {
    "flake8": {"enabled": True}, "pycodestyle": {"enabled": False}, "pyflakes": {"enabled": False},
    "mccabe": {"enabled": False}}}}


class Server:
    """pylsp over stdio: JSON-RPC messages framed with Content-Length headers."""

    def __init__(self, root: Path) -> None:
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

    def start(self, root: Path, settings: dict = SETTINGS) -> None:
        """initialize, initialized, then the settings: pylsp's flake8 plugin on, the others off."""
        self.send("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}, request=True)
        ours = self.ids
        self.until(lambda m: m.get("id") == ours)
        self.send("initialized", {})
        self.send("workspace/didChangeConfiguration", {"settings": settings})

    def diagnostics(self, uri: str) -> list[dict]:
        """The next diagnostics published for ``uri``."""
        published = self.until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                               and m["params"]["uri"] == uri)
        return published["params"]["diagnostics"]
