# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1443
# why: honest: the only BatchNorms sit in a residual branch scaled by a learnable gate initialised to zero (ReZero); at the first step the branch's gradient is zero, but training moves the gate, so the BatchNorm takes part in the output (unlike a literal 0 * bn(x))
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
        self.gate = nn.Parameter(torch.zeros(1))                  # 1
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1)                          # 16*10 + 10 = 170

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x + self.gate * self.bn1(x), 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(self.drop(x + self.gate * self.bn2(x)), 2)
        return self.head(x.mean((2, 3), keepdim=True)).flatten(1)

# total: 72 + 16 + 1152 + 32 + 1 + 170 = 1443
