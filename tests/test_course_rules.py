"""The later assignments' rules, in every spelling: num-classes, no-maxpool, depthwise-separable,
dilated-conv, receptive-field, and the fully connected head after GAP that the cifar10 preset allows.

Each model is checked in process with ``archcheck.check`` (the same tracer and rules as the command line).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archcheck

CIFAR = {"preset": "cifar10"}


def verdict(model: nn.Module, rule: str, **settings) -> tuple[bool, str]:
    report = archcheck.check(model, **settings)
    assert report.error is None, report.error.reason
    result = report.rule(rule)
    return result.passed, result.message


class Lambda(nn.Module):
    """A model whose forward is a function of its layers (so each spelling is one line)."""

    def __init__(self, forward, **layers: nn.Module) -> None:
        super().__init__()
        for name, layer in layers.items():
            setattr(self, name, layer)
        self._forward = forward

    def forward(self, x):
        return self._forward(self, x)


# -- num-classes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "passes"),
    [
        (lambda m, x: m.head(F.adaptive_avg_pool2d(m.conv(x), 1)).flatten(1), True),  # (b, 10)
        (lambda m, x: m.head(F.adaptive_avg_pool2d(m.conv(x), 1)), True),  # (b, 10, 1, 1)
        (lambda m, x: (m.head(m.conv(x).mean((2, 3), keepdim=True)).flatten(1), m.conv(x)), True),  # first of a tuple
        (lambda m, x: F.adaptive_avg_pool2d(m.conv(x), 1).flatten(1), False),  # 32 pooled channels
        (lambda m, x: m.head(F.adaptive_avg_pool2d(m.conv(x), 1)).sum(), False),  # no batch dimension
    ],
)
def test_num_classes(forward, passes: bool) -> None:
    model = Lambda(forward, conv=nn.Conv2d(1, 32, 3), head=nn.Conv2d(32, 10, 1))
    assert verdict(model, "num-classes")[0] is passes


def test_num_classes_follows_the_setting() -> None:
    model = Lambda(lambda m, x: m.head(x.mean((2, 3), keepdim=True)).flatten(1), head=nn.Conv2d(1, 100, 1))
    assert verdict(model, "num-classes", num_classes=100)[0] is True
    passed, message = verdict(model, "num-classes")
    assert not passed and message.startswith("100 outputs per sample (output 2×100), expected 10")


# -- no-maxpool --------------------------------------------------------------------------------------------

MAX_POOLS = {
    "nn.MaxPool2d": lambda m, x: nn.MaxPool2d(2)(m.conv(x)),
    "F.max_pool2d": lambda m, x: F.max_pool2d(m.conv(x), 2),
    "F.max_pool2d with indices": lambda m, x: F.max_pool2d(m.conv(x), 2, return_indices=True)[0],
    "nn.AdaptiveMaxPool2d": lambda m, x: nn.AdaptiveMaxPool2d(3)(m.conv(x)),
    "global amax": lambda m, x: m.conv(x).amax((2, 3), keepdim=True),
    "max over a flattened map": lambda m, x: m.conv(x).flatten(2).max(-1).values[:, :, None, None],
    "maximum of shifted slices": lambda m, x: (
        lambda y: torch.maximum(
            torch.maximum(y[:, :, ::2, ::2], y[:, :, 1::2, ::2]), torch.maximum(y[:, :, ::2, 1::2], y[:, :, 1::2, 1::2])
        )
    )(m.conv(x)),
    "max of neighbouring columns": lambda m, x: (lambda y: torch.max(y[..., 1:], y[..., :-1]))(m.conv(x)),
    "window max by reshape": lambda m, x: m.conv(x)[:, :, :28, :28].reshape(-1, 10, 14, 2, 14, 2).amax((3, 5)),
}


@pytest.mark.parametrize("spelling", list(MAX_POOLS))
def test_every_max_pool_fails(spelling: str) -> None:
    forward = MAX_POOLS[spelling]
    model = Lambda(lambda m, x: forward(m, x).mean((2, 3)), conv=nn.Conv2d(3, 10, 3))
    passed, message = verdict(model, "no-maxpool", **CIFAR)
    assert not passed, message


@pytest.mark.parametrize(
    "forward",
    [
        lambda m, x: m.strided(x).mean((2, 3)),  # a strided convolution downsamples instead
        lambda m, x: F.avg_pool2d(m.strided(x), 2).mean((2, 3)),
        lambda m, x: m.strided(x).max(1).values.mean((1, 2))[:, None].expand(-1, 10),  # a max over channels
    ],
)
def test_downsampling_without_max_pooling_passes(forward) -> None:
    model = Lambda(forward, strided=nn.Conv2d(3, 10, 3, stride=2))
    passed, message = verdict(model, "no-maxpool", **CIFAR)
    assert passed, message


def test_a_pool_of_several_maxima_is_one_max_pool() -> None:
    def forward(m, x):
        y = m.conv(x)
        rows = torch.maximum(y[:, :, ::2, :], y[:, :, 1::2, :])  # a 2x2 pool written as two maxima in a row
        return torch.maximum(rows[..., ::2], rows[..., 1::2]).mean((2, 3))

    passed, message = verdict(Lambda(forward, conv=nn.Conv2d(3, 10, 3)), "no-maxpool", **CIFAR)
    assert not passed
    assert message.startswith("1 max pool in the output's computation: torch.maximum") and "2×2 max pool" in message


@pytest.mark.parametrize(
    "forward",
    [
        lambda m, x: m.conv(x)[:, :, ::2, ::2].mean((2, 3)),  # subsampling by a strided slice
        lambda m, x: (lambda y: y[..., 1:] + y[..., :-1])(m.conv(x)).mean((2, 3)),  # a sum of shifted slices
        lambda m, x: (lambda y: torch.maximum(y[:, :5], y[:, 5:]))(m.both(x)).mean((2, 3)),  # maxout over channels
    ],
)
def test_slicing_without_a_maximum_over_positions_passes(forward) -> None:
    model = Lambda(forward, conv=nn.Conv2d(3, 10, 3), both=nn.Conv2d(3, 10, 3))
    passed, message = verdict(model, "no-maxpool", **CIFAR)
    assert passed, message


def test_a_max_pool_whose_result_is_thrown_away_does_not_count() -> None:
    def forward(m, x):
        m.kept = F.max_pool2d(x, 2)
        return m.conv(x).mean((2, 3))

    passed, message = verdict(Lambda(forward, conv=nn.Conv2d(3, 10, 3)), "no-maxpool", **CIFAR)
    assert passed and "not used" in message


# -- depthwise-separable -------------------------------------------------------------------------------------


def _separable(depthwise, pointwise, between=lambda y: y):
    def forward(m, x):
        return pointwise(m, between(depthwise(m, m.stem(x)))).mean((2, 3))

    return forward


DEPTHWISE_MODULE = lambda m, y: m.depthwise(y)  # noqa: E731
POINTWISE_MODULE = lambda m, y: m.pointwise(y)  # noqa: E731


@pytest.mark.parametrize(
    "forward",
    [
        _separable(DEPTHWISE_MODULE, POINTWISE_MODULE),
        _separable(
            DEPTHWISE_MODULE, POINTWISE_MODULE, between=lambda y: F.relu(F.batch_norm(y, None, None, training=True))
        ),
        _separable(lambda m, y: F.conv2d(y, m.depthwise.weight, padding=1, groups=16), POINTWISE_MODULE),
        _separable(DEPTHWISE_MODULE, lambda m, y: F.conv2d(y, m.pointwise.weight)),
        _separable(DEPTHWISE_MODULE, lambda m, y: torch.einsum("bchw,kc->bkhw", y, m.pointwise.weight[:, :, 0, 0])),
        _separable(lambda m, y: m.multiplier(y), lambda m, y: m.wide(y)),  # a channel multiplier of 2
    ],
)
def test_depthwise_then_pointwise_passes(forward) -> None:
    model = Lambda(
        forward,
        stem=nn.Conv2d(3, 16, 3),
        depthwise=nn.Conv2d(16, 16, 3, padding=1, groups=16),
        pointwise=nn.Conv2d(16, 10, 1),
        multiplier=nn.Conv2d(16, 32, 3, padding=1, groups=16),
        wide=nn.Conv2d(32, 10, 1),
    )
    passed, message = verdict(model, "depthwise-separable", **CIFAR)
    assert passed, message


@pytest.mark.parametrize(
    ("forward", "says"),
    [
        (lambda m, x: m.pointwise(m.full(m.stem(x))).mean((2, 3)), "add a depthwise"),  # ordinary convolutions
        (lambda m, x: m.depthwise(m.stem(x))[:, :10].mean((2, 3)), "no 1×1 convolution follows it"),
        (lambda m, x: m.pointwise(m.full(m.depthwise(m.stem(x)))).mean((2, 3)), "no 1×1 convolution follows it"),
        (lambda m, x: m.depthwise(m.pointwise16(m.stem(x)))[:, :10].mean((2, 3)), "no 1×1 convolution follows it"),
        (lambda m, x: m.pointwise(m.per_channel(m.stem(x))).mean((2, 3)), "add a depthwise"),  # a 1×1 depthwise
    ],
)
def test_no_depthwise_separable_pair_fails(forward, says: str) -> None:
    model = Lambda(
        forward,
        stem=nn.Conv2d(3, 16, 3),
        depthwise=nn.Conv2d(16, 16, 3, padding=1, groups=16),
        full=nn.Conv2d(16, 16, 3, padding=1),
        pointwise=nn.Conv2d(16, 10, 1),
        pointwise16=nn.Conv2d(16, 16, 1),
        per_channel=nn.Conv2d(16, 16, 1, groups=16),
    )
    passed, message = verdict(model, "depthwise-separable", **CIFAR)
    assert not passed and says in message, message


# -- dilated-conv ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forward",
    [
        lambda m, x: m.dilated(x).mean((2, 3)),
        lambda m, x: F.conv2d(x, m.dilated.weight, padding=2, dilation=(2, 2)).mean((2, 3)),
        lambda m, x: F.conv2d(x, m.dilated.weight, padding=(1, 2), dilation=(1, 2)).mean((2, 3)),  # one axis
    ],
)
def test_a_dilated_convolution_passes(forward) -> None:
    model = Lambda(forward, dilated=nn.Conv2d(3, 10, 3, padding=2, dilation=2))
    passed, message = verdict(model, "dilated-conv", **CIFAR)
    assert passed, message


@pytest.mark.parametrize(
    ("forward", "says"),
    [
        (lambda m, x: m.plain(x).mean((2, 3)), "add a convolution with dilation"),
        (lambda m, x: m.one_by_one(x).mean((2, 3)), "on a 1×1 kernel"),
        (lambda m, x: (setattr(m, "kept", m.dilated(x)), m.plain(x))[1].mean((2, 3)), "not used"),
    ],
)
def test_no_dilated_convolution_fails(forward, says: str) -> None:
    model = Lambda(
        forward,
        dilated=nn.Conv2d(3, 10, 3, padding=2, dilation=2),
        plain=nn.Conv2d(3, 10, 3, padding=1),
        one_by_one=nn.Conv2d(3, 10, 1, dilation=2),
    )
    passed, message = verdict(model, "dilated-conv", **CIFAR)
    assert not passed and says in message, message


# -- the fully connected head after GAP -------------------------------------------------------------------


def test_a_linear_head_after_gap_passes_in_cifar10_only() -> None:
    model = Lambda(lambda m, x: m.fc(m.conv(x).mean((2, 3))), conv=nn.Conv2d(3, 16, 3), fc=nn.Linear(16, 10))
    assert verdict(model, "no-linear", **CIFAR)[0] is True
    assert verdict(model, "no-linear", fc_after_gap=True, input_shape=(3, 32, 32))[0] is True
    passed, message = verdict(model, "no-linear", input_shape=(3, 32, 32))
    assert not passed and "allows a 1×1 convolution as the classifier" in message


def test_only_one_layer_after_gap_is_allowed_even_in_cifar10() -> None:
    model = Lambda(
        lambda m, x: m.out(F.relu(m.hidden(m.conv(x).mean((2, 3))))),
        conv=nn.Conv2d(3, 16, 3),
        hidden=nn.Linear(16, 64),
        out=nn.Linear(64, 10),
    )
    passed, message = verdict(model, "no-linear", **CIFAR)
    assert not passed and "hidden MLP" in message


def test_a_linear_on_the_flattened_map_fails_in_cifar10_too() -> None:
    model = Lambda(
        lambda m, x: m.fc(m.conv(x).flatten(1)), conv=nn.Conv2d(3, 4, 3, stride=4), fc=nn.Linear(4 * 8 * 8, 10)
    )
    passed, message = verdict(model, "no-linear", **CIFAR)
    assert not passed and "over every position" in message


# -- batchnorm over parts of the batch ------------------------------------------------------------------------


class _GhostBatchNorm(nn.Module):
    """BatchNorm over each half of the batch ("ghost" batch norm): over 64 samples in a batch of 128."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.cat([self.bn(part) for part in x.chunk(2)])


