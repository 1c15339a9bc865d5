"""HS107, HS306, HS308, HS402 and HS6xx with real torch: each rule's own bad example does what its page claims,
and its good example does not."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hs_lint.rules import all_rules  # noqa: E402
from hs_lint.runtime.confirm import REPRODUCED, confirm  # noqa: E402

RULES = all_rules()


def run(code: str, which: str, index: int = 0, **names):
    """Execute a rule's example (seeded) and return its namespace."""
    torch.manual_seed(0)
    namespace = dict(names)
    exec(compile(getattr(RULES[code], which)[index], f"{code}-{which}", "exec"), namespace)  # noqa: S102
    return namespace


def has_numpy() -> bool:
    try:
        torch.zeros(1).numpy()
    except RuntimeError:
        return False
    return True


def padded_batch(batch_first=True):
    """Two sequences of 5 and 3 steps, padded, in the given layout, with unsorted lengths [3, 5]."""
    x = torch.randn(2, 5, 8)
    x[0, 3:] = 0
    return [(x if batch_first else x.transpose(0, 1), torch.tensor([3, 5]))]


@pytest.mark.parametrize(("which", "index", "expect_grad"), [("bad", 0, False), ("bad", 1, False), ("good", 0, True)])
def test_hs107_round_trip_leaves_the_lstm_without_gradient(which, index, expect_grad):
    if (which, index) == ("bad", 0) and not has_numpy():
        pytest.skip("the .numpy() example needs numpy (the .tolist() one shows the same)")
    model = run("HS107", which, index)["Regressor"]()
    model(torch.randn(2, 5, 4)).sum().backward()
    assert all((p.grad is not None) == expect_grad for p in model.lstm.parameters())
    assert model.head.weight.grad is not None


def states_fed_to_lstm(code: str, which: str) -> list:
    """The state each nn.LSTM call of the example received, recorded by a global forward hook."""
    fed = []

    def record(module, args, output):
        if isinstance(module, torch.nn.LSTM):
            fed.append(args[1][0].clone() if len(args) > 1 else None)

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        run(code, which)
    finally:
        handle.remove()
    return fed


def test_hs306_dropped_state_makes_every_step_start_from_zero():
    bad, good = states_fed_to_lstm("HS306", "bad"), states_fed_to_lstm("HS306", "good")
    assert len(bad) == len(good) == 3
    assert all(bool((h == 0).all()) for h in bad)
    assert not any(bool((h == 0).all()) for h in good[1:])


def test_hs308_window_on_a_carried_state_is_not_the_history_read_once():
    bad = run("HS308", "bad")
    gru, history = bad["gru"], bad["history"]
    with torch.no_grad():
        x = torch.nn.functional.one_hot(torch.tensor([history[:-1]]), 8).float()
        once, _ = gru(x)
    assert not torch.allclose(once[0, -1], bad["out"][0, -1], atol=1e-5)
    good = run("HS308", "good")  # one token per step on the carried state: the history read once
    with torch.no_grad():
        x = torch.nn.functional.one_hot(torch.tensor([good["history"][:-1]]), 8).float()
        once, _ = good["gru"](x)
    assert torch.allclose(once[0, -1], good["out"][0, -1], atol=1e-5)


def test_hs601_unsorted_lengths_raise_unless_enforce_sorted_is_false():
    """The bad example's loop packs a shuffled batch as it comes and fails on the first one; the good one runs."""
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        run("HS601", "bad", print=lambda *args: None)
    shapes = []
    run("HS601", "good", print=shapes.append)
    assert shapes == [(8, 16)] * 5


def test_hs603_pack_layout_differing_from_the_module_breaks_a_batch_first_batch():
    with pytest.raises(RuntimeError):
        run("HS603", "bad", loader=padded_batch())
    assert run("HS603", "good", loader=padded_batch())["h"].shape == (1, 2, 16)


