# expect: max-params=pass batchnorm=fail dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1442
# why: x = x + 0 * bn(x): the BatchNorm's result flows into the output but is multiplied by zero, so its gradient is zero and the output does not change with it
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1)                           # 16*10 + 10 = 170

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = x + 0 * self.bn1(x)  # <- finding(batchnorm)
        x = F.max_pool2d(self.drop(x), 2)
        x = F.max_pool2d(self.drop(F.relu(self.conv2(x))), 2)
        return self.head(x.mean((2, 3), keepdim=True)).flatten(1)

# total: 1272 + 170 = 1442 (bn2 is declared but never called)
