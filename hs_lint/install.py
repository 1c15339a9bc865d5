"""How to install torch for ``--confirm``, in one place, importable without torch (the CLI says it when torch is
missing): PyTorch's own CPU wheel index, because a plain ``pip install torch`` on Linux pulls a ~3 GB CUDA build."""

TORCH_INSTALL = ("pip install torch --index-url https://download.pytorch.org/whl/cpu (a CPU build, all --confirm "
                 "needs; the README says how to get a CUDA one)")
