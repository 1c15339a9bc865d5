"""HS402's evidence: each module's device summary is plain data, and the split is decided over all given modules."""

from __future__ import annotations

import json
import textwrap

import libcst as cst

from conftest import lint
from hs_lint.device_facts import CudaState, DeviceFacts, device_facts, device_splits
from hs_lint.facts import FileFacts

MODEL = textwrap.dedent("""\
    import torch
    import torch.nn as nn

    ON_GPU = torch.cuda.is_available()


    class Speller(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 8)

        def forward(self, x, state):
            return self.lstm(x, state)

        def init_hidden(self, batch):
            h = torch.zeros(1, batch, 8)
            c = torch.zeros(1, batch, 8)
            if ON_GPU:
                h, c = h.cuda(), c.cuda()
            return h, c
""")


def summary(source: str):
    return device_facts(FileFacts(cst.parse_module(textwrap.dedent(source))))


def loader(body: str) -> str:
    return "import torch\nimport speller\n\n\n" + textwrap.dedent(body)


def test_summary_is_json_serialisable_plain_data():
    facts = summary(MODEL)
    data = facts.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert DeviceFacts.from_dict(json.loads(json.dumps(data))) == facts
    assert data["cuda_states"] == [{"cls": "Speller", "method": "init_hidden"}]


def test_a_class_built_nowhere_in_sight_is_not_judged():
    assert device_splits([summary(MODEL)]) == []
    assert lint(MODEL, ["HS402"]) == []


def test_built_in_another_module_and_never_moved_is_a_split():
    other = summary(loader("""\
        def load(path):
            model = speller.Speller()
            model.load_state_dict(torch.load(path))
            model.eval()
            return model


        net = load("speller.pt")
        out = net(torch.zeros(3, 1, 4), net.init_hidden(1))
    """))
    assert device_splits([summary(MODEL), other]) == [CudaState("Speller", "init_hidden")]


def test_moved_anywhere_it_is_obtained_is_not_a_split():
    moved_at_build = summary(loader("model = speller.Speller().to('cuda')\n"))
    moved_by_caller = summary(loader("""\
        def load():
            return speller.Speller()


        net = load()
        net = net.cuda()
    """))
    assert device_splits([summary(MODEL), moved_at_build]) == []
    assert device_splits([summary(MODEL), moved_by_caller]) == []


def test_an_instance_handed_to_unseen_code_stays_unjudged():
    handed_over = summary(loader("""\
        model = speller.Speller()
        trainer.fit(model)
    """))
    returned_to_nobody_seen = summary(loader("""\
        def load():
            model = speller.Speller()
            return model
    """))
    assert device_splits([summary(MODEL), handed_over]) == []
    assert device_splits([summary(MODEL), returned_to_nobody_seen]) == []


def test_a_class_that_moves_itself_has_no_split():
    moving = MODEL.replace("self.lstm = nn.LSTM(4, 8)", "self.lstm = nn.LSTM(4, 8)\n        self.to('cuda' if ON_GPU else 'cpu')")
    assert summary(moving).cuda_states == ()


def test_single_file_rule_reports_the_state_line():
    source = MODEL + "\n\nnet = Speller()\nout = net(torch.zeros(3, 1, 4), net.init_hidden(1))\n"
    findings = lint(source, ["HS402"])
    assert [(f.line, f.code) for f in findings] == [(19, "HS402")]
    assert "Speller" in findings[0].message
    assert lint(source + "net.to('cuda')\n", ["HS402"]) == []


def test_a_global_model_moved_inside_a_function_is_moved():
    source = MODEL + textwrap.dedent("""\


        net = Speller()


        def to_gpu():
            net.cuda()
    """)
    assert lint(source, ["HS402"]) == []


def test_a_model_returned_by_a_method_escapes():
    holder = summary(loader("""\
        class Holder:
            def build(self):
                model = speller.Speller()
                return model
    """))
    assert device_splits([summary(MODEL), holder]) == []
