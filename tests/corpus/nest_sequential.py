# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 2862
# why: everything lives in nested nn.Sequential containers (a Sequential of Sequentials); all rules pass
import torch
import torch.nn as nn


class SeqNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1, bias=False),    # 1*8*3*3 = 72
                nn.BatchNorm2d(8),                             # 16
                nn.ReLU(),
                nn.Dropout(0.05),
                nn.MaxPool2d(2),                               # 14x14
            ),
            nn.Sequential(
                nn.Conv2d(8, 16, 3, padding=1, bias=False),   # 8*16*3*3 = 1152
                nn.BatchNorm2d(16),                            # 32
                nn.ReLU(),
                nn.MaxPool2d(2),                               # 7x7
                nn.Sequential(
                    nn.Conv2d(16, 10, 3, padding=1),           # 16*10*3*3 + 10 = 1450
                    nn.BatchNorm2d(10),                        # 20
                    nn.AdaptiveAvgPool2d(1),
                    nn.Conv2d(10, 10, 1, bias=False),          # 10*10 = 100 (1x1 conv on 1x1 after GAP, allowed)
                    nn.BatchNorm2d(10),                        # 20
                ),
            ),
            nn.Flatten(),
            nn.LogSoftmax(dim=1),
        )

    def forward(self, x):
        return self.body(x)

# total: 72 + 16 + 1152 + 32 + 1450 + 20 + 100 + 20 = 2862
