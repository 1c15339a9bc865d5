"""Facts that span the modules of a project: the CLI, flake8 on one file, an editor and the cache agree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from conftest import FIXTURES, ROOT, codes_in, expected_marks, flake8, hs_lint
from hs_lint.engine import Linter
from hs_lint.facts import FileFacts
from hs_lint.inline import expand
from hs_lint.project import layout
from hs_lint.project.index import ModuleView, ProjectIndex, Projects
from hs_lint.project.summarise import summarise
from hs_lint.project.summary import ModuleSummary
from hs_lint.rules import all_rules

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())
IDS = [p.name for p in PROJECTS]


def marks(project: Path) -> set[tuple[str, int, str]]:
    return {(str(f.relative_to(ROOT)), line, code) for f in project.rglob("*.py") for line, code in expected_marks(f)}


def test_every_project_has_a_twin_and_the_bad_ones_are_marked():
    names = {p.name for p in PROJECTS}
    assert all(f"{name}_ok" in names for name in names if not name.endswith("_ok"))
    for project in PROJECTS:
        assert bool(marks(project)) != project.name.endswith("_ok"), project


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_cli_reports_exactly_the_marks(project):
    result = hs_lint("check", "--no-cache", "--format", "json", str(project.relative_to(ROOT)))
    assert result.returncode in (0, 1), result.stderr
    found = {(f["path"], f["line"], f["code"]) for f in json.loads(result.stdout)}
    assert found == marks(project)


@pytest.mark.slow  # one flake8 process per file; test_front_ends runs flake8 over every project in the default run
@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_flake8_on_each_file_alone_agrees_with_the_cli(project):
    # flake8's --select=HS enables the advisory codes too (flake8's own semantics), so the CLI selects the same.
    cli = json.loads(
        hs_lint("check", "--no-cache", "--select", "HS", "--format", "json", str(project.relative_to(ROOT))).stdout
    )
    for path in sorted(project.rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        result = flake8("--select=HS", "--format=%(path)s|%(row)d|%(col)d|%(code)s", relative)
        alone = {tuple(line.split("|")) for line in result.stdout.splitlines()}
        assert alone == {(f["path"], str(f["line"]), str(f["col"]), f["code"]) for f in cli if f["path"] == relative}


def test_a_cached_result_is_redone_when_a_module_it_used_changes(tmp_path):
    project = tmp_path / "stream"
    shutil.copytree(FIXTURES / "projects" / "stream_detach_ok", project)
    (project / "setup.cfg").write_text("")  # a project marker: the cache is kept in the project
    first = hs_lint("check", "train.py", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    net = project / "net.py"
    net.write_text(net.read_text().replace("hidden.detach()", "hidden"))
    second = hs_lint("check", "train.py", cwd=project)
    assert second.returncode == 1 and "HS101" in second.stdout, second.stdout + second.stderr
    assert (project / ".hs_lint_cache" / "summaries").is_dir()


_STREAM_BASE = """\
import torch.nn as nn


class StreamBase(nn.Module):
    def __init__(self, vocab, width=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab)
"""
_STREAM_NET = """\
from base import StreamBase


class StreamNet(StreamBase):
    def forward(self, tokens, hidden):
        out, hidden = self.gru(self.embed(tokens), hidden)
        return self.head(out), hidden
"""


def test_a_cached_result_is_redone_when_the_base_class_of_a_class_it_used_changes(tmp_path):
    """train.py reads net.py's summary, which was made with base.py's class: an edit of base.py alone (the layer
    becomes a GRU) must redo both the stored summary of net.py and train.py's cached result."""
    stream = (FIXTURES / "projects" / "stream_detach" / "train.py").read_text()
    before = _STREAM_BASE.replace("nn.GRU(width, width, batch_first=True)", "nn.Linear(width, width)").replace(
        "        self.head", "        self.spare = nn.LSTM(width, width)  # never run: every summary is made\n        self.head")
    files = {"base.py": before, "net.py": _STREAM_NET,
             "train.py": stream.replace("from net import StreamGRU", "from net import StreamNet as StreamGRU")}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "setup.cfg").write_text("")
    first = hs_lint("check", ".", cwd=tmp_path)
    assert "HS101" not in first.stdout, first.stdout + first.stderr
    (tmp_path / "base.py").write_text(_STREAM_BASE)
    assert any((tmp_path / ".hs_lint_cache" / "summaries").rglob("*.json"))
    second = hs_lint("check", ".", cwd=tmp_path)
    assert "train.py:11:" in second.stdout and "HS101" in second.stdout, second.stdout + second.stderr


