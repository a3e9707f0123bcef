"""Receptive field, jump and MACs, checked against hand computation and torch's own FLOP counter.

The hand computation is the students' table: r_out = r_in + (k - 1) * d * j_in, j_out = j_in * s,
from r = j = 1 at the input; a global pool over an n×n map adds (n - 1) * j.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcheck


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class ClassicNet(nn.Module):
    """The reference model's architecture as documented (19,650 parameters), pinned here for the figures."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 8),
            conv_bn_relu(8, 16),
            nn.MaxPool2d(2),
            nn.Dropout(0.05),
            conv_bn_relu(16, 16),
            conv_bn_relu(16, 24),
            conv_bn_relu(24, 24),
            conv_bn_relu(24, 32),
            nn.Dropout(0.05),
        )
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        return self.classifier(self.gap(self.features(x))).flatten(1)


def table(report: archcheck.Report) -> dict[str, tuple[int | None, int | None]]:
    return {layer.path: (layer.receptive_field, layer.jump) for layer in report.layers if layer.called}


def test_the_classic_net_by_hand() -> None:
    report = archcheck.check(ClassicNet(), preset="cifar10", input_shape=(1, 28, 28))
    rf = table(report)
    # 3x3 convs add 2 each at jump 1 (3, 5), the pool adds 1 and doubles the jump (6, j=2),
    # then 4 convs add 4 each (10, 14, 18, 22), and the GAP over the 4x4 map adds 3 * 2 = 6: 28.
    assert [rf[f"features.{i}.0"][0] for i in (0, 1, 4, 5, 6, 7)] == [3, 5, 10, 14, 18, 22]
    assert rf["features.2"] == (6, 2)
    assert rf["gap"] == (28, 8)
    assert report.macs == 1_461_344
    assert sum(layer.macs or 0 for layer in report.layers) == report.macs
    result = report.rule("receptive-field")
    assert not result.passed  # cifar10 asks for 44
    assert "is 22 px, reached at features.7.0 (Conv2d): at least 44 required" in result.message


def test_stride_dilation_and_pooling_by_hand() -> None:
    class Strided(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
            self.pool = nn.MaxPool2d(2)
            self.conv4 = nn.Conv2d(8, 10, 5, padding=2)

        def forward(self, x):
            x = self.pool(self.conv3(self.conv2(self.conv1(x))))
            return self.conv4(x).mean((2, 3))

    report = archcheck.check(Strided(), preset="cifar10")
    rf = table(report)
    assert rf["conv1"] == (3, 1)
    assert rf["conv2"] == (5, 2)  # 3 + 2 * 1, jump 2
    assert rf["conv3"] == (13, 2)  # dilation 2: a 5-wide window, 5 + 4 * 2
    assert rf["pool"] == (15, 4)  # 13 + 1 * 2, jump 4
    assert rf["conv4"] == (31, 4)  # 15 + 4 * 4
    assert rf[""] == (59, 32)  # the mean over the 8x8 map: 31 + 7 * 4
    result = report.rule("receptive-field")
    assert not result.passed and "is 31 px, reached at conv4 (Conv2d): at least 44 required" in result.message


def test_slices_subsample_and_shifted_slices_widen_the_field() -> None:
    class Sliced(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.conv3 = nn.Conv2d(8, 10, 3, padding=1)

        def forward(self, x):
            x = self.conv1(x)[:, :, ::2, ::2]  # every other row and column: field 3, jump 2
            x = self.conv2(x)  # 3 + 2 * 2 = 7
            x = x[:, :, 1:, 1:] + x[:, :, :-1, :-1]  # diagonal neighbours summed: a 2x2 window, 7 + 1 * 2 = 9
            return self.conv3(x).mean((2, 3))

    report = archcheck.check(Sliced(), preset="cifar10", min_receptive_field=11)
    rf = table(report)
    assert rf["conv1"] == (3, 1)
    assert rf["conv2"] == (7, 2)
    assert rf["conv3"] == (13, 2)  # 9 + 2 * 2
    assert report.rule("gap").passed  # the subsampled map is still the whole map


def test_residual_branches_take_the_largest_field() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(1, 8, 3, padding=1)
            self.branch = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
            self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
            self.skip = nn.Conv2d(8, 8, 1, stride=2)
            self.head = nn.Conv2d(8, 10, 1)

        def forward(self, x):
            x = self.stem(x)  # 3
            x = x + self.branch(x)  # max(3, 7) = 7
            x = self.down(x) + self.skip(x)  # max(7 + 2, 7) = 9, jump 2
            return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)  # 9 + 13 * 2 = 35 over the 14x14 map

    report = archcheck.check(Residual(), preset="cifar10", input_shape=(1, 28, 28), min_receptive_field=35)
    rf = table(report)
    assert rf["branch"] == (7, 1) and rf["down"] == (9, 2) and rf["skip"] == (7, 2)
    assert rf["head"] == (35, 28)
    result = report.rule("receptive-field")
    assert not result.passed and "pool is 9 px, reached at down (Conv2d): at least 35 required" in result.message


def test_macs_agree_with_torchs_flop_counter() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, groups=4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 15 * 15, 10),
    )
    report = archcheck.check(model, input_shape=(3, 32, 32), ignore=["no-linear"])
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(2, 3, 32, 32))
    assert report.macs == counter.get_total_flops() // 2 // 2  # FLOPs are 2 per MAC; per image of the batch of 2
