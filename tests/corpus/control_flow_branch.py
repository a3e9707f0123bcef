# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1602
# why: data-dependent 'if (x >= 0).all():' after a ReLU (cannot run on meta tensors; always true on real data): the taken branch has the only dropout and the GAP; the never-taken else branch holds an nn.Linear, which does not execute
import torch
import torch.nn as nn
import torch.nn.functional as F


class BranchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.2)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 160
        self.fc = nn.Linear(16, 10)                               # 16*10 + 10 = 170 (only in the dead branch)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)             # >= 0 everywhere
        if (x >= 0).all():                                                # data-dependent, always True
            x = F.adaptive_avg_pool2d(self.head(self.drop(x)), 1).flatten(1)
        else:
            x = self.fc(x.amax((2, 3)))
        return F.log_softmax(x, dim=1)

# total: 72 + 16 + 1152 + 32 + 160 + 170 = 1602
