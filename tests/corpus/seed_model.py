# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 23760
# why: the seed model: its README claimed 19,768 params but the convs alone are 23,440 (+320 head) = 23,760 >= 20,000; AvgPool2d(5) covers the whole 5x5 map (GAP); the 1x1 conv after GAP is allowed by default
# also: --max-params 25000 => max-params=pass ; the budget raised by --max-params 25000: 23,760 < 25,000, every rule passes
# also: --max-params 23760 => max-params=fail ; a budget equal to the exact total fails: the rule is strictly below
# also: --strict-fc => no-linear=fail ; under --strict-fc the 1x1 conv head on the 1x1 map after GAP is a fully connected layer
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
