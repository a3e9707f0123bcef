# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1432
# why: FC through a flat parameter reshaped on the fly: torch.matmul(x, self.W.view(16, 10))
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
        self.W = nn.Parameter(torch.randn(160) * 0.1)             # 160 (flat, viewed as 16x10)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)                        # GAP -> (2, 16)
        x = torch.matmul(x, self.W.view(16, 10))
        return F.log_softmax(x, dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