def _ghost_bn_model() -> nn.Module:
    return Lambda(
        lambda m, x: m.head(m.drop(F.relu(m.norm(m.conv(x)))).mean((2, 3), keepdim=True)).flatten(1),
        conv=nn.Conv2d(1, 8, 3),
        norm=_GhostBatchNorm(8),
        drop=nn.Dropout(0.1),
        head=nn.Conv2d(8, 10, 1),
    )


def test_batch_norm_over_halves_of_a_batch_of_two_says_to_trace_a_larger_batch() -> None:
    passed, message = verdict(_ghost_bn_model(), "batchnorm")
    assert not passed  # each half of the traced batch of 2 is one sample: an instance norm at this size
    assert "one of the traced batch's 2 samples at a time" in message and "--batch-size 8" in message
    passed, message = verdict(_ghost_bn_model(), "batchnorm", batch_size=8)
    assert passed, message


def test_batch_norm_of_each_sample_alone_fails_whatever_the_batch() -> None:
    per_sample = Lambda(
        lambda m, x: m.head(torch.cat([m.bn(s) for s in x.split(1)]).mean((2, 3), keepdim=True)).flatten(1),
        bn=nn.BatchNorm2d(1),
        head=nn.Conv2d(1, 10, 1),
    )
    passed, message = verdict(per_sample, "batchnorm", batch_size=8)
    assert not passed and "normalises each sample on its own" in message


