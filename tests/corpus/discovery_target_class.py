# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 21648
# target: WideNet
# why: two independent complete models in one file (ambiguous without a target); '::WideNet' selects the over-budget one, not the small one listed first
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)   # 90
        self.bn = nn.BatchNorm2d(10)                              # 20
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return F.log_softmax(x.mean((2, 3)), dim=1)


class WideNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)   # 1*16*3*3 = 144
        self.bn1 = nn.BatchNorm2d(16)                              # 32
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)  # 16*32*3*3 = 4608
        self.bn2 = nn.BatchNorm2d(32)                              # 64
        self.conv3 = nn.Conv2d(32, 56, 3, padding=1, bias=False)  # 32*56*3*3 = 16128
        self.bn3 = nn.BatchNorm2d(56)                              # 112
        self.head = nn.Conv2d(56, 10, 1, bias=False)               # 56*10 = 560
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = self.drop(F.relu(self.bn3(self.conv3(x))))
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total (WideNet): 144 + 32 + 4608 + 64 + 16128 + 112 + 560 = 21648
