# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1442
# why: honest: channels-last by x.movedim(1, destination=3) (one dimension by position, one by keyword) and x.transpose(1, dim1=3), then a mean over the two spatial dimensions; the GAP must be recognised and the keyword spelling must not break the tracer
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
        self.head = nn.Conv2d(16, 10, 1)                          # 16*10 + 10 = 170

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        last = x.movedim(1, destination=3)            # b, h, w, c
        back = last.transpose(1, dim1=3)              # b, c, w, h
        pooled = last.mean((1, 2)) + back.mean((2, 3))
        return self.head(pooled[:, :, None, None] / 2).flatten(1)

# total: 1272 + 170 = 1442
