# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1442
# why: nn.Linear's forward is replaced by one that runs with every torch mode disabled, so neither a TorchFunctionMode nor a TorchDispatchMode sees its matrix product; the module hook saw a Linear run, and an nn.Linear that ran is an FC layer
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch.utils._python_dispatch import _disable_current_modes


def hidden_linear(layer):
    def forward(x):
        with _disable_current_modes(), torch._C.DisableTorchFunction():
            return torch._C._nn.linear(x, layer.weight, layer.bias)
    return forward


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, 10)  # <- finding(no-linear)
        self.fc.forward = hidden_linear(self.fc)                   # 16*10 + 10 = 170

    def features(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)   # 8x14x14
        return F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))

# total: 1272 + 170 = 1442
