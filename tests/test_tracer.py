"""The tracer's bookkeeping: dimension roles through reshapes, the dataflow graph, and never breaking a model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import PASSING_MODEL
from torch import nn

from archcheck import api
from archcheck.config import resolve
from archcheck.records import BATCH, CHANNEL, PART, SPACE
from archcheck.tracing import layout, ops
from archcheck.tracing.recorder import Recorder
from archcheck.tracing.step import trace_model

NCHW = (2, 16, 7, 7)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ((2, 16, 49), ((BATCH,), (CHANNEL,), (SPACE,))),  # x.flatten(2): positions stay positions
        ((2, 784), ((BATCH,), (CHANNEL, SPACE))),  # x.flatten(1): channels and positions together
        ((2, 784, 1, 1), ((BATCH,), (CHANNEL, SPACE), (), ())),  # ... even reshaped to a "1×1 map"
        ((2, 4, 4, 7, 7), ((BATCH,), (CHANNEL,), (CHANNEL,), (SPACE,), (SPACE,))),  # channel groups
    ],
)
def test_reshape_roles(after, expected) -> None:
    assert layout.roles(layout.reshaped(layout.default_dims(NCHW), NCHW, after)) == expected


def test_a_flattened_map_split_back_holds_channels_and_positions_again() -> None:
    """``x.view(b, -1).view(b, c, -1)`` is a GAP's input again, not a mix."""
    flat = layout.reshaped(layout.default_dims(NCHW), NCHW, (2, 784))
    back = layout.reshaped(flat, (2, 784), (2, 16, 49))
    assert layout.roles(back) == ((BATCH,), (CHANNEL,), (SPACE,))


def test_misaligned_reshapes_mix_what_they_touch() -> None:
    roles = layout.roles(layout.reshaped(layout.default_dims((2, 6, 5, 5)), (2, 6, 5, 5), (2, 15, 10)))
    assert roles[0] == (BATCH,)
    assert set(roles[1]) == set(roles[2]) == {CHANNEL, SPACE}


def test_the_one_channel_of_a_grey_image_is_a_channel() -> None:
    assert layout.roles(layout.default_dims((2, 1, 28, 28)))[1] == (CHANNEL,)
    pooled = layout.reshaped(layout.default_dims((2, 16, 1, 1)), (2, 16, 1, 1), (2, 16))
    assert layout.roles(pooled) == ((BATCH,), (CHANNEL,))


def _trace(model: nn.Module, shape=(1, 8, 8)):
    request = replace(resolve(None).request(path=""), input_shape=shape)
    return trace_model(model, type(model).__name__, None, request, "cpu")


def test_permutes_and_crops_are_followed() -> None:
    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            channels_last = y.permute(0, 2, 3, 1).mean((1, 2))
            crop = y[:, :, :3, :].mean((2, 3))
            return channels_last + crop

    reductions = [op for op in _trace(Probe()).ops if op.kind == "reduce"]
    assert [op.attrs["layout"] for op in reductions] == [
        ((BATCH,), (SPACE,), (SPACE,), (CHANNEL,)),
        ((BATCH,), (CHANNEL,), (PART,), (SPACE,)),
    ]


def test_every_recorded_operation_knows_whether_its_result_reaches_the_output() -> None:
    class SideBranch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.side = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            self.kept = self.side(x)  # computed, never used
            return self.conv(x).mean((2, 3))

    trace = _trace(SideBranch())
    reaches = {op.module: op.reaches_output for op in trace.ops if op.kind == "conv"}
    assert reaches == {"conv": True, "side": False}
    mean = next(op for op in trace.ops if op.kind == "reduce")
    conv = next(op for op in trace.ops if op.module == "conv")
    assert mean.inputs == [conv.id]


def test_a_result_multiplied_by_zero_does_not_contribute() -> None:
    class Zeroed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            x = self.conv(x)
            return (x + 0 * self.bn(x)).mean((2, 3))

    bn = next(op for op in _trace(Zeroed()).ops if op.kind == "batch_norm")
    assert bn.reaches_output and bn.contributes is False


