# expect: max-params=pass batchnorm=pass dropout=fail gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: nn.Dropout(0.5) declared in __init__ but never called in forward
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
        self.drop = nn.Dropout(0.5)                               # never called  # <- finding(dropout)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))

        x = F.max_pool2d(x, 2)                                    # 8x14x14
        x = F.relu(self.bn2(self.conv2(x)))

        x = F.max_pool2d(x, 2)                                    # 16x7x7
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432 (dropout has no parameters)
