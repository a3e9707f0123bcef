# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 9122
# why: Conv2d(16, 10, 7) on the 7x7 map: its kernel covers the whole input, so it is an FC layer in disguise; no average pooling at all, so gap fails too
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvFCNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.fc_conv = nn.Conv2d(16, 10, 7)                       # 16*10*7*7 + 10 = 7840 + 10 = 7850  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = self.fc_conv(x)                                               # 10x1x1
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 7850 = 9122
