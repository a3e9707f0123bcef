"""MNIST as in-memory tensors: loading, the fixed train/validation split, batching.

The whole data set is 55 MB of uint8, so it is kept as tensors and batches are sliced
from them; there is no Dataset/DataLoader and no per-image PIL work (see benchmarks/).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DataNotFoundError(Exception):
    """MNIST is not on disk and could not be fetched; the message is one line for the user."""


@dataclass
class Split:
    """Images as uint8 (N, 28, 28) and labels as int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> Split:
        return Split(self.images[index], self.labels[index])

    def to(self, device: torch.device) -> Split:
        return Split(self.images.to(device), self.labels.to(device))


@dataclass
class MnistSplits:
    train: Split
    val: Split
    test: Split


def load_mnist(root: Path, download: bool = False) -> tuple[Split, Split]:
    """The official 60,000 training and 10,000 test images via torchvision.

    Raises DataNotFoundError, with where it looked and how to get the files, instead of
    torchvision's traceback.
    """
    from torchvision.datasets import MNIST  # only the trainer needs torchvision

    raw = Path(root) / "MNIST" / "raw"
    try:
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=download)
    except (RuntimeError, OSError) as error:  # torchvision raises these for missing files / no network
        how = f"the download failed ({error})" if download else "pass --download to fetch them"
        raise DataNotFoundError(
            f"MNIST not found in {raw} (needs {', '.join(RAW_FILES)}): {how}, "
            "or point --data-dir at a folder that contains MNIST/raw/"
        ) from None
    return Split(train.data, train.targets), Split(test.data, test.targets)


def split_train_val(full: Split, val_size: int, seed: int) -> tuple[Split, Split]:
    """Disjoint train/validation subsets, the same for the same seed on every machine."""
    if not 0 < val_size < len(full):
        raise ValueError(f"val_size must be between 1 and {len(full) - 1}, got {val_size}")
    order = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed))
    return full.subset(order[val_size:]), full.subset(order[:val_size])


def make_splits(
    train_full: Split, test: Split, val_size: int, split_seed: int, train_limit: int | None = None
) -> MnistSplits:
    """The trainer's three splits; ``train_limit`` keeps only the first N training images."""
    train, val = split_train_val(train_full, val_size, split_seed)
    if train_limit is not None:
        train = train.subset(torch.arange(min(train_limit, len(train))))
    return MnistSplits(train, val, test)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], where augmentation works."""
    return images.unsqueeze(1).float().div_(255)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - MNIST_MEAN) / MNIST_STD


def batches(
    split: Split, batch_size: int, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) slices; shuffled and without the last partial batch when a generator
    is given (training: a batch of one would break BatchNorm), in order otherwise (evaluation)."""
    if generator is None:
        for start in range(0, len(split), batch_size):
            yield split.images[start : start + batch_size], split.labels[start : start + batch_size]
        return
    order = torch.randperm(len(split), generator=generator).to(split.labels.device)
    for start in range(0, len(split) - batch_size + 1, batch_size):
        index = order[start : start + batch_size]
        yield split.images[index], split.labels[index]
