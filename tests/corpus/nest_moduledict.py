# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: layers held in an nn.ModuleDict (and a nested ModuleDict) and looked up by key in forward; the head is a 1x1 conv then GAP
import torch
import torch.nn as nn
import torch.nn.functional as F


class DictNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict({
            "conv1": nn.Conv2d(1, 8, 3, padding=1, bias=False),   # 1*8*3*3 = 72
            "bn1": nn.BatchNorm2d(8),                              # 16
            "conv2": nn.Conv2d(8, 16, 3, padding=1, bias=False),  # 8*16*3*3 = 1152
            "bn2": nn.BatchNorm2d(16),                             # 32
            "drop": nn.Dropout2d(0.1),
            "heads": nn.ModuleDict({
                "conv": nn.Conv2d(16, 10, 1, bias=False),          # 16*10 = 160
                "gap": nn.AdaptiveAvgPool2d(1),
            }),
        })

    def forward(self, x):
        L = self.layers
        for i in ("1", "2"):
            x = F.max_pool2d(L["drop"](F.relu(L["bn" + i](L["conv" + i](x)))), 2)
        x = L["heads"]["gap"](L["heads"]["conv"](x))
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 160 = 1432
