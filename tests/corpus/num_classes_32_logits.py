# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=fail
# params: 2456
# why: the model returns the 32 pooled channels as its "logits": 32 outputs per sample for a 10-class problem
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1, bias=False)  # 8*32*3*3 = 2304
        self.bn2 = nn.BatchNorm2d(32)                             # 2*32 = 64
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        return x.mean((2, 3))

# total: 72 + 16 + 2304 + 64 = 2456
