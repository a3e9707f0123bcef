# expect: max-params=pass batchnorm=fail dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: the BatchNorms are called only under 'if x.min() < 0:' right after a ReLU, which is never true on real data, so no batch norm executes (a static reading of forward would wrongly see them)
import torch
import torch.nn as nn
import torch.nn.functional as F


class DeadBNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 160

    def forward(self, x):
        x = F.relu(self.conv1(x))
        if x.min() < 0:                                           # never true after ReLU
            x = self.bn1(x)
        x = F.max_pool2d(self.drop(x), 2)
        x = F.relu(self.conv2(x))
        if x.min() < 0:                                           # never true
            x = self.bn2(x)
        x = F.max_pool2d(self.drop(x), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
