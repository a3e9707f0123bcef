# expect: max-params=pass batchnorm=fail dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: BatchNorm2d modules are declared in __init__ (their 48 params still count) but forward never calls them, so no batch norm executes
import torch
import torch.nn as nn
import torch.nn.functional as F


class UnusedBNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16 (never called)  # <- finding(batchnorm)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32 (never called)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.conv1(x))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.conv2(x))), 2)  # 16x7x7
        x = self.gap(self.head(x))
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
