"""cnnlib.drill: every kind's answer equals torch's (built and run layer: output shape, numel,
FlopCounterMode, bytes, gradient span), the working ends in the answer and fits a phone, check()
accepts the answer's spellings and rejects wrong ones, formula cards are stable, bad input raises.
The JavaScript port is held against these calculators by tests/browser/test_drill_page.py."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import drill
from cnnlib.measure import torch_counts

KINDS = list(drill.KINDS)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with cnnlib.bench.one_thread():
        yield


@pytest.mark.parametrize("kind", KINDS)
def test_answers_equal_torch(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    for _ in range(60):
        p = drill.generate(kind, rng)
        assert p.kind == kind and p.unit == drill.UNITS[kind]
        assert drill.torch_answer(kind, p.args) == p.answer, p.args
        assert p.answer == drill.solve(kind, p.args)


def test_torch_answer_is_torch_on_known_layers():
    """The oracle itself, on layers whose numbers torch's documentation examples give."""
    resnet_stem = dict(in_size=224, kernel_size=7, stride=2, padding=3, dilation=1)
    assert drill.torch_answer("conv_output", resnet_stem) == 112
    vgg1 = dict(in_channels=3, out_channels=64, kernel_size=3, in_size=224, stride=1, padding=1,
                groups=1)
    counts = torch_counts(nn.Conv2d(3, 64, 3, padding=1), (1, 3, 224, 224))
    assert drill.torch_answer("macs", vgg1) == counts.macs == drill.solve("macs", vgg1)
    # receptive field of two 3×3 stride-1 convs (the VGG argument): 5, by the gradient
    assert drill.torch_answer("receptive_field", dict(layers=[[3, 1, 1, 1]] * 2)) == 5
    mem = dict(batch=32, in_channels=64, out_channels=128, kernel_size=3, in_size=56, stride=2,
               padding=1, dtype="float16")
    out = nn.Conv2d(64, 128, 3, 2, 1, device="meta")(torch.empty(32, 64, 56, 56, device="meta"))
    assert drill.solve("activation_memory", mem) == out.numel() * 2 == \
        drill.torch_answer("activation_memory", mem)


@pytest.mark.parametrize("kind", KINDS)
def test_working_ends_with_the_answer_and_fits_a_phone(kind):
    rng = np.random.default_rng(7)
    for _ in range(50):
        p = drill.generate(kind, rng)
        lines = p.working.splitlines()
        assert all(len(line) <= 80 for line in lines), p.working
        shown = (f"{p.answer.numerator}/{p.answer.denominator}" if isinstance(p.answer, Fraction)
                 else f"{p.answer:,}")
        assert shown in p.working, (shown, p.working)
        assert p.text.endswith("?") or p.text.endswith(")") or "?" in p.text


def test_options_are_drawn():
    """The generator covers every option the drill promises."""
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(400):
        p = drill.generate(None, rng)
        a = p.args
        seen.add(p.kind)
        if a.get("dilation", 1) > 1:
            seen.add(f"{p.kind}:dilation")
        if a.get("ceil_mode"):
            seen.add("ceil_mode")
        if a.get("output_padding"):
            seen.add("output_padding")
        if a.get("groups", 1) > 1:
            seen.add(f"{p.kind}:groups")
        if "bias" in a:
            seen.add(f"bias={a['bias']}")
        if p.kind == "pool_output" and a["stride"] is None:
            seen.add("pool stride None")
        if p.kind == "activation_memory":
            seen.add(a["dtype"])
    expected = set(KINDS) | {"conv_output:dilation", "transposed_output:dilation", "ceil_mode",
                             "output_padding", "grouped_params:groups", "macs:groups",
                             "bias=True", "bias=False", "pool stride None", "float32",
                             "float16", "int8"}
    assert expected <= seen, expected - seen


