import torch.nn as nn

hidden = None
    out, hidden = rnn(x, hidden)
