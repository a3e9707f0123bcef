# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 9112
# why: F.conv2d(x, self.W) with a (10, 16, 7, 7) parameter on the 7x7 map: functional conv whose kernel covers the whole input = FC; no average pool runs
import torch
import torch.nn as nn
import torch.nn.functional as F


class FunctionalConvFCNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.W = nn.Parameter(torch.randn(10, 16, 7, 7) * 0.01)   # 10*16*7*7 = 7840

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = F.conv2d(x, self.W)  # <- finding(no-linear)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 7840 = 9112
