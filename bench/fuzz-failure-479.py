import torch.nn as nn

hidden = None
    hidden.detach_()
