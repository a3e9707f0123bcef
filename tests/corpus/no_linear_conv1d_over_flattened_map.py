# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 3232
# why: the 16x7x7 map is flattened to a length-784 sequence and nn.Conv1d(1, 5, 392, stride=392) slides over it: each window is a dense layer over 392 features laid out as positions, not a convolution over space
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
        self.dense = nn.Conv1d(1, 5, 392, stride=392, bias=False)  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        return self.dense(x.flatten(1)[:, None, :]).flatten(1)           # 5 channels x 2 windows = 10

# total: 72 + 16 + 1152 + 32 + 5*392 = 3232
