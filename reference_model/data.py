"""MNIST as in-memory tensors: loading, the fixed train/validation split, batching.

The whole data set is 55 MB of uint8, so it is kept as tensors (on the training device)
and batches are sliced from them; there is no Dataset/DataLoader and no per-image PIL
work (see benchmarks/training.py). The IDX files are read directly: importing
torchvision alone takes ~2.5 s on the 2-core CPU, so it is imported only to download.
"""

from __future__ import annotations

import gzip
import math
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
_IDX_UBYTE = 0x08  # the IDX element type of MNIST's files: unsigned bytes


class DataNotFoundError(Exception):
    """MNIST is not on disk, unreadable or could not be fetched; the message is one line."""


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
    """``train`` and ``val`` come from the official 60,000 training images, ``test`` is the official 10,000."""

    train: Split
    val: Split
    test: Split


def read_idx(path: Path) -> torch.Tensor:
    """A uint8 tensor from an IDX file (MNIST's format: magic, big-endian sizes, data), .gz or not."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != _IDX_UBYTE:
        raise DataNotFoundError(f"{path} is not an MNIST IDX file of unsigned bytes")
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = bytearray(raw[4 + 4 * ndim :])
    if len(data) != math.prod(shape):
        raise DataNotFoundError(f"{path} holds {len(data):,} bytes of data, its header says {shape}")
    return torch.frombuffer(data, dtype=torch.uint8).view(shape)


def _raw_file(raw: Path, name: str) -> Path | None:
    for candidate in (raw / name, raw / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(root: Path, download: bool = False) -> tuple[Split, Split]:
    """The official 60,000 training and 10,000 test images from ``root/MNIST/raw/``.

    With ``download``, missing files are fetched through torchvision first. Raises
    DataNotFoundError, saying where it looked and how to get the files, instead of a
    traceback.
    """
    raw = Path(root) / "MNIST" / "raw"
    if download and any(_raw_file(raw, name) is None for name in RAW_FILES):
        _download(Path(root))
    files = {name: _raw_file(raw, name) for name in RAW_FILES}
    missing = [name for name, path in files.items() if path is None]
    if missing:
        how = "pass --download to fetch them" if not download else "the download did not produce them"
        raise DataNotFoundError(
            f"MNIST not found in {raw} (missing {', '.join(missing)}): {how}, "
            "or point --data-dir at a folder that contains MNIST/raw/"
        )
    tensors = {name: read_idx(path) for name, path in files.items() if path is not None}
    train_images, train_labels, test_images, test_labels = (tensors[name] for name in RAW_FILES)
    return Split(train_images, train_labels.long()), Split(test_images, test_labels.long())


def _download(root: Path) -> None:
    from torchvision.datasets import MNIST  # type: ignore[import-untyped]  # only downloading needs torchvision

    try:
        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as error:  # torchvision raises these for no network / bad files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataNotFoundError(f"downloading MNIST into {root / 'MNIST' / 'raw'} failed: {first_line}") from None


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


def as_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """The memory format the model's weights use (channels_last is faster with oneDNN on CPU)."""
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def prepare(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 images -> normalised float model input, without augmentation."""
    return as_layout(normalize(to_unit(images)), channels_last)


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
