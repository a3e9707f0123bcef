"""Accuracy and loss of a model on a split, and what picks the model and the device.

Used by the trainer (validation each epoch, the test set once at the end), by
``reference_model.evaluate`` and by benchmarks/training.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .data import Split, as_layout, batches, prepare
from .model import Net
from .tiny import TinyNet

MODELS: dict[str, Callable[[], nn.Module]] = {"net": Net, "tiny": TinyNet, "tiny-6k": partial(TinyNet, width=32)}
DEVICES = ("auto", "cpu", "cuda", "mps")
# Test-time augmentation: the image moved by one pixel up, down, left and right. MNIST's
# digits sit in the middle 20x20 of the 28x28 image, so what torch.roll wraps around is background.
TTA_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA, then Apple's MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def parameter_count(model: nn.Module) -> int:
    """Every parameter tensor once (model.parameters() already deduplicates shared ones)."""
    return sum(p.numel() for p in model.parameters())


@dataclass
class Evaluation:
    accuracy: float
    per_class: list[float]  # accuracy of each digit 0..9 (nan where a class is absent)
    loss: float  # mean cross-entropy of the predicted probabilities, without label smoothing


def predict(model: nn.Module, x: torch.Tensor, tta: bool, channels_last: bool) -> torch.Tensor:
    """Class log-probabilities of a batch of model inputs.

    With ``tta`` they are those of the mean of the probabilities for the image (counted
    twice) and its four one-pixel shifts: a digit moved by a pixel is the same digit, so
    the views' errors partly cancel (+0.1-0.2 points of accuracy, README.md).
    """
    log_probs = model(x).log_softmax(1)
    if not tta:
        return log_probs
    probs = 2 * log_probs.exp()
    for shift in TTA_SHIFTS:
        probs += model(as_layout(torch.roll(x, shift, dims=(2, 3)), channels_last)).softmax(1)
    return (probs / (2 + len(TTA_SHIFTS))).log()


def folded_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` in which each BatchNorm that directly follows a convolution
    in an ``nn.Sequential`` is folded into that convolution's weight and bias.

    In eval mode BatchNorm is a fixed per-channel affine map, so the copy computes the same
    function (to float rounding) with one pass over each map fewer. With batches of 1,000 instead
    of 2,500, evaluation with test-time augmentation takes about half the time on the 2-core CPU
    (benchmarks/evaluation.py). ``model`` is unchanged.
    """
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, norm = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module[i], module[i + 1] = fuse_conv_bn_eval(conv, norm), nn.Identity()
    return folded


@torch.inference_mode()
def evaluate(
    model: nn.Module, split: Split, tta: bool = False, channels_last: bool = False, batch_size: int = 1000
) -> Evaluation:
    """Accuracy and loss of ``model`` in eval mode on ``split`` (already on the model's device)."""
    model = folded_for_inference(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    correct = torch.zeros(10, dtype=torch.long, device=split.labels.device)
    total_loss = torch.zeros((), device=split.labels.device)
    for images, labels in batches(split, batch_size):
        log_probs = predict(model, prepare(images, channels_last), tta, channels_last)
        total_loss += nn.functional.nll_loss(log_probs, labels, reduction="sum")
        correct += torch.bincount(labels[log_probs.argmax(1) == labels], minlength=10)
    counts = torch.bincount(split.labels, minlength=10)
    per_class = (correct.double() / counts.double()).tolist()  # 0/0 -> nan for absent classes
    return Evaluation(correct.sum().item() / len(split), per_class, total_loss.item() / len(split))
