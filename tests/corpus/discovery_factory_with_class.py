# expect: max-params=pass batchnorm=pass dropout=fail gap=fail no-linear=fail num-classes=pass
# params: 1442
# target: make_net
# why: factory target in a file that also defines a model class (Decoy, all rules pass); the factory's model uses Linear, no dropout and a global MAX pool, so the verdicts prove the factory (not the class) was checked
import torch
import torch.nn as nn
import torch.nn.functional as F


class Decoy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)   # 90
        self.bn = nn.BatchNorm2d(10)                              # 20
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return F.log_softmax(x.mean((2, 3)), dim=1)


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),    # 1*8*3*3 = 72
        nn.BatchNorm2d(8),                             # 16
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),   # 8*16*3*3 = 1152
        nn.BatchNorm2d(16),                            # 32
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),                       # global MAX pool
        nn.Flatten(),
        nn.Linear(16, 10),                             # 16*10 + 10 = 170
    )

# total (make_net): 72 + 16 + 1152 + 32 + 170 = 1442
