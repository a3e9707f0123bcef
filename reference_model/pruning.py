"""Skipping images the model has already learned: InfoBatch (Qin et al., ICLR 2024).

In each epoch but the first and the last, an image whose training loss (from the last time
it was trained) is below the mean of those losses is skipped with probability ``ratio``;
the well-learned images that are kept count ``1 / (1 - ratio)`` times in the loss, so an
epoch's expected gradient is still that of the whole split. The first epoch has no losses
yet, and the last trains on every image (the paper's annealing), so the model ends on the
whole distribution. On MNIST most images are learned after one epoch: a ratio of 0.3 (the
``fast`` recipe's) skips ~25 % of each middle epoch, 0.5 ~42 % (README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class EpochPlan:
    order: torch.Tensor  # indices into the split of the images trained this epoch, shuffled
    weights: torch.Tensor  # (N,) loss weight of each image of the split

    def steps(self, batch_size: int) -> int:
        """Full batches in the epoch (the last partial one is dropped: a batch of one would break BatchNorm)."""
        return len(self.order) // batch_size


class InfoBatch:
    """Which images an epoch trains on, from the losses recorded while training."""

    def __init__(self, size: int, ratio: float, epochs: int, device: torch.device) -> None:
        if not 0 <= ratio < 1:
            raise ValueError(f"the pruning ratio must be at least 0 and below 1, got {ratio}")
        self.ratio, self.epochs, self.epoch = ratio, epochs, 0
        self.losses = torch.full((size,), math.inf, device=device)  # inf: not trained yet

    def next_epoch(self, generator: torch.Generator, batch_size: int) -> EpochPlan:
        """The next epoch's images; random draws come from ``generator`` (on the CPU)."""
        self.epoch += 1
        size, device = len(self.losses), self.losses.device
        weights = torch.ones(size, device=device)
        kept = torch.arange(size, device=device)
        trained = self.losses.isfinite()
        if self.ratio > 0 and 1 < self.epoch < self.epochs and trained.any():
            learned = trained & (self.losses < self.losses[trained].mean())
            skipped = learned & (torch.rand(size, generator=generator).to(device) < self.ratio)
            if size - int(skipped.sum()) >= batch_size:
                kept = (~skipped).nonzero().squeeze(1)
                weights[learned] = 1 / (1 - self.ratio)
        return EpochPlan(kept[torch.randperm(len(kept), generator=generator).to(device)], weights)

    def record(self, index: torch.Tensor, losses: torch.Tensor) -> None:
        self.losses[index] = losses.detach()
