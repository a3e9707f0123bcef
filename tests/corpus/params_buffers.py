# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: 40,000-element and 784-element buffers (plus BN running stats) are buffers, not parameters: only the 1,432 parameters count
import torch
import torch.nn as nn
import torch.nn.functional as F


class BufferNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean_image", torch.zeros(1, 1, 28, 28))            # buffer: 784 elements, 0 params
        self.register_buffer("lookup", torch.randn(200, 200))                    # buffer: 40000 elements, 0 params
        self.register_buffer("scratch", torch.ones(30000), persistent=False)     # non-persistent buffer: 0 params
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16 (+ running_mean/var/num_batches buffers)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = x - self.mean_image
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432 (buffers excluded)
