# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass
# params: 23760
# args: --max-params 23760
# why: budget equal to the exact total: the rule is strictly below, so 23,760 with --max-params 23760 fails
import torch
import torch.nn as nn
import torch.nn.functional as F


class SeedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False),   # 1*16*3*3 = 144          28x28
            nn.ReLU(),
            nn.BatchNorm2d(16),                            # 2*16 = 32
            nn.Dropout(0.1),
            nn.Conv2d(16, 32, 3, padding=1, bias=False),  # 16*32*3*3 = 4608        28x28
            nn.ReLU(),
            nn.BatchNorm2d(32),                            # 2*32 = 64
            nn.Dropout(0.1),
            nn.MaxPool2d(2),                               # -> 14x14
        )
        self.block2 = nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1, bias=False),  # 32*32*3*3 = 9216        14x14
            nn.ReLU(),
            nn.BatchNorm2d(32),                            # 64
            nn.Dropout(0.1),
            nn.Conv2d(32, 16, 3, padding=1, bias=False),  # 32*16*3*3 = 4608        14x14
            nn.ReLU(),
            nn.BatchNorm2d(16),                            # 32
            nn.Dropout(0.1),
            nn.MaxPool2d(2),                               # -> 7x7
        )
        self.block3 = nn.Sequential(
            nn.Conv2d(16, 32, 3, bias=False),             # 16*32*3*3 = 4608        -> 5x5
            nn.ReLU(),
            nn.BatchNorm2d(32),                            # 64
            nn.Dropout(0.1),
            nn.AvgPool2d(5),                               # 5x5 -> 1x1 : whole map = GAP
        )
        self.head = nn.Conv2d(32, 10, 1, bias=False)       # 32*10 = 320 (1x1 map after GAP)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        x = self.head(x)
        return F.log_softmax(x.view(-1, 10), dim=1)

# total: 144+32 + 4608+64 + 9216+64 + 4608+32 + 4608+64 + 320 = 23760
