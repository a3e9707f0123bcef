# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: every layer is lazy (LazyConv2d / LazyBatchNorm2d); shapes come from the forward pass; materialised it is the clean model (1,432); LazyBatchNorm2d is batch norm
import torch
import torch.nn as nn
import torch.nn.functional as F


class LazySmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.LazyConv2d(8, 3, padding=1, bias=False)   # in=1:  1*8*3*3 = 72
        self.bn1 = nn.LazyBatchNorm2d()                           # C=8:   16
        self.conv2 = nn.LazyConv2d(16, 3, padding=1, bias=False)  # in=8:  8*16*3*3 = 1152
        self.bn2 = nn.LazyBatchNorm2d()                           # C=16:  32
        self.drop = nn.Dropout(0.1)
        self.head = nn.LazyConv2d(10, 1, bias=False)              # in=16: 16*10 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
