"""The one-cycle learning-rate and momentum schedule, as a function of training progress.

``torch.optim.lr_scheduler.OneCycleLR`` counts steps and needs their total in advance;
with images skipped (pruning.py) an epoch's number of steps is known only when it starts.
This is the same schedule (cosine warm-up from ``max_lr / 25`` to ``max_lr`` over the first
30 % of training, cosine annealing to ``max_lr / 25e4``, momentum cycled the other way
between ``max_momentum`` and 0.85) indexed by the fraction of the planned epochs done.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .optimizer import NesterovSGD


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) / 2 * (1 + math.cos(math.pi * fraction))


@dataclass(frozen=True)
class OneCycle:
    max_lr: float
    max_momentum: float
    base_momentum: float = 0.85
    warmup: float = 0.3  # OneCycleLR's pct_start
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    def at(self, progress: float) -> tuple[float, float]:
        """(learning rate, momentum) after ``progress`` (0 to 1) of the training."""
        initial = self.max_lr / self.div_factor
        if progress <= self.warmup:
            fraction = progress / self.warmup
            return _cosine(initial, self.max_lr, fraction), _cosine(self.max_momentum, self.base_momentum, fraction)
        fraction = (progress - self.warmup) / (1 - self.warmup)
        return (
            _cosine(self.max_lr, initial / self.final_div_factor, fraction),
            _cosine(self.base_momentum, self.max_momentum, fraction),
        )

    def apply(self, optimizer: NesterovSGD, progress: float) -> None:
        optimizer.lr, optimizer.momentum = self.at(progress)

    def in_epoch(self, optimizer: NesterovSGD, epoch: int, epochs: int) -> Callable[[float], None]:
        """What sets the schedule for a step of epoch ``epoch`` (from 1) of ``epochs``, given the fraction of the epoch done."""
        return lambda fraction: self.apply(optimizer, (epoch - 1 + fraction) / epochs)
