# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1404
# why: the only batch norm is a BatchNorm1d on the pooled (2, 10) logits; it still executes, so batchnorm passes
import torch
import torch.nn as nn
import torch.nn.functional as F


class BN1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160
        self.drop = nn.Dropout(0.1)
        self.bn = nn.BatchNorm1d(10)                              # 2*10 = 20

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.conv2(x))), 2)
        x = self.head(x).mean((2, 3))                             # GAP -> (2, 10)
        return F.log_softmax(self.bn(x), dim=1)

# total: 72 + 1152 + 160 + 20 = 1404