def test_a_stored_summary_is_remade_when_a_base_class_it_was_made_with_changes(tmp_path):
    from hs_lint.project.store import SummaryStore

    (tmp_path / "base.py").write_text(_STREAM_BASE.replace("nn.GRU(", "nn.Linear("))
    (tmp_path / "net.py").write_text(_STREAM_NET)
    store = SummaryStore(tmp_path / "store")
    first, used = ProjectIndex(tmp_path, store).summary(tmp_path / "net.py")
    assert not first.classes["StreamNet"].is_recurrent and str(tmp_path / "base.py") in used
    (tmp_path / "base.py").write_text(_STREAM_BASE)
    second, _ = ProjectIndex(tmp_path, store).summary(tmp_path / "net.py")
    assert second.classes["StreamNet"].is_recurrent  # its forward runs the GRU its base class builds


@pytest.mark.parametrize("other", [None, "linear.py"], ids=["no-recurrent-module-anywhere", "another-module"])
def test_a_result_the_screen_skipped_is_redone_once_an_imported_module_turns_recurrent(tmp_path, other):
    """evaluate.py is skipped by the screen while no module it imports names a torch recurrent class; making the
    model an LSTM must redo its cached result, whether or not the project had any recurrent module before."""
    project = tmp_path / "gestures"
    shutil.copytree(FIXTURES / "projects" / "gestures_pkg", project)
    model = project / "gestures" / "model.py"
    recurrent = model.read_text()
    model.write_text(recurrent.replace("nn.LSTM(", "nn.Linear(").replace("An LSTM", "A model"))
    if other is not None:
        (project / other).write_text("import torch.nn as nn\nlayer = nn.GRU(4, 8)\n")
    first = hs_lint("check", ".", cwd=project)
    assert "evaluate.py" not in first.stdout, first.stdout + first.stderr
    model.write_text(recurrent)
    second = hs_lint("check", ".", cwd=project)
    assert "evaluate.py:11:" in second.stdout and "HS307" in second.stdout, second.stdout + second.stderr


def test_a_summary_survives_json_and_is_what_its_own_view_makes():
    for path in sorted((FIXTURES / "projects").rglob("*.py")):
        index = ProjectIndex(ROOT)
        summary, _ = index.summary(path)
        assert summary is not None, path
        assert ModuleSummary.from_json(json.loads(json.dumps(summary.as_json()))) == summary
        view = ModuleView(index, path, local=True)
        facts = FileFacts(expand(cst.parse_module(path.read_text()), view).module, view)
        assert summarise(facts, summary.name) == summary


