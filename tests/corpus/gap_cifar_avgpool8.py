# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1576
# args: --input-shape 3,32,32
# why: with --input-shape 3,32,32 the final map is 8x8 and AvgPool2d(8) covers all of it: GAP
import torch
import torch.nn as nn
import torch.nn.functional as F


class CifarNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)   # 3*8*3*3 = 216
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160
        self.pool = nn.AvgPool2d(8)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x16x16
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x8x8
        x = self.pool(self.head(x))                                       # 10x1x1
        return F.log_softmax(x.flatten(1), dim=1)

# total: 216 + 16 + 1152 + 32 + 160 = 1576
