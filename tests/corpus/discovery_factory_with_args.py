# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# target: build_model
# why: the model class needs a constructor argument (width); the factory build_model() builds it with width=8
import torch
import torch.nn as nn
import torch.nn.functional as F


class WidthNet(nn.Module):
    def __init__(self, width):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(1, w, 3, padding=1, bias=False)        # 9w = 72
        self.bn1 = nn.BatchNorm2d(w)                                   # 2w = 16
        self.conv2 = nn.Conv2d(w, 2 * w, 3, padding=1, bias=False)    # 18w^2 = 1152
        self.bn2 = nn.BatchNorm2d(2 * w)                               # 4w = 32
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(2 * w, 10, 1, bias=False)                # 20w = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)


def build_model():
    return WidthNet(8)

# total (width 8): 72 + 16 + 1152 + 32 + 160 = 1432
