# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1272
# unregistered: 170
# why: the classifier weights are plain tensors with requires_grad=True (not nn.Parameters): they are still learned weights, so x @ W is an FC layer, and their 170 values count toward the budget as unregistered
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
        self.w = torch.randn(16, 10, requires_grad=True)            # 160, not registered
        self.b = torch.zeros(10, requires_grad=True)                # 10, not registered

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return x @ self.w + self.b  # <- finding(no-linear)

# total registered: 1272; unregistered: 170