def test_imports_resolve_as_python_would(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .model import Net\n")
    (package / "model.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    pass\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "helper.py").write_text("def f():\n    return 1\n")
    assert layout.find_root(package / "model.py") == tmp_path
    assert layout.module_name(tmp_path, package / "model.py") == "pkg.model"
    assert layout.module_name(tmp_path, package / "__init__.py") == "pkg"
    assert layout.absolute_import("pkg.sub.train", False, 2, "data") == "pkg.data"
    assert layout.absolute_import("pkg", True, 1, "model") == "pkg.model"
    assert layout.absolute_import("train", False, 3, "x") is None
    view = Projects().view(tmp_path / "scripts" / "helper.py")
    assert view.resolve("pkg.Net").name == "Net"  # through the package's re-export, from src/
    assert view.resolve("helper.f") is None  # a module does not import itself
    assert view.resolve("torch.nn.LSTM") is None and view.resolve("missing.Thing") is None


def test_an_editor_gets_the_cross_module_finding(tmp_path):
    """python-lsp-server's flake8 plugin pipes the buffer through `flake8 -` from the workspace root."""
    pytest.importorskip("pylsp")
    project = tmp_path / "charlm"
    shutil.copytree(FIXTURES / "projects" / "charlm_tuple", project)
    train = project / "train.py"
    executable = shutil.which("flake8", path=os.path.dirname(sys.executable)) or shutil.which("flake8")
    settings = {"pylsp": {"plugins": {
        "flake8": {"enabled": True, "select": ["HS"], "executable": executable},
        **{name: {"enabled": False} for name in ("pycodestyle", "pyflakes", "mccabe", "pydocstyle", "autopep8",
                                                 "yapf", "pylint")},
    }}}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": project.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": {"settings": settings}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": train.as_uri(), "languageId": "python", "version": 1, "text": train.read_text()}}},
    ]
    server = subprocess.Popen([sys.executable, "-m", "pylsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, cwd=project)
    try:
        for message in messages:
            body = json.dumps(message).encode()
            server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.flush()
        diagnostics = _diagnostics_for(server.stdout, train.as_uri())
    finally:
        server.kill()
        server.wait()
    hs = [d for d in diagnostics if str(d.get("code", "")).startswith("HS")]
    assert [(d["code"], d["range"]["start"]["line"] + 1) for d in hs] == [("HS103", 22)], diagnostics


def _diagnostics_for(stream, uri: str) -> list[dict]:
    """Read LSP messages until the server publishes non-empty diagnostics for ``uri`` (or closes)."""
    while True:
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if not length:
            return []
        message = json.loads(stream.read(length))
        params = message.get("params") or {}
        if message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri:
            if params["diagnostics"]:
                return params["diagnostics"]


def test_a_module_built_by_a_helper_of_another_file_is_read_where_it_is_built(tmp_path):
    """``self.rnn = make_gru(...)`` with a one-expression helper in another module: the importer reads the
    configuration through the helper's expression (``out[-1]`` under batch_first), while the construction itself
    (dropout on one layer) is judged once, in the helper's own file."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "factory.py").write_text(
        "import torch.nn as nn\n\n\ndef make_gru(features, hidden):\n"
        "    return nn.GRU(features, hidden, batch_first=True, dropout=0.5)\n")
    model = (
        "import torch.nn as nn\nfrom factory import make_gru\n\n\nclass Tagger(nn.Module):\n"
        "    def __init__(self, features=12, hidden=32):\n        super().__init__()\n"
        "        self.rnn = make_gru(features, hidden)\n\n    def forward(self, x, state=None):\n"
        "        out, state = self.rnn(x, state)\n        return out[-1], state\n")
    (tmp_path / "model.py").write_text(model)
    linter = Linter(sorted(all_rules()))
    projects = Projects()
    found = linter.check_source(model, str(tmp_path / "model.py"), projects.view(tmp_path / "model.py"))
    assert [(f.line, f.code) for f in found] == [(12, "HS207")]
    (tmp_path / "factory.py").write_text(
        "import torch.nn as nn\n\n\ndef make_gru(features, hidden):\n"
        "    layer = nn.GRU(features, hidden, batch_first=True, dropout=0.5)\n    return layer\n")
    projects = Projects()  # a helper of two statements, its local read once: followed as its expression
    found = linter.check_source(model, str(tmp_path / "model.py"), projects.view(tmp_path / "model.py"))
    assert [(f.line, f.code) for f in found] == [(12, "HS207")]
    factory = tmp_path / "factory.py"
    found = linter.check_source(factory.read_text(), str(factory), projects.view(factory))
    assert [f.code for f in found] == ["HS209"]


_ENCODER = "import torch.nn as nn\nencoder = nn.GRU(40, 128, num_layers=2, batch_first=True)\n"
_STEP = ("def step(batch):\n    h0 = torch.zeros(batch.size(0), 2, 128)\n    out, h_n = {call}(batch, h0)\n"
         "    return out\n")


@pytest.mark.parametrize(("files", "importer"), [
    ({"common.py": _ENCODER}, "from common import encoder\n"),
    ({"common.py": _ENCODER}, "from common import encoder as enc\n"),
    ({"common.py": _ENCODER}, "import common\n"),
    ({"shared/__init__.py": "from .nets import encoder\n", "shared/nets.py": _ENCODER}, "from shared import encoder\n"),
])
def test_a_module_built_at_the_top_of_another_file_carries_its_configuration(tmp_path, files, importer):
    call = {"from common import encoder as enc\n": "enc", "import common\n": "common.encoder"}.get(importer, "encoder")
    script = "import torch\n" + importer + "\n\n" + _STEP.format(call=call)
    assert codes_in(tmp_path, {**files, "train.py": script}, "train.py") == [(6, "HS201")]


_BASE = ("import torch.nn as nn\n\n\nclass Core(nn.Module):\n"
         "    def __init__(self, n_in, hidden=64, layers=3, bidirectional=False):\n        super().__init__()\n"
         "        self.rnn = nn.LSTM(n_in, hidden, num_layers=layers, bidirectional=bidirectional)\n")
_READER = ("import torch\nfrom base import Core\n\n\nclass Tagger(Core):\n{init}    def forward(self, x):\n"
           "        h0 = torch.zeros({layers}, x.size(1), 64)\n        return self.rnn(x, (h0, h0))\n\n\n{built}\n")


@pytest.mark.parametrize(("layers", "built", "init", "expected"), [
    ("3", "", "", []),  # the defaults, with no construction here
    ("1", "", "", [(7, "HS202")]),
    ("3", "model = Tagger(8, layers=2)", "", [(7, "HS202")]),  # the construction's value, by keyword
    ("2", "model = Tagger(8, 64, 2)", "", []),  # and by position
    ("2", "model = Tagger(8, 64, 2, True)", "", [(7, "HS202")]),  # bidirectional doubles it
    ("3", "a = Tagger(8, layers=2)\nb = Tagger(8)", "", []),  # two configurations disagree: unknown
    # an __init__ of its own passes what it likes to the base's: unknown
    ("1", "", "    def __init__(self, n_in):\n        super().__init__(n_in, layers=1)\n\n", []),
])
def test_a_base_class_of_another_file_is_configured_by_this_files_constructions(tmp_path, layers, built, init,
                                                                                expected):
    reader = _READER.format(layers=layers, built=built, init=init)
    assert codes_in(tmp_path, {"base.py": _BASE, "model.py": reader}, "model.py") == expected
