# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 4360
# why: model built from helper classes (ConvBlock inside Stage inside Net, Head) defined AFTER the model and instantiated via a list comprehension; discovery must still pick Net (the only class no other class uses)
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(*[Stage(cin, cout) for cin, cout in [(1, 8), (8, 16)]])
        self.head = Head(16, 10)

    def forward(self, x):
        return F.log_softmax(self.head(self.stages(x)), dim=1)


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.drop = nn.Dropout(0.05)

    def forward(self, x):
        return self.drop(F.relu(self.bn(self.conv(x))))


class Stage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ConvBlock(cin, cout)
        self.b = ConvBlock(cout, cout)

    def forward(self, x):
        return F.max_pool2d(self.b(self.a(x)), 2)


class Head(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.conv = nn.Conv2d(cin, classes, 1, bias=False)

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.conv(x), 1).flatten(1)

# Stage(1, 8):  a: conv 1*8*9 = 72,  bn 16;  b: conv 8*8*9 = 576,   bn 16   -> 680
# Stage(8, 16): a: conv 8*16*9 = 1152, bn 32; b: conv 16*16*9 = 2304, bn 32 -> 3520
# Head(16, 10): 16*10 = 160
# total: 680 + 3520 + 160 = 4360
