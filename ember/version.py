"""``ember.version``: ember's version, and the build facts PyTorch scripts read.

``cuda``, ``hip``, ``xpu`` and ``rocm`` are None (no GPU build), as on PyTorch's CPU build;
``torch`` names the PyTorch release whose API ember follows.
"""

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu", "torch"]

__version__ = "0.1.0"
torch = "2.13"
debug = False
cuda = None
hip = None
rocm = None
xpu = None
git_version = "Unknown"