def test_ceil_mode_drops_a_window_starting_in_the_padding():
    """The case torch treats specially appears with its explanation."""
    a = dict(in_size=7, kernel_size=3, stride=2, padding=1, ceil_mode=True)
    assert drill.solve("pool_output", a) == drill.torch_answer("pool_output", a) == 4
    a = dict(in_size=17, kernel_size=3, stride=3, padding=1, ceil_mode=True)   # ⌈16/3⌉+1 = 7
    assert drill.solve("pool_output", a) == drill.torch_answer("pool_output", a) == 6
    text, working = drill._TEXT["pool_output"](a, 6)
    assert "drops it → 6" in working


def _problem(answer, kind="macs"):
    return drill.Problem(kind, "", answer, drill.UNITS[kind], "", {})


@pytest.mark.parametrize("text,right", [
    ("86704128", True), ("86,704,128", True), ("86 704 128", True), ("86_704_128", True),
    ("86704128 MACs", True), ("86.7M", True), ("86.7 M", True), ("87M", True), ("8.67e7", True),
    ("8670万", True), ("0.0867G", True), ("86.70M", True),
    ("90M", False), ("86.8M", False), ("86704127", False), ("86,704,129", False), ("86.7", False),
    ("8.7e7", True), ("9e7", False), ("", False), ("abc", False), ("86.7MM", False),
    ("-86704128", False), ("86.7 million", True), ("87 million FLOPs", True),
    ("0.0867 billion", True), ("86704 thousand", True), ("90 million", False), ("86.7m", False),
])
def test_check_counts(text, right):
    assert drill.check(_problem(86704128), text) is right


@pytest.mark.parametrize("text,right", [
    ("73/576", True), ("146/1152", True), ("73 / 576", True), ("0.127", True), ("0.1267", True),
    ("12.7%", True), (".127", True), ("0.13", False), ("1/9", False), ("0.126", False),
    ("0.12674", True), ("0.12673", False), ("1.27e-1", True),
])
def test_check_ratio(text, right):
    p = _problem(cnnlib.separable_cost_ratio(64, 3), "separable_ratio")
    assert drill.check(p, text) is right


@pytest.mark.parametrize("text,right", [
    ("25690112", True), ("25,690,112 bytes", True), ("25.7MB", True), ("24.5 MiB", True),
    ("24.5MiB", True), ("25088 KiB", True), ("24.6 MiB", False), ("26MB", True),
    ("24.5 MB", False), ("25088 KB", False),     # MB, KB: powers of ten
])
def test_check_memory(text, right):
    assert drill.check(_problem(25690112, "activation_memory"), text) is right


def test_check_small_integers_exact_only():
    p = _problem(56, "conv_output")
    assert drill.check(p, "56") and drill.check(p, " 56 ") and drill.check(p, "56 px")
    assert drill.check(p, "56.0")
    assert not drill.check(p, "55") and not drill.check(p, "57") and not drill.check(p, "5.6e1x")


@pytest.mark.parametrize("kind", KINDS)
def test_check_accepts_the_generated_answers(kind):
    rng = np.random.default_rng(3)
    for _ in range(40):
        p = drill.generate(kind, rng)
        ans = p.answer
        if isinstance(ans, Fraction):
            assert drill.check(p, f"{ans.numerator}/{ans.denominator}")
            assert drill.check(p, f"{float(ans):#.3g}")
            assert not drill.check(p, f"{ans.numerator + 1}/{ans.denominator}")
        else:
            assert drill.check(p, str(ans)) and drill.check(p, f"{ans:,}")
            assert not drill.check(p, str(ans + 1)) and not drill.check(p, str(ans - 1))
            if ans >= 10**6:
                assert drill.check(p, f"{ans / 1e6:.3g}M")


def test_answer_text():
    assert drill.answer_text(_problem(86704128, "flops")) == "86,704,128 FLOPs"
    assert drill.answer_text(_problem(Fraction(73, 576), "separable_ratio")) == "73/576 ≈ 0.127"
    with pytest.raises(TypeError, match="problem="):
        drill.answer_text(86704128)


