"""Torch's own verdict on every bad shape fixture case, so the fixtures cannot drift from torch's truth.

Each case is the runnable core of one ``# expect: HS2xx`` line in ``fixtures/bad/shape_*.py``, at
tiny sizes where the fixture's sizes do not matter: the same module configuration, the same state
or input layout. Torch either raises with the message quoted here, warns, or (for the silent
rules HS207/HS208) the snippet's assertions show the wrong shape or meaning.
"""

from __future__ import annotations

import re
import warnings

import pytest

from conftest import FIXTURES, expected_marks

torch = pytest.importorskip("torch")
nn = torch.nn

# (fixture, code, source excerpt that the fixture line contains, snippet, torch's error or None)
CASES = [
    ("shape_batch_first_hidden.py", "HS201", "torch.zeros(batch_size, self.num_layers, self.hidden)", """
lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)
x = torch.randn(3, 5, 4)
lstm(x, (torch.zeros(3, 2, 6), torch.zeros(3, 2, 6)))
""", "Expected hidden[0] size (2, 3, 6), got [3, 2, 6]"),
    ("shape_batch_first_hidden.py", "HS201", "x.new_zeros(x.size(0), self.num_layers * 2", """
gru = nn.GRU(4, 6, 2, batch_first=True, bidirectional=True)
x = torch.randn(3, 5, 4)
gru(x, x.new_zeros(x.size(0), 2 * 2, 6))
""", "Expected hidden size (4, 3, 6), got [3, 4, 6]"),
    ("shape_batch_first_hidden.py", "HS201", "torch.randn(BATCH, 1, HIDDEN)", """
rnn = nn.RNN(10, 20, batch_first=True)
rnn(torch.randn(16, 35, 10), torch.randn(16, 1, 20))
""", "Expected hidden size (1, 16, 20), got [16, 1, 20]"),
    ("shape_layers.py", "HS202", "torch.zeros(self.num_layers, batch, self.hidden)", """
lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True)
h = torch.zeros(2, 3, 6)
lstm(torch.randn(5, 3, 4), (h, h.clone()))
""", "Expected hidden[0] size (4, 3, 6), got [2, 3, 6]"),
    ("shape_layers.py", "HS202", "weight.new(1, bsz, self.nhid).zero_()", """
rnn = nn.GRU(4, 6, 2)
weight = next(rnn.parameters())
rnn(torch.randn(7, 20, 4), weight.new(1, 20, 6).zero_())
""", "Expected hidden size (2, 20, 6), got [1, 20, 6]"),
    ("shape_layers.py", "HS202", "h0 = torch.zeros(1, 4, 20)", """
lstm = nn.LSTM(10, 20, 3)
lstm(torch.randn(5, 4, 10), (torch.zeros(1, 4, 20), torch.zeros(1, 4, 20)))
""", "Expected hidden[0] size (3, 4, 20), got [1, 4, 20]"),
    ("shape_layers.py", "HS202", "c0 = torch.zeros(1, 4, 20)", """
lstm = nn.LSTM(10, 20, 3)
lstm(torch.randn(5, 4, 10), (torch.zeros(3, 4, 20), torch.zeros(1, 4, 20)))
""", "Expected hidden[1] size (3, 4, 20), got [1, 4, 20]"),
    ("shape_hidden_size.py", "HS203", "h0 = torch.zeros(2, x.size(1), HIDDEN)", """
lstm = nn.LSTM(5, 8, num_layers=2, proj_size=3)
x = torch.randn(7, 4, 5)
lstm(x, (torch.zeros(2, x.size(1), 8), torch.zeros(2, x.size(1), 8)))
""", "Expected hidden[0] size (2, 4, 3), got [2, 4, 8]"),
    ("shape_hidden_size.py", "HS203", "c = torch.zeros(batch, self.embed_dim)", """
cell = nn.LSTMCell(4, 6)
cell(torch.randn(3, 4), (torch.zeros(3, 6), torch.zeros(3, 4)))
""", "hidden1 has inconsistent hidden_size: got 4, expected 6"),
    ("shape_hidden_size.py", "HS203", "state = torch.zeros(1, 8, cfg.embed)", """
decoder = nn.GRU(4, 6, batch_first=True)
decoder(torch.randn(8, 12, 4), torch.zeros(1, 8, 4))
""", "Expected hidden size (1, 8, 6), got [1, 8, 4]"),
    ("shape_batch.py", "HS204", "h0 = torch.zeros(1, x.size(0), self.hidden)", """
gru = nn.GRU(10, 20)
x = torch.randn(5, 3, 10)
gru(x, torch.zeros(1, x.size(0), 20))
""", "Expected hidden size (1, 3, 20), got [1, 5, 20]"),
    ("shape_batch.py", "HS204", "frame.new_zeros(frame.shape[1], 64)", """
cell = nn.GRUCell(32, 64)
frame = torch.randn(3, 32)
cell(frame, frame.new_zeros(frame.shape[1], 64))
""", "Input batch size 3 doesn't match hidden0 batch size 32"),
    ("shape_text_iterator.py", "HS204", "torch.zeros(self.layers, BATCH_SIZE, self.hidden", """
gru = nn.GRU(100, 256, num_layers=2)
embedded = torch.randn(12, 100 - 64, 100)  # a BucketIterator's last batch: 100 examples in batches of 64
gru(embedded, torch.zeros(2, 64, 256))
""", "Expected hidden size (2, 36, 256), got [2, 64, 256]"),
    ("shape_batch.py", "HS204", "torch.zeros(1, self.batch_size, 32)", """
from torch.utils.data import DataLoader, TensorDataset
lstm = nn.LSTM(8, 32, batch_first=True)
loader = DataLoader(TensorDataset(torch.randn(70, 5, 8)), batch_size=64)
for (window,) in loader:
    lstm(window, (torch.zeros(1, 64, 32), torch.zeros(1, 64, 32)))
""", "Expected hidden[0] size (1, 6, 32), got [1, 64, 32]"),
    ("shape_arity.py", "HS205", "self.rnn(x, self.init_hidden(x.size(1)))", """
lstm = nn.LSTM(4, 6, 2)
x = torch.randn(5, 3, 4)
lstm(x, torch.zeros(2, x.size(1), 6))
""", "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 2-D) tensors"),
    ("shape_arity.py", "HS205", "out, (h_n, c_n) = self.gru(x, (h0, c0))", """
gru = nn.GRU(4, 6, num_layers=2)
gru(torch.randn(5, 3, 4), (torch.zeros(2, 3, 6), torch.zeros(2, 3, 6)))
""", "'tuple' object has no attribute 'dim'"),
    ("shape_arity.py", "HS205", "out, (h_n, c_n) = self.gru(x, (h0, c0))", """
gru = nn.GRU(4, 6, num_layers=2)
out, (h_n, c_n) = gru(torch.randn(5, 3, 4), torch.zeros(2, 3, 6))
# no error with 2 layers: "c_n" is silently the second layer's hidden state
assert h_n.shape == c_n.shape == (3, 6)
""", None),
    ("shape_arity.py", "HS205", "h, c = cell(frame, h)", """
cell = nn.GRUCell(10, 20)
h, c = cell(torch.randn(3, 10), torch.zeros(3, 20))
""", "too many values to unpack (expected 2)"),
    ("shape_aliased_class.py", "HS205", "encoder(x, start)", """
Cell = nn.LSTM
encoder = Cell(16, 32)
encoder(torch.randn(5, 3, 16), torch.zeros(1, 3, 32))
""", "index 1 is out of bounds for dimension 0 with size 1"),
    ("shape_aliased_class.py", "HS205", "decoder(out, start)", """
decoder = getattr(nn, "LSTM")(32, 32)
decoder(torch.randn(5, 3, 32), torch.zeros(1, 3, 32))
""", "index 1 is out of bounds for dimension 0 with size 1"),
    ("shape_input_layout.py", "HS206", "self.lstm(self.embedding(tokens))", """
embedding = nn.Embedding(50, 4)
lstm = nn.LSTM(6, 6, batch_first=True)
lstm(embedding(torch.randint(0, 50, (3, 5))))
""", "input.size(-1) must be equal to input_size. Expected 6, got 4"),
    ("shape_input_layout.py", "HS206", "self.second(both_directions)", """
first = nn.LSTM(4, 6, bidirectional=True)
second = nn.LSTM(6, 6)
both_directions, _ = first(torch.randn(5, 3, 4))
second(both_directions)
""", "input.size(-1) must be equal to input_size. Expected 6, got 12"),
    ("shape_input_layout.py", "HS206", "gru(audio, h0)", """
gru = nn.GRU(13, 64, batch_first=True)
gru(torch.randn(50, 8, 13), torch.zeros(1, 8, 64))
""", "Expected hidden size (1, 50, 64), got [1, 8, 64]"),
    ("shape_last_step.py", "HS207", "self.fc(out[-1])", """
lstm = nn.LSTM(4, 6, batch_first=True)
x = torch.randn(3, 5, 4)
out, _ = lstm(x)
assert out[-1].shape == (5, 6)  # (seq, hidden) of the last batch item, not (batch, hidden)
assert out[:, -1].shape == (3, 6)
""", None),
    ("shape_last_step.py", "HS207", "out[:, -1, :]", """
gru = nn.GRU(4, 6)
x = torch.randn(5, 3, 4)
out, h_n = gru(x)
assert out[:, -1, :].shape == (5, 6)  # every time step of the last batch item
assert torch.allclose(out[-1], h_n[-1])  # the last time step is out[-1]
""", None),
    ("shape_last_step.py", "HS210", "self.fc(out[:, -1])", """
lstm = nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True)
out, (h_n, c_n) = lstm(torch.randn(3, 5, 4))
backward_half = out[:, -1, 6:]  # the backward direction after its first step only
assert not torch.allclose(backward_half, h_n[-1])
assert torch.allclose(out[:, 0, 6:], h_n[-1])  # its summary of the sentence is at step 0
""", None),
    ("shape_last_step.py", "HS207", "h_n[-1]", """
lstm = nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True)
out, (h_n, c_n) = lstm(torch.randn(3, 5, 4))
assert torch.allclose(h_n[-1], out[:, 0, 6:])  # the backward direction only
assert torch.allclose(h_n[-2], out[:, -1, :6])
""", None),
    ("shape_hidden_view.py", "HS208", "h_n.view(x.size(0), -1)", """
gru = nn.GRU(4, 6, bidirectional=True, batch_first=True)
x = torch.randn(3, 5, 4)
_, h_n = gru(x)
rows = h_n.view(x.size(0), -1)
assert not torch.equal(rows, h_n.transpose(0, 1).reshape(x.size(0), -1))
assert torch.equal(rows[0, 6:], h_n[0, 1])  # row 0 ends with batch item 1's forward state
""", None),
    ("shape_hidden_view.py", "HS208", "h_n.reshape(-1, 2 * self.hidden)", """
lstm = nn.LSTM(4, 6, num_layers=2)
_, (h_n, _) = lstm(torch.randn(5, 3, 4))
rows = h_n.reshape(-1, 2 * 6)
assert torch.equal(rows[0, 6:], h_n[0, 1])  # layer 0 of items 0 and 1, not layers 0 and 1 of item 0
""", None),
    ("shape_hidden_view.py", "HS208", "final.view(batch_size, 3, 24)", """
encoder = nn.GRU(8, 24, num_layers=3)
_, final = encoder(torch.randn(10, 4, 8))
features = final.view(4, 3, 24)
assert torch.equal(features[0, 1], final[0, 1])  # item 0's "layer 1" is layer 0 of item 1
""", None),
    ("shape_view_axes.py", "HS212", "frames.view(steps, batch_size, -1)", """
frames = torch.arange(2 * 3).float().view(2, 3, 1)  # 2 samples of 3 steps, batch-first
viewed = frames.view(3, 2, -1)
assert viewed[0, :, 0].tolist() == [0.0, 1.0]  # "step 0" holds steps 0 and 1 of sample 0
assert frames.transpose(0, 1)[0, :, 0].tolist() == [0.0, 3.0]  # step 0 of samples 0 and 1
""", None),
    ("shape_view_axes.py", "HS212", "out.reshape(batch, seq_len, -1)", """
gru = nn.GRU(4, 6)
out, _ = gru(torch.randn(5, 3, 4))  # time-major: (seq_len 5, batch 3, 6)
per_sample = out.reshape(3, 5, -1)
assert torch.equal(per_sample[0, 1], out[0, 1])  # "sample 0, step 1" is step 0 of sample 1
assert not torch.equal(per_sample[0, 1], out[1, 0])  # not step 1 of sample 0
""", None),
    ("shape_view_axes.py", "HS212", "series.contiguous().view((t, b, 1))", """
series = torch.arange(2 * 4).float().view(2, 4)  # (batch 2, steps 4)
windows = series.contiguous().view((4, 2, 1))
assert windows[0, :, 0].tolist() == [0.0, 1.0]  # "step 0" of both samples is steps 0 and 1 of sample 0
assert series.t()[0].tolist() == [0.0, 4.0]
""", None),
    ("shape_reused_names.py", "HS207", "self.fc(x[-1])", """
lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
x = torch.randn(3, 5, 4)
x, _ = lstm(x)
assert x[-1].shape == (5, 12)  # every step of the last batch item
""", None),
    ("shape_reused_names.py", "HS208", "h.view(tokens.size(0), -1)", """
gru = nn.GRU(4, 6, num_layers=2, batch_first=True)
tokens = torch.randn(3, 5, 4)
out, h = gru(tokens)
rows = h.view(tokens.size(0), -1)
assert torch.equal(rows[0, 6:], h[0, 1])  # layer 0 of item 1, not layer 1 of item 0
""", None),
    ("shape_helpers_read_outputs.py", "HS207", "final_step(states)", """
gru = nn.GRU(4, 6, num_layers=2, batch_first=True, bidirectional=True)
states, h_n = gru(torch.randn(3, 5, 4))
assert states[-1].shape == (5, 12)  # the last batch item, all steps
""", None),
    ("shape_helpers_read_outputs.py", "HS208", "self.summarise(h_n, tokens.size(0))", """
gru = nn.GRU(4, 6, num_layers=2, batch_first=True, bidirectional=True)
states, h_n = gru(torch.randn(3, 5, 4))
rows = h_n.view(3, -1)
assert torch.equal(rows[0, 6:12], h_n[0, 1]) and torch.equal(rows[0, 18:24], h_n[1, 0])
assert not torch.equal(rows, h_n.transpose(0, 1).reshape(3, -1))  # item 0's row holds other items' states
""", None),
    ("shape_config_sources.py", "HS202", "h0 = torch.zeros(1, frames.size(0), args.hidden)", """
gru = nn.GRU(40, 256, num_layers=2, batch_first=True)
frames = torch.randn(3, 7, 40)
gru(frames, torch.zeros(1, frames.size(0), 256))
""", "Expected hidden size (2, 3, 256), got [1, 3, 256]"),
    ("shape_config_sources.py", "HS209", 'dropout=SETTINGS.get("dropout", 0.0)', "nn.LSTM(40, 128, dropout=0.3)",
     "but got dropout=0.3 and num_layers=1"),
    ("shape_config_sources.py", "HS207", "self.out(states[-1])", """
lstm = nn.LSTM(**dict(input_size=40, hidden_size=64, batch_first=True))
states, _ = lstm(torch.randn(3, 7, 40))
assert states[-1].shape == (7, 64)  # the last batch item's every step
""", None),
    ("shape_dropout.py", "HS209", "nn.LSTM(embed, hidden, dropout=0.5", "nn.LSTM(4, 6, dropout=0.5, batch_first=True)",
     "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects num_layers "
     "greater than 1, but got dropout=0.5 and num_layers=1"),
    ("shape_dropout.py", "HS209", "dropout=cfg.dropout", "nn.GRU(6, 6, num_layers=1, dropout=0.3)",
     "but got dropout=0.3 and num_layers=1"),
    ("shape_dropout.py", "HS209", 'nn.RNN(10, 20, 1, "tanh", True, False, DROPOUT)',
     'nn.RNN(10, 20, 1, "tanh", True, False, 0.25)', "but got dropout=0.25 and num_layers=1"),
]
# A shuffled DataLoader's batch: the samples of a 2-D batch read as one sequence, or as the time axis.
_SHUFFLED = """
from torch.utils.data import DataLoader, TensorDataset
batch, _ = next(iter(DataLoader(TensorDataset(torch.randn(16, 4), torch.zeros(16)), batch_size=8, shuffle=True)))
"""
CASES += [
    ("shape_state_rank.py", "HS211", "h0 = torch.zeros(self.layers, self.hidden)", _SHUFFLED + """
lstm = nn.LSTM(4, 6, num_layers=2)
out, (h_n, c_n) = lstm(batch, (torch.zeros(2, 6), torch.zeros(2, 6)))
assert out.shape == (8, 6) and h_n.shape == (2, 6)  # one sequence of 8 steps, one state for the batch
changed = batch.clone()
changed[0] += 1
assert not torch.allclose(lstm(changed, (torch.zeros(2, 6), torch.zeros(2, 6)))[0][1], out[1])  # sample 1 sees 0
""", None),
    ("shape_state_rank.py", "HS211", "c0 = torch.zeros(self.layers, self.hidden)", _SHUFFLED + """
lstm = nn.LSTM(4, 6, num_layers=2)
out, _ = lstm(batch, (torch.zeros(2, 6), torch.zeros(2, 6)))
assert out.shape == (8, 6)
""", None),
    ("shape_state_rank.py", "HS211", "h = frames.new_zeros(self.hidden)", _SHUFFLED + """
nn.GRUCell(4, 6)(batch, batch.new_zeros(6))
""", "Input batch size 8 doesn't match hidden0 batch size 6"),
    ("shape_state_rank.py", "HS211", ".unsqueeze(0)", """
gru = nn.GRU(4, 6, 2)
x = torch.randn(5, 3, 4)
gru(x, torch.zeros(2, x.size(1), 6).unsqueeze(0))
""", "For batched 3-D input, hx should also be 3-D but got 4-D tensor"),
    ("shape_state_rank.py", "HS211", "h0 = torch.zeros(2, 20)", """
lstm = nn.LSTM(4, 6, num_layers=2)
lstm(torch.randn(5, 3, 4), (torch.zeros(2, 6), torch.zeros(2, 3, 6)))
""", "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D) tensors"),
    ("shape_loader_layout.py", "HS206", "output, state = self.lstm(embed, prev_state)", _SHUFFLED + """
embedded = torch.stack([batch] * 3, dim=1)  # (samples, steps, features), as an embedding of the batch is
lstm = nn.LSTM(4, 6)
out, (h_n, c_n) = lstm(embedded)
assert h_n.shape == (1, 3, 6)  # one state per step position, none per sample: the 8 samples ran as time
""", None),
    ("shape_loader_layout.py", "HS206", "out, _ = self.gru(frames)", _SHUFFLED + """
gru = nn.GRU(4, 6)
out, h_n = gru(batch)
assert h_n.shape == (1, 6)  # a 2-D batch is one unbatched sequence of its 8 samples
""", None),
    ("shape_text_field_layout.py", "HS206", "_, hidden = self.gru(embedded)", """
embedded = torch.randn(7, 3, 4)  # a Field's batch of 3 headlines of 7 words, (seq_len, batch), embedded
gru = nn.GRU(4, 6, batch_first=True)
_, hidden = gru(embedded)
assert hidden.shape == (1, 7, 6)  # one state per word position, none per headline: the headlines ran as time
""", None),
    ("shape_padded_layout.py", "HS206", "output, _ = self.lstm(self.embedding(tokens))", """
from torch.nn.utils.rnn import pad_sequence
padded = pad_sequence([torch.randint(1, 9, (5,)), torch.randint(1, 9, (3,))])
assert padded.shape == (5, 2)  # (seq_len, batch) unless batch_first=True
lstm = nn.LSTM(4, 6, batch_first=True)
output, _ = lstm(nn.Embedding(10, 4)(padded))
assert output.shape == (5, 2, 6)  # read as 5 samples of 2 steps: the 2 utterances ran as time
""", None),
]
IDS = [f"{code}-{fixture}-{i}" for i, (fixture, code, *_) in enumerate(CASES)]


