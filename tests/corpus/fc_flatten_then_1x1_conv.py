# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 9272
# why: the 16x7x7 map is flattened to 784 values and reshaped to (b, 784, 1, 1) so that Conv2d(784, 10, 1) runs on a 1x1 map: a 1x1 conv on a 1x1 map is only exempt AFTER GAP; this one sees every position = FC. A separate GAP branch makes gap pass
import torch
import torch.nn as nn
import torch.nn.functional as F


class FlattenConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160
        self.fc_conv = nn.Conv2d(784, 10, 1, bias=False)          # 784*10 = 7840  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        a = F.adaptive_avg_pool2d(self.head(x), 1).flatten(1)             # GAP branch (2, 10)
        f = self.fc_conv(x.reshape(x.shape[0], 16 * 7 * 7, 1, 1)).flatten(1)  # FC in disguise (2, 10)
        return F.log_softmax(a + f, dim=1)

# total: 72 + 16 + 1152 + 32 + 160 + 7840 = 9272
