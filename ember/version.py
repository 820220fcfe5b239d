"""``ember.version``: ember's version, and the build facts PyTorch scripts read.

``cuda``, ``hip``, ``xpu`` and ``rocm`` are None (no GPU build), as on PyTorch's CPU build;
``__version__`` is PyTorch's release with ember's version as the local label
(``2.13.0+ember.0.1.0``, comparing as a version: ``ember/torch_version.py``); ``torch`` names the
PyTorch release whose API ember follows and ``ember`` ember's own version.
"""

from .torch_version import EMBER_VERSION, TorchVersion, internal_version

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu", "torch", "ember"]

__version__ = TorchVersion(internal_version)
torch = "2.13"
ember = EMBER_VERSION
debug = False
cuda = None
hip = None
rocm = None
xpu = None
git_version = "Unknown"
