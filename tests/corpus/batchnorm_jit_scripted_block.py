# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1442
# why: honest: the convolution blocks (Conv2d, BatchNorm2d, ReLU) are torch.jit.script-ed modules; BatchNorm inside TorchScript still normalises by the batch, so every rule passes
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
        self.block1 = torch.jit.script(nn.Sequential(self.conv1, self.bn1, nn.ReLU()))
        self.block2 = torch.jit.script(nn.Sequential(self.conv2, self.bn2, nn.ReLU()))
        self.head = nn.Conv2d(16, 10, 1)                           # 16*10 + 10 = 170

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        x = F.max_pool2d(self.drop(self.block1(x)), 2)
        x = F.max_pool2d(self.drop(self.block2(x)), 2)
        return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)

# total: 72 + 16 + 1152 + 32 + 170 = 1442 (the scripted blocks share the same parameters)
