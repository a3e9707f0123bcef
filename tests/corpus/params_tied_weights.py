# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 12120
# why: conv_b.weight is tied to conv_a.weight (self.conv_b.weight = self.conv_a.weight): the 9,216-weight tensor counts once (12,120); counting it twice would give 21,336 and wrongly fail
import torch
import torch.nn as nn
import torch.nn.functional as F


class TiedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)    # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                               # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1, bias=False)   # 8*32*3*3 = 2304
        self.bn2 = nn.BatchNorm2d(32)                              # 2*32 = 64
        self.conv_a = nn.Conv2d(32, 32, 3, padding=1, bias=False)  # 32*32*3*3 = 9216
        self.bn_a = nn.BatchNorm2d(32)                             # 64
        self.conv_b = nn.Conv2d(32, 32, 3, padding=1, bias=False)  # tied below: +0
        self.conv_b.weight = self.conv_a.weight
        self.bn_b = nn.BatchNorm2d(32)                             # 64
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(32, 10, 1, bias=False)               # 32*10 = 320

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)   # 32x7x7
        x = self.drop(F.relu(self.bn_a(self.conv_a(x))))
        x = self.drop(F.relu(self.bn_b(self.conv_b(x))))
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 2304 + 64 + 9216 + 64 + 0 + 64 + 320 = 12120   (double-counted: 21336)
