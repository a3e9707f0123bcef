# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 3010
# why: after the GAP a hidden MLP of 1x1 convolutions (16 -> 64 -> ReLU -> 10) runs on the 1x1 map; only the final classifier after GAP is allowed, so the 16 -> 64 layer is a fully connected layer
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
        self.hidden = nn.Conv2d(16, 64, 1)  # <- finding(no-linear)
        self.out = nn.Conv2d(64, 10, 1)                             # 64*10 + 10 = 650

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.out(F.relu(self.hidden(x))).flatten(1)

# total: 1272 + (16*64 + 64 = 1088) + 650 = 3010