def test_hs604_packed_output_is_not_a_tensor():
    x, lengths = padded_batch()[0]
    with pytest.raises(TypeError, match="tuple indices"):
        run("HS604", "bad")["Tagger"]()(x, lengths)
    assert run("HS604", "good")["Tagger"]()(x, lengths).shape == (2, 3)


def test_hs605_last_padded_step_of_a_short_sequence_is_zeros():
    bad = run("HS605", "bad", loader=padded_batch())
    head = bad["head"]
    short = 0  # the sequence of length 3
    assert torch.allclose(bad["logits"][short], head.bias)  # head(zeros) == its bias
    good = run("HS605", "good", loader=padded_batch())
    assert not torch.allclose(good["logits"][short], good["head"].bias)


@pytest.mark.parametrize("code", ["HS107", "HS306", "HS308", "HS402", "HS601", "HS602", "HS603", "HS604", "HS605"])
def test_confirm_measures_the_effect(code):
    result = confirm(code, {"kind": "LSTM", "expected": True, "method": None})
    assert result.status == REPRODUCED, result.detail


def test_confirm_of_retain_variables_is_torchs_type_error():
    result = confirm("HS105", {"old_spelling": True})
    with pytest.raises(TypeError) as info:
        torch.ones(1, requires_grad=True).sum().backward(retain_variables=True)
    assert result.status == REPRODUCED and str(info.value) in result.detail


def test_hs307_each_clip_starts_from_the_previous_clips_state():
    """A detached state is still the previous clip's: only a reset starts the next clip from zeros."""

    def states(which):
        fed = []

        def hook(module, args, output):
            if isinstance(module, torch.nn.LSTM):
                fed.append(args[1] if len(args) > 1 else None)

        handle = torch.nn.modules.module.register_module_forward_hook(hook)
        try:
            run("HS307", which, clips=[(torch.randn(4, 1, 12), torch.tensor([1])) for _ in range(3)])
        finally:
            handle.remove()
        return fed

    bad, good = states("bad"), states("good")
    assert len(bad) == len(good) == 3
    assert bad[0] is None and all(s is not None and not bool((s[0] == 0).all()) for s in bad[1:])
    assert all(s is None for s in good)


@pytest.mark.parametrize(("which", "mixes"), [("bad", True), ("good", False)])
def test_hs211_a_state_without_batch_axis_mixes_the_samples_of_a_batch(which, mixes):
    """The bad example's Tagger reads a DataLoader batch as one sequence: changing sample 0 changes the output of
    sample 1. The good example's does not."""
    model = run("HS211", which)["Tagger"]().eval()
    batch = torch.randn(8, 20)
    changed = batch.clone()
    changed[0] += 1.0
    with torch.no_grad():
        before, after = model(batch), model(changed)
    assert before.shape == (8, 3)
    assert (not torch.allclose(before[1], after[1])) == mixes
    assert not torch.allclose(before[0], after[0])


def test_hs211_an_extra_axis_fails_in_torch():
    with pytest.raises(RuntimeError, match="3-D"):
        run("HS211", "bad", 1)


def test_hs605_an_unpacked_padded_batch_runs_on_past_the_end_of_a_short_sequence():
    """Without packing, out[:, -1] of the shorter sequence is its state after the padding, not at its last step."""
    from torch.nn.utils.rnn import pad_sequence

    gru = torch.nn.GRU(4, 6, batch_first=True)
    short, long = torch.randn(3, 4), torch.randn(5, 4)
    with torch.no_grad():
        out, _ = gru(pad_sequence([short, long], batch_first=True))
        alone, _ = gru(short.unsqueeze(0))
    assert torch.allclose(out[0, 2], alone[0, -1], atol=1e-6)  # its real last step
    assert not torch.allclose(out[0, -1], alone[0, -1], atol=1e-3)  # what out[:, -1] reads: two padding steps on


