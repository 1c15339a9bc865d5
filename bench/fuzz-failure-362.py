import torch.nn as nn

hidden = None
for x in batches:
    out, hidden    hidden.detach_()