def test_wording():
    """Articles as the numbers are read ("an 8×8", "an 11×11"), and a pooling layer's default
    stride named, not given away, then explained in the working."""
    text, _ = drill._TEXT["conv_output"](dict(in_size=8, kernel_size=11, stride=1, padding=5,
                                              dilation=1), 8)
    assert text.startswith("An 11×11 convolution") and "applied to an 8×8 feature" in text
    text, _ = drill._TEXT["conv_output"](dict(in_size=112, kernel_size=3, stride=1, padding=1,
                                              dilation=1), 112)
    assert text.startswith("A 3×3 convolution") and "applied to a 112×112 feature" in text
    a = dict(in_size=128, kernel_size=5, stride=None, padding=2, ceil_mode=False)
    text, working = drill._TEXT["pool_output"](a, drill.solve("pool_output", a))
    assert "stride left at its default" in text and "kernel_size" not in text
    assert "torch's default is the kernel size, s = 5" in working


def test_generate_is_reproducible():
    a = [drill.generate(None, np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    assert drill.generate("macs", 12) == drill.generate("macs", 12)


def test_formula_cards():
    cards = drill.formula_cards()
    ids = [c["id"] for c in cards]
    assert len(ids) == len(set(ids)) == 8
    assert ids == ["drill-conv-output-size", "drill-pool-output-size",
                   "drill-conv-transpose-output-size", "drill-conv-params", "drill-conv-macs",
                   "drill-receptive-field", "drill-separable-ratio", "drill-activation-memory"]
    root = cnnlib.__file__.rsplit("/cnnlib/", 1)[0]
    import os
    for c in cards:
        assert set(c) == {"id", "front", "back", "chapter"}
        assert "\\(" in c["back"] and "\\)" in c["back"]
        assert os.path.isfile(os.path.join(root, c["chapter"] + ".ipynb")), c["chapter"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind='size'"):
        drill.generate("size")
    with pytest.raises(ValueError, match="kind="):
        drill.solve("nope", {})
    with pytest.raises(ValueError, match=r"kind='params'.*missing \['in_channels'"):
        drill.solve("params", dict(out_channels=8, kernel_size=3, groups=1, bias=True))
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        drill.torch_answer("conv_output", dict(in_size=8, kernel_size=3, stride=1, padding=1,
                                               dilation=1, extra=2))
    with pytest.raises(TypeError, match="args=None"):
        drill.solve("macs", None)
    with pytest.raises(TypeError, match="rng='x'"):
        drill.generate("macs", "x")
    with pytest.raises(TypeError, match="rng=-1"):
        drill.generate("macs", -1)
    with pytest.raises(TypeError, match="problem="):
        drill.check(86704128, "86704128")
    with pytest.raises(TypeError, match="answer_text="):
        drill.check(_problem(1), 1)
    with pytest.raises(ValueError, match="answer_text='x'"):
        drill.parse_answer("x")
    with pytest.raises(ValueError, match="division by zero"):
        drill.parse_answer("1/0")
    with pytest.raises(ValueError, match="dtype='float64'"):
        drill.activation_bytes((1, 2), "float64")
    with pytest.raises(ValueError, match="shape="):
        drill.activation_bytes((1, 0), "float32")
    with pytest.raises(ValueError, match="in_channels=6 is not divisible by groups=4"):
        drill.solve("params", dict(in_channels=6, out_channels=8, kernel_size=3, groups=4,
                                   bias=True))
    from cnnlib import widgets
    with pytest.raises(ValueError, match="kind='x'"):
        widgets.drill(kind="x")


def test_widget_plays_a_problem():
    from cnnlib import widgets
    w = widgets.drill(kind="params", seed=4)
    kinds_new, question, answer_row, hint, verdict, score = w.children
    answer, check = answer_row.children
    p = drill.generate("params", np.random.default_rng(4))
    assert p.text in question.value.replace("&#x27;", "'")
    answer.value = f"{p.answer:,}"
    assert "Right" in verdict.value and "Score: 1 right of 1" in score.value
    kinds_new.children[1].click()
    answer.value = "1"
    check.click()
    assert "Wrong" in verdict.value and "P = C_out" in verdict.value
    assert "Score: 1 right of 2" in score.value
