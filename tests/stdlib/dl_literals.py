"""Shared by the PyTorch value generators (gen_losses.py, gen_layers.py): DL
source text for tensors' values, so generated tests compare against them."""


def lit(t):
    """A nested DL array literal of a float tensor's values."""
    if t.dim() == 0:
        return repr(float(t))
    return "[" + ", ".join(lit(x) for x in t) + "]"


def ilit(t):
    """A DL array literal of a 1-D integer tensor's values."""
    return "[" + ", ".join(str(int(x)) for x in t) + "]"
