# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: batch norm only through F.batch_norm with the model's own affine Parameters and running-stat buffers (buffers not counted); no nn.BatchNorm module anywhere
import torch
import torch.nn as nn
import torch.nn.functional as F


class FunctionalBNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.g1 = nn.Parameter(torch.ones(8))                     # 8
        self.b1 = nn.Parameter(torch.zeros(8))                    # 8
        self.register_buffer("rm1", torch.zeros(8))               # buffer: 0
        self.register_buffer("rv1", torch.ones(8))                # buffer: 0
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.g2 = nn.Parameter(torch.ones(16))                    # 16
        self.b2 = nn.Parameter(torch.zeros(16))                   # 16
        self.register_buffer("rm2", torch.zeros(16))              # buffer: 0
        self.register_buffer("rv2", torch.ones(16))               # buffer: 0
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = self.conv1(x)
        x = F.batch_norm(x, self.rm1, self.rv1, self.g1, self.b1, training=self.training)
        x = F.max_pool2d(F.dropout(F.relu(x), 0.1, self.training), 2)      # 8x14x14
        x = self.conv2(x)
        x = F.batch_norm(x, self.rm2, self.rv2, self.g2, self.b2, training=self.training)
        x = F.max_pool2d(F.dropout(F.relu(x), 0.1, self.training), 2)      # 16x7x7
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 8+8 + 1152 + 16+16 + 160 = 1432
