# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 19999
# why: exactly 19,999 parameters: one below the 20,000 budget, passes
import torch
import torch.nn as nn
import torch.nn.functional as F


class EdgeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 9, 3, padding=1, bias=False)    # 1*9*3*3 = 81
        self.bn1 = nn.BatchNorm2d(9)                               # 2*9 = 18
        self.conv2 = nn.Conv2d(9, 20, 3, padding=1, bias=False)   # 9*20*3*3 = 1620
        self.bn2 = nn.BatchNorm2d(20)                              # 2*20 = 40
        self.conv3 = nn.Conv2d(20, 95, 3, padding=1, bias=False)  # 20*95*3*3 = 17100
        self.bn3 = nn.BatchNorm2d(95)                              # 2*95 = 190
        self.head = nn.Conv2d(95, 10, 1, bias=False)               # 95*10 = 950
        self.drop = nn.Dropout(0.1)


    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 9x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 20x7x7
        x = self.drop(F.relu(self.bn3(self.conv3(x))))                       # 95x7x7
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 81 + 18 + 1620 + 40 + 17100 + 190 + 950 = 19999
