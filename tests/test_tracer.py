"""The tracer's bookkeeping: dimension roles through reshapes, and never breaking a model it cannot read."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archcheck import api
from archcheck.tracing import tracer
from archcheck.records import BATCH, CHANNEL, MIXED, ONE, PART, SPACE
from helpers import PASSING_MODEL


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ((2, 16, 7, 7), (2, 16, 49), (BATCH, CHANNEL, SPACE)),  # x.flatten(2): positions stay positions
        ((2, 16, 7, 7), (2, 784), (BATCH, MIXED)),  # x.flatten(1): channels and positions mixed
        ((2, 16, 7, 7), (2, 784, 1, 1), (BATCH, MIXED, ONE, ONE)),  # ... even reshaped to a "1×1 map"
        ((2, 16, 1, 1), (2, 16), (BATCH, CHANNEL)),  # after GAP, flattening mixes nothing
        ((2, 10, 7, 7), (2, 2, 245), (BATCH, MIXED, MIXED)),  # group-wise view
        ((2, 16, 7, 7), (2, 4, 4, 7, 7), (BATCH, CHANNEL, CHANNEL, SPACE, SPACE)),  # channel groups
    ],
)
def test_reshape_roles(before, after, expected) -> None:
    assert tracer.regrouped(before, after, tracer.default_layout(before)) == expected


def test_permute_and_crop_roles() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3))
    seen = tracer.Tracer(model)
    x = torch.randn(2, 1, 8, 8)
    with seen.recording(x):
        y = model(x)
        channels_last = y.permute(0, 2, 3, 1)
        crop = y[:, :, :3, :]
    assert seen.layout(channels_last) == (BATCH, SPACE, SPACE, CHANNEL)
    assert seen.layout(crop) == (BATCH, CHANNEL, PART, SPACE)


def test_an_unreadable_call_is_reported_not_fatal(tmp_path, monkeypatch) -> None:
    def unreadable(*args):
        raise TypeError("an argument form this describer does not know")

    monkeypatch.setitem(tracer._KINDS, "adaptive_avg_pool2d", ("pool", unreadable))
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = api.check_file(str(tmp_path / "model.py"), isolate=False)
    assert report.error is None
    assert report.notes == ["could not read the arguments of F.adaptive_avg_pool2d, so it was not checked"]
    assert not report.rule("gap").passed
