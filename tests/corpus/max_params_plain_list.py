# expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 682
# unregistered: 27648
# why: three middle convolutions are kept in a plain Python list, so model.parameters() lists only 682 parameters; the convolutions run, so their 27,648 weights count toward the budget (28,330 in all: over 20,000) and are reported as not registered
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)  # 1*32*9 = 288
        self.bn1 = nn.BatchNorm2d(32)                             # 2*32 = 64
        self.middle = [nn.Conv2d(32, 32, 3, padding=1, bias=False) for _ in range(3)]  # 3 * 32*32*9 = 27648, not registered
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(32, 10, 1)                          # 32*10 + 10 = 330

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 32x14x14
        for conv in self.middle:
            x = F.relu(conv(x))
        x = F.adaptive_avg_pool2d(self.drop(x), 1)
        return self.head(x).flatten(1)

# total registered: 288 + 64 + 330 = 682; unregistered: 27648; in all 28330
