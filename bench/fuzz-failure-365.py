import torch.nn as nn

hidden = None
for     out, hidden    hidden.detach_()
