# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: module classes imported by name into the file's namespace (Conv2d, BatchNorm2d, Sequential, an aliased Dropout...) are not defined in the file and must not be discovery candidates; the only defined model is ImportsNet
import torch
from torch.nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Module, ReLU, Sequential, MaxPool2d
from torch.nn import Dropout as Regulariser
from torch.nn import Linear  # imported, never used
from torch.nn.functional import log_softmax


class ImportsNet(Module):
    def __init__(self):
        super().__init__()
        self.body = Sequential(
            Conv2d(1, 8, 3, padding=1, bias=False),    # 1*8*3*3 = 72
            BatchNorm2d(8),                             # 16
            ReLU(),
            Regulariser(0.1),
            MaxPool2d(2),
            Conv2d(8, 16, 3, padding=1, bias=False),   # 8*16*3*3 = 1152
            BatchNorm2d(16),                            # 32
            ReLU(),
            MaxPool2d(2),
            Conv2d(16, 10, 1, bias=False),              # 160
            AdaptiveAvgPool2d(1),
        )

    def forward(self, x):
        return log_softmax(self.body(x).flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
