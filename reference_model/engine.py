"""What the trainer, the evaluator and the benchmark share: models, devices, evaluation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .data import Split, batches, normalize, to_unit
from .model import Net
from .tiny import TinyNet

MODELS: dict[str, Callable[[], nn.Module]] = {"net": Net, "tiny": TinyNet}
DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def count_parameters(model: nn.Module) -> int:
    """Every parameter tensor once (model.parameters() already deduplicates shared ones)."""
    return sum(p.numel() for p in model.parameters())


def prepare(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 images -> normalised float model input, without augmentation."""
    return as_layout(normalize(to_unit(images)), channels_last)


def as_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@dataclass
class Evaluation:
    accuracy: float
    per_class: list[float]  # accuracy of each digit 0..9 (nan where a class is absent)
    loss: float


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split, batch_size: int = 1000, channels_last: bool = False) -> Evaluation:
    """Accuracy of ``model`` on ``split`` (already on the model's device)."""
    model.eval()
    correct = torch.zeros(10, dtype=torch.long, device=split.labels.device)
    total_loss = torch.zeros((), device=split.labels.device)
    for images, labels in batches(split, batch_size):
        logits = model(prepare(images, channels_last))
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum")
        correct += torch.bincount(labels[logits.argmax(1) == labels], minlength=10)
    counts = torch.bincount(split.labels, minlength=10)
    per_class = (correct.double() / counts.double()).tolist()  # 0/0 -> nan for absent classes
    return Evaluation(correct.sum().item() / len(split), per_class, total_loss.item() / len(split))
