# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 24048
# why: all-lazy model that is over budget only once materialised (24,048); before the forward its parameters are uninitialised and would count as 0
import torch
import torch.nn as nn
import torch.nn.functional as F


class LazyBigNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.LazyConv2d(16, 3, padding=1, bias=False),  # in=1:  1*16*3*3 = 144
            nn.LazyBatchNorm2d(),                         # C=16:  32
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.LazyConv2d(32, 3, padding=1, bias=False),  # in=16: 16*32*3*3 = 4608
            nn.LazyBatchNorm2d(),                         # C=32:  64
            nn.ReLU(),
            nn.MaxPool2d(2),                              # 14x14
            nn.LazyConv2d(64, 3, padding=1, bias=False),  # in=32: 32*64*3*3 = 18432
            nn.LazyBatchNorm2d(),                         # C=64:  128
            nn.ReLU(),
            nn.MaxPool2d(2),                              # 7x7
            nn.LazyConv2d(10, 1, bias=False),             # in=64: 64*10 = 640
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x):
        return F.log_softmax(self.features(x), dim=1)

# total: 144 + 32 + 4608 + 64 + 18432 + 128 + 640 = 24048
