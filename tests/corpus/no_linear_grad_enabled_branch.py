# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1442
# why: forward uses an nn.Linear head only when torch.is_grad_enabled() (as in training) and a 1x1 conv otherwise; archcheck traces a real training step with gradients on, so the FC head is seen
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, 10)  # <- finding(no-linear)

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        if torch.is_grad_enabled():
            return self.fc(x)
        return F.conv2d(x[:, :, None, None], self.fc.weight[:, :, None, None], self.fc.bias).flatten(1)

# total: 1272 + 16*10 + 10 = 1442