# -- dropout that decides nothing ---------------------------------------------------------------------------


def _masked(forward) -> nn.Module:
    return Lambda(
        forward, conv=nn.Conv2d(1, 8, 3), bn=nn.BatchNorm2d(8), drop=nn.Dropout(0.5), head=nn.Conv2d(8, 10, 1)
    )


def _pooled(m, x):
    return m.head(x.mean((2, 3), keepdim=True)).flatten(1)


def test_dropout_choosing_between_two_identical_values_does_not_count() -> None:
    def forward(m, x):
        x = F.relu(m.bn(m.conv(x)))
        return _pooled(m, torch.where(m.drop(x) != 0, x, x))

    passed, message = verdict(_masked(forward), "dropout")
    assert not passed, message


def test_dropout_as_the_condition_of_a_mask_counts() -> None:
    def forward(m, x):
        x = F.relu(m.bn(m.conv(x)))
        return _pooled(m, torch.where(m.drop(x) != 0, x, 0.0))

    passed, message = verdict(_masked(forward), "dropout")
    assert passed, message


def test_a_dropout_that_happens_to_drop_everything_in_the_traced_step_still_counts() -> None:
    """With one channel and a batch of 2, Dropout2d(0.99) almost surely zeroes the whole batch: the
    zero gradient behind the ReLU that follows comes from chance, not from a result thrown away."""

    def forward(m, x):
        return m.head(F.relu(m.drop(m.bn(x))).mean((2, 3), keepdim=True)).flatten(1)

    model = Lambda(forward, bn=nn.BatchNorm2d(1), drop=nn.Dropout2d(0.99), head=nn.Conv2d(1, 10, 1))
    passed, message = verdict(model, "dropout")
    assert passed, message


def test_a_recurrent_layer_counts_as_its_weight_matrices_not_its_time_steps() -> None:
    def forward(m, x):
        out, _ = m.rnn(m.conv(x).squeeze(1))  # the 28 rows of the map as a sequence
        return out.mean(1)

    model = Lambda(forward, conv=nn.Conv2d(1, 1, 3, padding=1), rnn=nn.GRU(28, 10, batch_first=True))
    passed, message = verdict(model, "no-linear")
    assert not passed
    assert message.startswith("2 fully connected layers"), message  # input-to-hidden and hidden-to-hidden
