# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 9122
# why: F.pixel_unshuffle(x, 7) turns the 16x7x7 map into 784 channels on a 1x1 map; the 1x1 conv over 784 channels that follows is nn.Linear(784, 10): no global pool ran, so the 1x1-map allowance does not apply
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
        self.head = nn.Conv2d(784, 10, 1)  # <- finding(no-linear)

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = F.pixel_unshuffle(self.features(x), 7)   # 784x1x1
        return self.head(x).flatten(1)

# total: 1272 + 784*10 + 10 = 9122
