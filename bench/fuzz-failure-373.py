
hidden = None
for x in batches:
    out, hidden    hidden.detach_()
