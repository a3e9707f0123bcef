# expect: max-params=pass batchnorm=fail dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: InstanceNorm2d and GroupNorm (and LayerNorm without params) normalise but are not batch norm
import torch
import torch.nn as nn
import torch.nn.functional as F


class LookalikeNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.in1 = nn.InstanceNorm2d(8, affine=True)              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.gn2 = nn.GroupNorm(4, 16)                            # 2*16 = 32
        self.ln = nn.LayerNorm([10, 7, 7], elementwise_affine=False)  # 0
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.in1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.gn2(self.conv2(x)))), 2)  # 16x7x7
        x = self.ln(self.head(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 0 + 160 = 1432
