
hidden = None
    out, hidden = rnn(x, hidden)
    hidden.detach_()
