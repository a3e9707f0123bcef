# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1384
# why: BatchNorm2d(affine=False) has no parameters (only running-stat buffers) but is still batch norm
import torch
import torch.nn as nn
import torch.nn.functional as F


class NoAffineBNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8, affine=False)                # 0
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16, affine=False)               # 0
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 0 + 1152 + 0 + 160 = 1384
