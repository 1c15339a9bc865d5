import torch.nn as nn

hidden = None
for x in batches:
