# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1496
# why: an nn.Linear hidden three levels deep (Net -> Trunk -> Mixer -> nn.Linear applied across the channel axis of each pixel); it is still a fully connected layer
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mixer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Linear(c, c, bias=False)   # <- finding(no-linear)

    def forward(self, x):                                   # x: (b, c, h, w)
        return x + self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.mix = Mixer(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = self.mix(x)
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = Trunk()
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.head(self.trunk(x)), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# conv1 1*8*9 = 72, bn1 16, Mixer Linear(8, 8, no bias) 64, conv2 8*16*9 = 1152, bn2 32, head 16*10 = 160
# total: 72 + 16 + 64 + 1152 + 32 + 160 = 1496
