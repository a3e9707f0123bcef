# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 2200
# why: self-attention over spatial positions with q/k/v from 1x1 convs: the matmuls (q @ k^T, attn @ v) are between activations only, which is not an FC layer
import torch
import torch.nn as nn
import torch.nn.functional as F


class SpatialAttentionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.q = nn.Conv2d(16, 16, 1, bias=False)                 # 16*16 = 256
        self.k = nn.Conv2d(16, 16, 1, bias=False)                 # 16*16 = 256
        self.v = nn.Conv2d(16, 16, 1, bias=False)                 # 16*16 = 256
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        b, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)                          # (2, 49, 16)
        k = self.k(x).flatten(2)                                          # (2, 16, 49)
        v = self.v(x).flatten(2).transpose(1, 2)                          # (2, 49, 16)
        attn = torch.softmax(q @ k / c ** 0.5, dim=-1)                    # (2, 49, 49) activation @ activation
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, c, h, w)     # activation @ activation
        x = x + y
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 3*256 + 160 = 2200
