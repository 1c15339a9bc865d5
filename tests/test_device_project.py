"""HS401 for a model whose class is in one module and whose driver, in another, puts it on an accelerator: the
class module learns it from the project (``ModuleView.accelerated``), and stays silent where it cannot tell."""

from __future__ import annotations

import pytest

from conftest import codes_in

MODEL = """\
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.width = width
        self.gru = nn.GRU(8, width)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), self.width)
        out, _ = self.gru(x, h0)
        return out

    def zero_state(self, batch):
        return torch.zeros(1, batch, self.width)
"""

_CUDA = 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n'


@pytest.mark.parametrize("driver", [
    f"import torch\nfrom model import Tagger\n{_CUDA}tagger = Tagger().to(device)\nout = tagger(torch.randn(5, 4, 8))\n",
    "import torch\nimport model\nnet = model.Tagger(64)\nnet.cuda()\n",
    "import torch\nfrom model import Tagger as T\nT().to('cuda')(torch.randn(5, 4, 8, device='cuda'))\n",
    f"import torch\nfrom model import *\n{_CUDA}\n\ndef build():\n    return Tagger().to(device)\n",
])
def test_a_model_its_driver_moves_to_a_gpu_builds_its_state_on_the_gpu_too(tmp_path, driver):
    found = codes_in(tmp_path, {"model.py": MODEL, "train.py": driver}, "model.py")
    assert found == [(12, "HS401")]  # forward's h0; ``zero_state``'s callers may move what it returns


@pytest.mark.parametrize("driver", [
    "import torch\nfrom model import Tagger\nnet = Tagger()\nx = torch.randn(5, 4, 8).cuda()\n",  # model not moved
    "import torch\nfrom model import Tagger\nnet = Tagger().to('cpu')\n",  # moved, to the CPU
    "import torch\nfrom other import Tagger\nTagger().cuda()\n",  # another module's class of the same name
    "import torch\nfrom model import Tagger\nnet = Tagger()\n",  # no accelerator anywhere
])
def test_a_model_no_module_moves_to_an_accelerator_is_left_alone(tmp_path, driver):
    files = {"model.py": MODEL, "train.py": driver, "other.py": MODEL.replace("self.width)\n        out", "self.width, device=x.device)\n        out")}
    assert codes_in(tmp_path, files, "model.py") == []


def test_a_state_built_with_the_inputs_device_is_fine(tmp_path):
    model = MODEL.replace("h0 = torch.zeros(1, x.size(1), self.width)", "h0 = x.new_zeros(1, x.size(1), self.width)")
    driver = "import torch\nfrom model import Tagger\nTagger().cuda()\n"
    assert codes_in(tmp_path, {"model.py": model, "train.py": driver}, "model.py") == []
