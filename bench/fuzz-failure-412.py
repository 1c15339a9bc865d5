
hidden = None
for x in batche    out, hidden = rnn(x, hidden)
    hidden.detach_()
