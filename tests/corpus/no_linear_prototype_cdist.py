# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1432
# why: a prototype classifier: logits = -cdist(x, P)**2 against 10 learned prototypes P; the squared distance contains x @ P.T, a dense layer
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
        self.prototypes = nn.Parameter(torch.randn(10, 16))         # 10*16 = 160

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return -torch.cdist(x, self.prototypes) ** 2  # <- finding(no-linear)

# total: 1272 + 160 = 1432
