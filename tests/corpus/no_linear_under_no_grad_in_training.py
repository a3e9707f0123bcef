# expect: max-params=pass batchnorm=pass dropout=pass gap=pass no-linear=fail num-classes=pass
# params: 5088
# why: in the training step itself an nn.Linear over the flattened 7×7 map runs under 'with torch.no_grad():' and its result is added to the pooled head: a fully connected layer computed on the activations (it is never trained, but it takes part in every prediction); a view made under no_grad must not pass for a new parameter
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 10, 1)                          # 8*10 + 10 = 90
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(10 * 7 * 7, 10)                       # 490*10 + 10 = 4910  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 4)   # 7x7
        x = self.conv2(x)
        with torch.no_grad():
            y = self.fc(x.flatten(1))
        return x.mean((2, 3)) + y

# total: 72 + 16 + 90 + 4910 = 5088
