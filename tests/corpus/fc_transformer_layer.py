# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 3656
# why: an nn.TransformerEncoderLayer over the 49 spatial tokens hides an MHA plus a Linear feed-forward (linear1/linear2); no nn.Linear is written in the file
import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyViTHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 32
        self.drop = nn.Dropout(0.1)
        # self_attn 3*16*16 + 3*16 + 16*16 + 16 = 1088; linear1 16*32 + 32 = 544;
        # linear2 32*16 + 16 = 528; norm1 2*16 = 32; norm2 32  -> 2224
        self.encoder = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True)
        self.head = nn.Conv2d(16, 10, 1, bias=False)              # 160

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)  # 8x14x14
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        b, c, h, w = x.shape
        t = self.encoder(x.flatten(2).transpose(1, 2))                    # (2, 49, 16)
        x = t.transpose(1, 2).reshape(b, c, h, w)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 16 + 1152 + 32 + 2224 + 160 = 3656
