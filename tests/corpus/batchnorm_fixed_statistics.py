# expect: max-params=pass batchnorm=fail dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1426
# why: the only normalisation is F.batch_norm(x, mean, var, w, b, training=False) with fixed buffers: an affine map by constant statistics, not normalisation by the current batch
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
        del self.bn1, self.bn2
        self.register_buffer("mean", torch.zeros(16))
        self.register_buffer("var", torch.ones(16))
        self.gamma = nn.Parameter(torch.ones(16))                  # 16
        self.beta = nn.Parameter(torch.zeros(16))                  # 16
        self.head = nn.Conv2d(16, 10, 1)                           # 16*10 + 10 = 170

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.conv1(x))), 2)
        x = F.batch_norm(self.conv2(x), self.mean, self.var, self.gamma, self.beta, training=False)  # <- finding(batchnorm)
        x = F.max_pool2d(self.drop(F.relu(x)), 2)
        return self.head(x.mean((2, 3), keepdim=True)).flatten(1)

# total: 72 + 1152 + 16 + 16 + 170 = 1426
