# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=pass num-classes=pass
# params: 1432
# why: parameters held in nn.ParameterList / nn.ParameterDict and used through F.conv2d / F.batch_norm (running stats None = batch statistics); they count like module parameters
import torch
import torch.nn as nn
import torch.nn.functional as F


class ParamListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ParameterList([
            nn.Parameter(torch.randn(8, 1, 3, 3) * 0.3),          # 8*1*3*3 = 72
            nn.Parameter(torch.randn(16, 8, 3, 3) * 0.1),         # 16*8*3*3 = 1152
        ])
        self.affine = nn.ParameterDict({
            "g1": nn.Parameter(torch.ones(8)),                     # 8
            "b1": nn.Parameter(torch.zeros(8)),                    # 8
            "g2": nn.Parameter(torch.ones(16)),                    # 16
            "b2": nn.Parameter(torch.zeros(16)),                   # 16
        })
        self.head = nn.Conv2d(16, 10, 1, bias=False)               # 160

    def forward(self, x):
        for i, w in enumerate(self.convs, start=1):
            x = F.conv2d(x, w, padding=1)
            x = F.batch_norm(x, None, None, self.affine[f"g{i}"], self.affine[f"b{i}"], training=True)
            x = F.max_pool2d(F.dropout(F.relu(x), 0.1, self.training), 2)
        x = F.adaptive_avg_pool2d(self.head(x), 1)
        return F.log_softmax(x.flatten(1), dim=1)

# total: 72 + 1152 + 8 + 8 + 16 + 16 + 160 = 1432
