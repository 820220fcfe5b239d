"""Common ops at the sizes real models run them (CNN feature maps of (32, 64, 32, 32), transformer
activations of (64, 128, 768)), forward + backward, in ember and PyTorch.

The other rows time the small shapes the issues named (64x1024 activations, LeNet); a sweep over
real sizes found cliffs there (depthwise convolution 16-36x, channels-last SiLU 7.6x, LayerNorm
2.9x at one thread): these rows keep them in view. Fewer rounds than the other rows (each sample
is milliseconds long).
"""

from __future__ import annotations

import numpy as np

from .harness import Case, both_libs

FMAP = (32, 64, 32, 32)  # a CNN feature map: batch 32, 64 channels, 32x32
TOKENS = (64, 128, 768)  # a transformer activation: batch 64, 128 tokens, width 768
ROUNDS = 8


def _input(lib, shape: tuple, channels_last: bool = False, grad: bool = True):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = lib.tensor(a)
    if channels_last:
        x = x.contiguous(memory_format=lib.channels_last)
    return x.requires_grad_(grad)


def _fwd_bwd(lib, x, f):
    """A callable running ``f(x)`` and its backward with an upstream gradient of ones."""
    up = lib.ones_like(f(x))

    def run():
        out = f(x)
        out.backward(up)
        return out

    return run


def _module(build, shape: tuple, channels_last: bool = False):
    """(make_ember, make_torch) for ``build(lib)(x)`` on a fresh input of ``shape``."""

    def make(lib):
        return _fwd_bwd(lib, _input(lib, shape, channels_last), build(lib))

    return both_libs(make)


def _embedding(lib):
    """Embedding(30000, 256) looked up by (64, 128) token ids, forward and backward."""
    ids = lib.tensor(np.random.default_rng(0).integers(0, 30000, (64, 128)))
    emb = lib.nn.Embedding(30000, 256)
    return _fwd_bwd(lib, ids, emb)


def _bn_eval(lib):
    """BatchNorm2d(64) in eval mode on a channels-last feature map (inference), no_grad."""
    x = _input(lib, FMAP, channels_last=True, grad=False)
    bn = lib.nn.BatchNorm2d(64).eval()

    def run():
        with lib.no_grad():
            return bn(x)

    return run


def _case(name: str, make: tuple) -> Case:
    return Case(f"sizes: {name}", *make, rounds=ROUNDS)


CASES = [
    _case(
        "depthwise Conv2d(64, 64, 3, groups=64), (32, 64, 32, 32) CL",
        _module(lambda lib: lib.nn.Conv2d(64, 64, 3, padding=1, groups=64), FMAP, True),
    ),
    _case("SiLU (32, 64, 32, 32) CL", _module(lambda lib: lib.nn.SiLU(), FMAP, True)),
    _case(
        "MaxPool2d(3, 2, 1) (32, 64, 32, 32) CL",
        _module(lambda lib: lib.nn.MaxPool2d(3, 2, 1), FMAP, True),
    ),
    _case(
        "interpolate nearest x2 (32, 64, 32, 32) CL",
        _module(lambda lib: lambda x: lib.nn.functional.interpolate(x, scale_factor=2), FMAP, True),
    ),
    _case("GroupNorm(8, 64) (32, 64, 32, 32)", _module(lambda lib: lib.nn.GroupNorm(8, 64), FMAP)),
    _case("BatchNorm2d(64) eval (32, 64, 32, 32) CL, no_grad", both_libs(_bn_eval)),
    _case("LayerNorm(768) (64, 128, 768)", _module(lambda lib: lib.nn.LayerNorm(768), TOKENS)),
    _case("softmax(-1) (64, 128, 768)", _module(lambda lib: lambda x: x.softmax(-1), TOKENS)),
    _case("GELU (64, 128, 768)", _module(lambda lib: lib.nn.GELU(), TOKENS)),
    _case("Embedding(30000, 256) on (64, 128) ids", both_libs(_embedding)),
]
