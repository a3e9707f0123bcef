# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1442
# why: the dense classifier is computed in a torch.jit.script function (F.linear inside TorchScript runs below Python); the dispatcher sees the addmm
import torch
import torch.nn as nn
import torch.nn.functional as F


@torch.jit.script
def dense(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.linear(x, w, b)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.w = nn.Parameter(torch.randn(10, 16) * 0.1)            # 160
        self.b = nn.Parameter(torch.zeros(10))                     # 10

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return dense(x, self.w, self.b)  # <- finding(no-linear)

# total: 1272 + 160 + 10 = 1442
