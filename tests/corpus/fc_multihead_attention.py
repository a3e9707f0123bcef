# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 2520
# why: nn.MultiheadAttention over the 49 spatial tokens: its in/out projections are Linear layers (out_proj is a Linear subclass) even though no nn.Linear appears in the file
import torch
import torch.nn as nn
import torch.nn.functional as F


class AttnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        # in_proj_weight 3*16*16 = 768, in_proj_bias 3*16 = 48, out_proj 16*16 + 16 = 272 -> 1088
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)  # <- finding(no-linear)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 16*10 = 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)                                  # (2, 49, 16)
        t, _ = self.attn(t, t, t)
        x = x + t.transpose(1, 2).reshape(b, c, h, w)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 1088 + 160 = 2520
