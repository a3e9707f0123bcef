# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=pass num-classes=pass
# params: 1442
# why: a global average pool is computed and kept on self for plotting, while the logits come from a 1x1 conv and a global MAX pool; the GAP's result never reaches the output
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
        self.head = nn.Conv2d(16, 10, 1)                           # 16*10 + 10 = 170
        self.pooled_for_plot = None

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = self.features(x)
        self.pooled_for_plot = x.mean((2, 3)).detach()  # <- finding(gap)
        return F.adaptive_max_pool2d(self.head(x), 1).flatten(1)

# total: 1272 + 170 = 1442