@pytest.mark.parametrize(("which", "mixed"), [("bad", True), ("good", False)])
def test_hs212_a_view_used_as_a_transpose_cuts_up_the_sequences(which, mixed):
    """The first bad example's Tagger views a batch-first batch as time-major: the LSTM's step 0 then holds steps
    of several samples, so each sample's output depends on the others. The good example transposes."""
    model = run("HS212", which)["Tagger"]().eval()
    batch = torch.randn(4, 6, 16)
    changed = batch.clone()
    changed[0] += 1.0
    with torch.no_grad():
        before, after = model(batch), model(changed)
    before, after = before.reshape(6, 4, 32), after.reshape(6, 4, 32)  # the good one returns (steps * batch, 32)
    assert (not torch.allclose(before[:, 1], after[:, 1])) == mixed


@pytest.mark.parametrize(("moved", "status"), [([1, 0], "confirmed"), ([0, 1], "refuted")])
def test_confirm_hs212_labels_each_value_with_its_axis(moved, status):
    """``moved``: the source axes found at target positions 0 and 1 (a swap, or the order kept)."""
    data = {"source": [3, "n", 16], "target": ["t", "b", -1], "moved": moved, "positions": [0, 1],
            "axes": [[0, moved[0]], [1, moved[1]]]}
    verdict = confirm("HS212", data)
    assert verdict.status == status, verdict.detail


def samples_seen(code: str, which: str) -> tuple[int, int]:
    """(samples the example's recurrent module ran on, samples in its dataset), counted by a forward hook."""
    seen = []

    def count(module, args, output):
        if isinstance(module, torch.nn.RNNBase):
            seen.append(args[0].size(0))

    handle = torch.nn.modules.module.register_module_forward_hook(count)
    try:
        namespace = run(code, which, print=lambda *args: None)
    finally:
        handle.remove()
    dataset = namespace.get("test_set") or namespace["train_set"]
    return sum(seen), len(dataset)


@pytest.mark.parametrize("code", ["HS213", "HS214"])
def test_hs213_hs214_the_skip_leaves_samples_out_and_the_fixed_state_is_why(code):
    assert samples_seen(code, "bad") == (96, 100)  # batches of 32: the last 4 samples are never run
    assert samples_seen(code, "good") == (100, 100)
    source = RULES[code].bad[0]
    skip = "        if x.size(0) != BATCH:\n            continue\n" if code == "HS213" else (
        "    if len(x) < BATCH:\n        break\n")
    assert skip in source
    with pytest.raises(RuntimeError, match="Expected hidden"):  # without the skip, the last batch fails
        exec(compile(source.replace(skip, ""), code, "exec"), {"print": lambda *args: None})  # noqa: S102


@pytest.mark.parametrize(("reset", "same"), [(False, False), (True, True)])
def test_hs309_a_second_run_continues_from_the_state_the_first_left(reset, same):
    """The bad example's Tagger run twice on one chunk: the second output is computed from a state that has
    read the chunk already, unless the state is reset between."""
    model = run("HS309", "bad")["Tagger"]().eval()
    x = torch.randn(5, 2, 8)
    with torch.no_grad():
        first = model(x)
        if reset:
            model.hidden = None
        second = model(x)
    assert torch.allclose(first, second) == same


def test_hs310_the_state_passed_makes_no_difference_where_forward_ignores_it():
    """The bad example's model gives the same output whatever state it is handed (a zero state's); the good
    one's output depends on it. A forward with no parameter for the state raises."""
    tokens = torch.randint(0, 100, (2, 7))
    state = (torch.randn(1, 2, 64), torch.randn(1, 2, 64))
    ignoring, reading = run("HS310", "bad")["CharModel"](), run("HS310", "good")["CharModel"]()
    reading.load_state_dict(ignoring.state_dict())
    with torch.no_grad():
        assert torch.equal(ignoring(tokens, state)[0], ignoring(tokens, None)[0])
        assert torch.equal(ignoring(tokens, state)[0], reading(tokens, None)[0])
        assert not torch.allclose(reading(tokens, state)[0], reading(tokens, None)[0])
    with pytest.raises(TypeError, match="positional argument"):
        run("HS310", "bad", 1)["Tagger"]()(torch.randn(3, 2, 8), torch.zeros(1, 2, 16))
