"""PyTorch's ``torch.nn.modules.<file>`` layout over ember's families.

Programs import layers from the file PyTorch defines them in
(``from torch.nn.modules.activation import MultiheadAttention``). Where ember defines a class
in another family file, the name is added here to the module PyTorch's layout puts it in. This
runs once every family is loaded: importing these names inside the family files themselves
would make import cycles (``lazy_layers`` builds on ``conv`` and ``linear``).
"""

from __future__ import annotations

from . import (
    activation,
    attention,
    conv,
    lazy_layers,
    linear,
    loss,
    loss_seq,
    pooling,
    pooling_extra,
)

_ALIASES = {
    activation: (attention, ["MultiheadAttention"]),
    linear: (lazy_layers, ["LazyLinear"]),
    conv: (
        lazy_layers,
        [f"LazyConv{d}d" for d in (1, 2, 3)] + [f"LazyConvTranspose{d}d" for d in (1, 2, 3)],
    ),
    loss: (loss_seq, ["CTCLoss", "MultiMarginLoss", "MultiLabelMarginLoss"]),
    pooling: (pooling_extra, ["FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool3d"]),
}

# MultiheadAttention's out_proj class (PyTorch defines it in linear.py; ember next to its user).
linear.NonDynamicallyQuantizableLinear = attention.NonDynamicallyQuantizableLinear

for _target, (_source, _names) in _ALIASES.items():
    for _name in _names:
        setattr(_target, _name, getattr(_source, _name))
