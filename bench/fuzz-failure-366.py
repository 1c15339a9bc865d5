import torch.nn as nn

rnn hidden = None
for     out, hidden    hidden.detach_()
