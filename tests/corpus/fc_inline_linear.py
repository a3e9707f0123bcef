# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1272
# unregistered: 170
# why: the Linear is constructed inside forward, so it is never registered in __init__: its 170 parameters are not in model.parameters() (registered 1272) but they run, so they count toward the budget (1442) and are reported as unregistered; an FC layer executes
import torch
import torch.nn as nn
import torch.nn.functional as F


class InlineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        fc = nn.Linear(16, 10).to(x.device)  # <- finding(no-linear)
        return F.log_softmax(fc(x), dim=1)

# total (registered only): 72 + 16 + 1152 + 32 = 1272
