# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1442
# why: the classifier is a subclass of nn.Linear with a friendly name ('Classifier'); a Linear subclass is still FC. Classifier is a helper class used as a submodule, so discovery must pick Net
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 1.0


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.cls = Classifier(16, 10)                             # 16*10 + 10 = 170  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return F.log_softmax(self.cls(x), dim=1)

# total: 72 + 16 + 1152 + 32 + 170 = 1442