@pytest.mark.parametrize(("fixture", "code", "excerpt", "snippet", "error"), CASES, ids=IDS)
def test_torch_agrees_with_the_fixture(fixture, code, excerpt, snippet, error):
    path = FIXTURES / "bad" / fixture
    lines = path.read_text(encoding="utf-8").splitlines()
    marked = {line for line, mark in expected_marks(path) if mark == code}
    assert any(excerpt in lines[line - 1] for line in marked), f"no {code} mark on a line with {excerpt!r}"
    namespace = {"torch": torch, "nn": nn}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if error is None or code == "HS209":
            exec(snippet, namespace)  # noqa: S102 - our own test data
        else:
            with pytest.raises(Exception, match=re.escape(error)):
                exec(snippet, namespace)  # noqa: S102
    if code == "HS209":
        assert any(error in str(w.message) for w in caught)


def test_every_bad_shape_mark_has_a_torch_case():
    covered = {(fixture, code, excerpt) for fixture, code, excerpt, *_ in CASES}
    for path in sorted((FIXTURES / "bad").glob("shape_*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, code in expected_marks(path):
            if not code.startswith("HS2"):
                continue  # e.g. HS401 on the same line: a device claim, not a shape claim
            assert any(f == path.name and c == code and e in lines[line - 1] for f, c, e in covered), (
                f"{path.name}:{line} {code} has no torch case"
            )
