"""The small reference model: at most 8,000 parameters, same rules as ``model.py``.

Kept in its own file so that ``archcheck reference_model/tiny.py`` discovers exactly one
root model. It shares ``conv_bn_relu`` with ``model.py``; archcheck puts the project root
on ``sys.path``, so the absolute import works when the file is checked on its own.

Layer by layer (input 1x28x28, 3x3 convs without padding)::

    conv 1->8    26x26      72 + 16 (BN)
    conv 8->16   24x24   1,152 + 32
    maxpool      12x12
    conv 1x1 16->8       128 + 16
    conv 8->16   10x10   1,152 + 32
    conv 16->16   8x8    2,304 + 32
    conv 16->16   6x6    2,304 + 32
    global average pool  1x1
    conv 1x1 16->10        160 + 10 (bias)
                        ------
                         7,442 parameters
"""

from __future__ import annotations

import torch
from torch import nn

from reference_model.model import conv_bn_relu


class TinyNet(nn.Module):
    """7,442-parameter CNN for the <=8K-parameter variant of the assignment."""

    def __init__(self, dropout: float = 0.05) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 8),
            conv_bn_relu(8, 16),
            nn.MaxPool2d(2),
            conv_bn_relu(16, 8, kernel_size=1),
            nn.Dropout(dropout),
            conv_bn_relu(8, 16),
            conv_bn_relu(16, 16),
            conv_bn_relu(16, 16),
            nn.Dropout(dropout),
        )
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Conv2d(16, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.gap(self.features(x))).flatten(1)
