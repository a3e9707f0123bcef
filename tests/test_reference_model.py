"""The reference models meet the assignment's rules, and the augmentation is sound."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import archcheck
from reference_model.augment import AugmentConfig, augment
from reference_model.evaluation import MODELS, folded_for_inference, parameter_count, predict
from reference_model.model import Net
from reference_model.tiny import TinyNet

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "budget", "expected"), [("net", 19_999, 19_362), ("tiny", 7_999, 7_954), ("tiny-6k", 6_000, 5_690)]
)
def test_parameter_budget(name: str, budget: int, expected: int) -> None:
    assert parameter_count(MODELS[name]()) == expected <= budget  # the count documented in README.md


@pytest.mark.parametrize(("name", "preset"), [("net", "mnist"), ("tiny", "mnist-8k"), ("tiny-6k", "mnist-8k")])
def test_passes_every_rule_honestly(name: str, preset: str) -> None:
    """What archcheck traces, not what the code declares: BN, dropout and GAP run, no FC layer."""
    report = archcheck.assert_passes(MODELS[name](), preset=preset)
    assert report.rule("gap").measured == "5×5 → 1×1"


def test_tiny_model_is_depthwise_separable() -> None:
    """The width within 8,000 parameters comes from separable blocks: a per-channel 3x3, then a 1x1 mix."""
    report = archcheck.check(TinyNet(), preset="cifar10", input_shape=(1, 28, 28))
    assert report.rule("depthwise-separable").passed, report.rule("depthwise-separable").message


def test_the_readme_command_checks_the_reference_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "archcheck", "reference_model/model.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"PASSED: all \d+ rules pass", result.stdout), result.stdout
    assert f"Total params: {parameter_count(Net()):,}" in result.stdout


def test_identity_augmentation_is_a_no_op() -> None:
    x = torch.rand(8, 1, 28, 28)
    none = AugmentConfig(rotation=0, translate=0, scale=(1, 1), perspective_p=0, brightness=0, contrast=0)
    torch.testing.assert_close(augment(x, none, torch.Generator().manual_seed(0)), x, atol=1e-5, rtol=0)


def test_augmentation_is_per_sample_and_seeded() -> None:
    x = torch.rand(1, 1, 28, 28).expand(16, 1, 28, 28).contiguous()  # the same image 16 times
    first = augment(x, AugmentConfig(), torch.Generator().manual_seed(1))
    again = augment(x, AugmentConfig(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    differences = (first[1:] - first[:1]).abs().flatten(1).amax(1)
    assert (differences > 0.01).all(), "every image should get its own random transform"


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    rotation=st.floats(0, 45),
    translate=st.floats(0, 0.3),
    low=st.floats(0.7, 1.0),
    high=st.floats(1.0, 1.3),
    perspective_p=st.floats(0, 1),
    distortion=st.floats(0, 0.9),
    jitter=st.floats(0, 0.5),
    seed=st.integers(0, 2**31),
)
def test_augmentation_keeps_shape_and_range(
    batch: int,
    rotation: float,
    translate: float,
    low: float,
    high: float,
    perspective_p: float,
    distortion: float,
    jitter: float,
    seed: int,
) -> None:
    cfg = AugmentConfig(rotation, translate, (low, high), perspective_p, distortion, jitter, jitter)
    x = torch.rand(batch, 1, 28, 28)
    out = augment(x, cfg, torch.Generator().manual_seed(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


class _PixelReader(nn.Module):
    """Logits read off fixed pixels: class k scores pixel (10, 9 + k); a shift moves what it reads."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20 * x[:, 0, 10, 9:19]


def _shifted(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``x`` moved by whole pixels with zeros coming in (what torch.roll does on an empty border)."""
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    return padded[..., 1 - rows : 29 - rows, 1 - cols : 29 - cols]


def test_tta_averages_the_image_and_its_four_one_pixel_shifts() -> None:
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 8:20, 8:20] = torch.rand(4, 1, 12, 12)  # empty border, like MNIST
    model = _PixelReader()
    views = [x, x, *(_shifted(x, r, c) for r, c in ((1, 0), (-1, 0), (0, 1), (0, -1)))]
    expected = torch.stack([model(v).softmax(1) for v in views]).mean(0).log()
    torch.testing.assert_close(predict(model, x, tta=True, channels_last=False), expected)
    torch.testing.assert_close(predict(model, x, tta=False, channels_last=False), model(x).log_softmax(1))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_folded_copy_computes_what_the_model_computes_in_eval_mode(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name]()
    for _ in range(3):  # running statistics away from their initial 0 and 1
        model(torch.rand(64, 1, 28, 28) * 3)
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    folded = folded_for_inference(model)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in folded.modules())  # each one was folded
    assert model.training  # the model itself is left as it was: still training, the same weights
    torch.testing.assert_close(model.state_dict(), weights)
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model.eval()(x), atol=1e-5, rtol=1e-4)
