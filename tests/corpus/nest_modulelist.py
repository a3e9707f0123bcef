# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 1442
# why: layers held in an nn.ModuleList and applied in a loop; the last entry is an nn.Linear buried in the list, so no-linear fails
import torch
import torch.nn as nn
import torch.nn.functional as F


class ListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv2d(1, 8, 3, padding=1, bias=False),    # 1*8*3*3 = 72
            nn.Conv2d(8, 16, 3, padding=1, bias=False),   # 8*16*3*3 = 1152
        ])
        self.norms = nn.ModuleList([nn.BatchNorm2d(8), nn.BatchNorm2d(16)])  # 16 + 32
        self.tail = nn.ModuleList([
            nn.Dropout(0.1),
            nn.Linear(16, 10),                             # 16*10 + 10 = 170  # <- finding(no-linear)
        ])

    def forward(self, x):
        for conv, bn in zip(self.convs, self.norms):
            x = F.max_pool2d(F.relu(bn(conv(x))), 2)      # 8x14x14, then 16x7x7
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        for layer in self.tail:
            x = layer(x)
        return F.log_softmax(x, dim=1)

# total: 72 + 1152 + 16 + 32 + 170 = 1442
