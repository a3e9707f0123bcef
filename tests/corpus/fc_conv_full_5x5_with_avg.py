# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 5362
# why: Conv2d(16, 10, 5) on a cropped 5x5 map covers its whole input = FC in disguise; the later x.mean((2, 3)) over its 1x1 output averages nothing, so gap fails as well
import torch
import torch.nn as nn
import torch.nn.functional as F


class Conv5Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, bias=False)             # 8*16*3*3 = 1152   14x14 -> 12x12
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.fc_conv = nn.Conv2d(16, 10, 5, bias=False)          # 16*10*5*5 = 4000
        self.scale = nn.Parameter(torch.ones(1, 10, 1, 1))       # 10
        self.extra = nn.Conv2d(8, 8, 1, bias=False)               # 8*8 = 64 (1x1 conv on 14x14)
        self.bn3 = nn.BatchNorm2d(8)                              # 16

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.relu(self.bn3(self.extra(x)))                               # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x12x12 -> 16x6x6
        x = x[:, :, :5, :5]                                               # 16x5x5
        x = self.fc_conv(x) * self.scale                                  # 10x1x1
        x = x.mean((2, 3))                                                # mean of a 1x1 map: not GAP
        return F.log_softmax(x, dim=1)

# total: 72 + 16 + 64 + 16 + 1152 + 32 + 4000 + 10 = 5362
