# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 2226
# why: honest: a learned positional bias (1x16x7x7) is added to the map, then ReLU and a global average pool; adding a weight and averaging is not a layer (only a difference against several learned units, as in a prototype classifier, would be)
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
        self.position = nn.Parameter(torch.zeros(1, 16, 7, 7))    # 16*7*7 = 784
        self.head = nn.Conv2d(16, 10, 1)                          # 16*10 + 10 = 170

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = F.relu(x + self.position).mean((2, 3), keepdim=True)
        return self.head(x).flatten(1)

# total: 72 + 16 + 1152 + 32 + 784 + 170 = 2226
