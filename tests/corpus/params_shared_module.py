# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 12120
# why: one Conv2d(32, 32, 3) instance is registered twice (as self.shared and inside self.stage twice); its 9,216 weights count once: 12,120 (not 21,336 or 30,552)
import torch
import torch.nn as nn
import torch.nn.functional as F


class SharedModuleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)    # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                               # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1, bias=False)   # 8*32*3*3 = 2304
        self.bn2 = nn.BatchNorm2d(32)                              # 2*32 = 64
        shared = nn.Conv2d(32, 32, 3, padding=1, bias=False)       # 32*32*3*3 = 9216 (once)
        self.shared = shared
        self.stage = nn.Sequential(
            shared, nn.BatchNorm2d(32), nn.ReLU(), nn.Dropout(0.1),  # BN: 64
            shared, nn.BatchNorm2d(32), nn.ReLU(), nn.Dropout(0.1),  # same conv again: +0, BN: 64
        )
        self.head = nn.Conv2d(32, 10, 1, bias=False)               # 32*10 = 320

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)      # 8x14x14
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)      # 32x7x7
        x = self.stage(x)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 2304 + 64 + 9216 + 64 + 64 + 320 = 12120
