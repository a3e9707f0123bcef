# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 12120
# why: one nn.Parameter registered under two names (self.w and self.w_again) and used by two F.conv2d calls; counted once: 12,120 (twice would be 21,336)
import torch
import torch.nn as nn
import torch.nn.functional as F


class SharedParamNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)    # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                               # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1, bias=False)   # 8*32*3*3 = 2304
        self.bn2 = nn.BatchNorm2d(32)                              # 2*32 = 64
        self.w = nn.Parameter(torch.randn(32, 32, 3, 3) * 0.05)    # 32*32*3*3 = 9216
        self.w_again = self.w                                      # same Parameter, 2nd name: +0
        self.bn_a = nn.BatchNorm2d(32)                             # 64
        self.bn_b = nn.BatchNorm2d(32)                             # 64
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(32, 10, 1, bias=False)               # 32*10 = 320

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)   # 32x7x7
        x = F.relu(self.bn_a(F.conv2d(x, self.w, padding=1)))
        x = F.relu(self.bn_b(F.conv2d(x, self.w_again, padding=1)))
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 2304 + 64 + 9216 + 64 + 64 + 320 = 12120
