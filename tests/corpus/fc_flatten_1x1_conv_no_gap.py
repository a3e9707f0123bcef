# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 9122
# why: the classic dodge: flatten the 16x7x7 map to 784 values, reshape to (b, 784, 1, 1) and apply Conv2d(784, 10, 1): a 1x1 conv on a 1x1 map with NO GAP anywhere is exactly nn.Linear(784, 10); the 1x1-after-GAP exemption cannot apply
import torch
import torch.nn as nn
import torch.nn.functional as F


class FlattenConvOnlyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.classifier = nn.Conv2d(784, 10, 1)                   # 784*10 + 10 = 7850  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        x = x.reshape(x.shape[0], -1, 1, 1)                               # (2, 784, 1, 1)
        x = self.classifier(x)                                            # (2, 10, 1, 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 7850 = 9122