def test_the_training_step_runs_with_gradients_on() -> None:
    seen = []

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            seen.append((torch.is_grad_enabled(), self.training))
            return self.conv(x).mean((2, 3))

    with torch.no_grad():  # even when the caller is not
        _trace(Spy())
    # the training step first; then the pass accuracy is measured with, which forbidding rules also judge
    assert seen == [(True, True), (False, False)]


def test_max_pooling_only_in_eval_mode_fails_no_maxpool() -> None:
    class EvalPool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2)
            self.head = nn.Conv2d(8, 10, 1)

        def forward(self, x):
            x = self.conv(x)
            if not self.training:
                x = F.max_pool2d(x, 2)
            return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)

    rule = api.check(EvalPool(), preset="cifar10").rule("no-maxpool")
    assert not rule.passed
    assert rule.message.startswith("in eval mode (as accuracy is measured, under no_grad): 1 max pool")


def test_an_eval_mode_pass_that_fails_leaves_a_note_and_the_training_step_judged() -> None:
    class TrainOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            if not self.training:
                raise RuntimeError("eval is not supported")
            return self.conv(x).mean((2, 3))

    report = api.check(TrainOnly(), ignore=["batchnorm", "dropout", "num-classes"])
    assert report.passed
    assert any("eval-mode forward pass failed (RuntimeError: eval is not supported)" in n for n in report.notes)


def test_an_operation_the_recorder_cannot_describe_is_reported_not_fatal(tmp_path, monkeypatch) -> None:
    def unreadable(*args):
        raise TypeError("an argument form this describer does not know")

    monkeypatch.setitem(ops.DESCRIBERS, "mean", unreadable)
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = api.check_file(str(tmp_path / "model.py"), isolate=False)
    assert report.error is None
    assert "could not read the arguments of aten.mean, so it was not checked" in report.notes


