# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1432
# why: per-pixel channel mixing written as torch.einsum('bchw,kc->bkhw', x, self.W) with an nn.Parameter operand: by the rule's definition an einsum with a parameter is a hand-written FC layer (use nn.Conv2d(16, 10, 1) instead)
import torch
import torch.nn as nn
import torch.nn.functional as F


class EinsumHeadNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.W = nn.Parameter(torch.randn(10, 16) * 0.1)          # 10*16 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = torch.einsum('bchw,kc->bkhw', x, self.W)                      # 10x7x7
        x = x.mean((2, 3))                                                # GAP -> (2, 10)
        return F.log_softmax(x, dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
