# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=pass num-classes=pass
# params: 1432
# why: nn.AvgPool2d(5) on a 7x7 map outputs 1x1 but the window only covers the top-left 5x5 (24 of 49 positions ignored): not a global average
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
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160
        self.pool = nn.AvgPool2d(5)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = self.head(x)                                                  # 10x7x7
        x = self.pool(x).flatten(1)                                       # 10x1x1 from 25/49 positions
        return F.log_softmax(x, dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