def test_the_recorder_leaves_tensors_alone() -> None:
    """Recording changes no value: the traced output equals a plain forward pass."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)).eval()
    x = torch.randn(2, 1, 8, 8)
    expected = model(x)
    recorder = Recorder(model, x)
    with recorder.recording():
        got = model(x)
    assert torch.equal(got, expected)
    assert [node.name for node in recorder.nodes if node.recorded] == ["convolution", "addmm"]


def test_a_layer_built_by_a_helper_points_at_the_line_that_called_the_helper(tmp_path) -> None:
    """Each layer gets its own line: the model's line that called the helper, not the helper's one line."""
    source = (
        "import torch.nn as nn\n"
        "\n"
        "\n"
        "def dense(n_in, n_out):\n"
        "    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU())\n"
        "\n"
        "\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.one = dense(784, 16)\n"
        "        self.two = dense(16, 10)\n"
        "\n"
        "    def forward(self, x):\n"
        "        return self.two(self.one(x.flatten(1)))\n"
    )
    (tmp_path / "model.py").write_text(source)
    report = api.check_file(str(tmp_path / "model.py"), ["--no-config"], isolate=False)
    lines = sorted(finding.line for finding in report.rule("no-linear").findings)
    assert lines == [11, 12]


@pytest.mark.parametrize(
    "name",
    [
        "clean_pass",
        "fc_linear",
        "gap_global_max",
        "bn_declared_unused",
        "dropout_zero",
        "no_linear_cosine_classifier",
        "no_linear_mlp_after_gap",
        "gap_stored_for_plotting",
    ],
)
def test_the_meta_device_gives_the_verdicts_of_real_tensors(name: str) -> None:
    """Large models are traced on meta (shapes only, no values); the dataflow verdicts are the same there."""
    path = str(Path(__file__).parent / "corpus" / f"{name}.py")
    on_cpu = api.check_file(path, ["--no-config", "--device", "cpu"], isolate=False)
    on_meta = api.check_file(path, ["--no-config", "--device", "meta"], isolate=False)
    assert on_meta.device == "meta"
    assert {r.id: r.passed for r in on_meta.rules} == {r.id: r.passed for r in on_cpu.rules}
    assert on_meta.macs == on_cpu.macs
    assert [layer.receptive_field for layer in on_meta.layers] == [layer.receptive_field for layer in on_cpu.layers]


def test_a_lazy_model_is_checked_in_process_and_left_unmaterialised() -> None:
    model = nn.Sequential(
        nn.LazyConv2d(8, 3),  # 1*8*9 + 8 = 80 once it has seen the grey input
        nn.LazyBatchNorm2d(),  # 16
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.LazyConv2d(10, 1),  # 8*10 + 10 = 90
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    report = api.check(model)
    assert report.error is None and report.notes == []  # materialising the parameters is not a model operation
    assert report.params is not None and report.params.total == 186
    assert all(result.passed for result in report.rules), [r.message for r in report.rules if not r.passed]
    assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)  # the check ran on a copy


class _NumpyHead(nn.Module):
    """A conv body whose head is computed in NumPy from the activations, optionally with a learned weight."""

    def __init__(self, learned: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.1), nn.Conv2d(8, 10, 1)
        )
        self.fc = nn.Linear(10 * 26 * 26, 10) if learned else None

    def forward(self, x):
        x = self.body(x)
        flat = x.detach().numpy().reshape(x.shape[0], -1)
        matrix = self.fc.weight.detach().numpy().T if self.fc is not None else np.ones((flat.shape[1], 10), "float32")
        return x.mean((2, 3)) + torch.from_numpy(flat @ matrix)


def test_a_layer_computed_in_numpy_from_the_activations_is_seen_leaving_and_coming_back() -> None:
    learned = api.check(_NumpyHead(learned=True))
    no_linear = learned.rule("no-linear")
    assert not no_linear.passed and "computed outside torch (NumPy or Python) with fc.weight" in no_linear.message
    assert any("made from activations taken out of torch" in note for note in learned.notes)
    constant = api.check(_NumpyHead(learned=False))  # a fixed projection is not a layer (as with a torch constant)
    assert constant.rule("no-linear").passed
    assert any("made from activations taken out of torch" in note for note in constant.notes)


@pytest.mark.parametrize(
    ("kernel", "learned", "passes"),
    [
        (torch.full((10, 1, 7, 7), 1 / 49), False, True),  # a fixed average over the whole 7×7 map: GAP
        (torch.ones(10, 1, 7, 7), False, True),  # a fixed sum over it: GAP up to a constant, as x.sum((2, 3))
        (torch.rand(10, 1, 7, 7), False, False),  # a fixed weighting, not an average
        (torch.full((10, 1, 7, 7), 1 / 49), True, False),  # a learned one starts uniform but is trained away
        (torch.full((10, 1, 3, 3), 1 / 9), False, False),  # a 3×3 window of the map, not all of it
    ],
)
def test_a_fixed_uniform_depthwise_kernel_over_the_whole_map_is_a_global_average(kernel, learned, passes) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 10, 3, padding=1), nn.BatchNorm2d(10), nn.Dropout(0.1))
            self.kernel = nn.Parameter(kernel) if learned else kernel

        def forward(self, x):
            x = F.max_pool2d(self.body(x), 4)  # 7×7
            return F.conv2d(x, self.kernel, groups=10).flatten(1)[:, :10]

    assert api.check(Net()).rule("gap").passed is passes


class _HiddenHead(nn.Module):
    """The recorder switched off around the head: only autograd sees what it computes."""

    def __init__(self, dense: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.1))
        self.fc = nn.Linear(8 * 26 * 26, 10) if dense else None
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        from torch.utils._python_dispatch import _disable_current_modes

        x = self.body(x)
        with _disable_current_modes():
            if self.fc is not None:
                return x.flatten(1) @ self.fc.weight.t() + self.fc.bias
            return self.head(x).mean((2, 3))


@pytest.mark.parametrize("dense", [True, False])
def test_a_head_computed_with_the_recorder_switched_off_is_followed_through_autograd(dense: bool) -> None:
    report = api.check(_HiddenHead(dense))
    assert any("computed where the dispatcher could not see" in note for note in report.notes)
    no_linear = report.rule("no-linear")
    assert no_linear.passed is not dense, no_linear.message
    if dense:
        assert "a hidden matrix product" in no_linear.message
