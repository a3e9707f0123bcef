# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: an abstract base class (no forward, only helpers) plus one concrete subclass; the base is not a candidate, so discovery picks ConcreteNet without a target
import torch
import torch.nn as nn
import torch.nn.functional as F


class BaseClassifier(nn.Module):
    """Shared plumbing; no forward, so not a model candidate."""

    def __init__(self, classes=10):
        super().__init__()
        self.classes = classes

    def finish(self, x):
        x = F.adaptive_avg_pool2d(x, 1)
        return F.log_softmax(x.flatten(1), dim=1)


class ConcreteNet(BaseClassifier):
    def __init__(self):
        super().__init__(10)
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(16, self.classes, 1, bias=False)    # 16*10 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        return self.finish(self.head(x))

# total: 72 + 16 + 1152 + 32 + 160 = 1432
