# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 23728
# frozen: 18432
# why: two frozen (requires_grad=False) 32->32 convs (18,432 params) still count: total 23,728 fails although only 5,296 are trainable
import torch
import torch.nn as nn
import torch.nn.functional as F


class FrozenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)   # 1*16*3*3 = 144
        self.bn1 = nn.BatchNorm2d(16)                              # 32
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)  # 16*32*3*3 = 4608
        self.bn2 = nn.BatchNorm2d(32)                              # 64
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1, bias=False)  # 32*32*3*3 = 9216 (frozen)
        self.bn3 = nn.BatchNorm2d(32)                              # 64
        self.conv4 = nn.Conv2d(32, 32, 3, padding=1, bias=False)  # 9216 (frozen)
        self.bn4 = nn.BatchNorm2d(32)                              # 64
        self.head = nn.Conv2d(32, 10, 1, bias=False)               # 320
        self.drop = nn.Dropout(0.1)
        for p in list(self.conv3.parameters()) + list(self.conv4.parameters()):
            p.requires_grad_(False)

    def forward(self, x):
        x = self.drop(F.relu(self.bn1(self.conv1(x))))                    # 16x28x28
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)   # 32x14x14
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)              # 32x7x7
        x = F.relu(self.bn4(self.conv4(x)))
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 144 + 32 + 4608 + 64 + 9216 + 64 + 9216 + 64 + 320 = 23728
# frozen: 9216 + 9216 = 18432, trainable: 23728 - 18432 = 5296
