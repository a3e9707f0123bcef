# expect: max-params=pass batchnorm=pass dropout=pass gap=fail no-linear=fail num-classes=pass
# params: 2392
# why: the 49 positions of the 16x7x7 map are read as a sequence by an nn.LSTM(16, 10): a recurrent layer multiplies the features by learned matrices at every step (aten.mkldnn_rnn_layer on the CPU), which is fully connected, and its last hidden state is no global average pool
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 1*8*3*3 = 72
        self.bn1 = nn.BatchNorm2d(8)                              # 2*8 = 16
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 8*16*3*3 = 1152
        self.bn2 = nn.BatchNorm2d(16)                             # 2*16 = 32
        self.drop = nn.Dropout(0.1)
        self.rnn = nn.LSTM(16, 10, batch_first=True)  # <- finding(no-linear)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)  # 16x7x7
        out, _ = self.rnn(x.flatten(2).transpose(1, 2))                   # b x 49 x 10
        return out[:, -1]

# LSTM(16, 10): 4*10*16 (input) + 4*10*10 (hidden) + 2 * 4*10 (biases) = 640 + 400 + 80 = 1120
# total: 72 + 16 + 1152 + 32 + 1120 = 2392
