# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# target: build_model
# why: the target is a factory function returning an nn.Sequential (no nn.Module subclass in the file at all)
import torch
import torch.nn as nn


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),    # 1*8*3*3 = 72
        nn.BatchNorm2d(8),                             # 16
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),   # 8*16*3*3 = 1152
        nn.BatchNorm2d(16),                            # 32
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 10, 1, bias=False),              # 16*10 = 160
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )

# total: 72 + 16 + 1152 + 32 + 160 = 1432
