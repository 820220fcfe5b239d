"""Shared helpers for the Module/container tests: build the same module tree in ember and torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import ember


def libs() -> list:
    """The two libraries, for tests parametrised over both."""
    return [ember, torch]


def make_linear_cls(lib: Any) -> type:
    """A Linear-like test module written only with Module/Parameter of ``lib``."""
    nn = lib.nn

    class MyLinear(nn.Module):
        def __init__(self, i: int, o: int, bias: bool = True) -> None:
            super().__init__()
            self.in_features, self.out_features = i, o
            self.weight = nn.Parameter(lib.randn(o, i))
            if bias:
                self.bias = nn.Parameter(lib.randn(o))
            else:
                self.register_parameter("bias", None)

        def forward(self, x: Any) -> Any:
            y = x @ self.weight.t()
            return y + self.bias if self.bias is not None else y

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}"

    return MyLinear


def make_net_cls(lib: Any) -> type:
    """A small network: parameters, persistent and non-persistent buffers, nested children."""
    nn = lib.nn
    MyLinear = make_linear_cls(lib)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = MyLinear(3, 3)
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("steps", lib.tensor(0))
            self.register_buffer("scratch", lib.ones(2), persistent=False)

        def forward(self, x: Any) -> Any:
            return self.fc(x) + self.running

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(lib.ones(1))
            self.block = Block()
            self.head = MyLinear(3, 2)
            self.register_buffer("temp", lib.full((1,), 2.0))

        def forward(self, x: Any) -> Any:
            return self.head(self.block(x) * self.scale) / self.temp

    return Net


def norm(msg: str) -> str:
    """An error message with library names unified, for comparing ember's and torch's."""
    return msg.replace("ember.", "torch.").replace("ember", "torch")


def same_error(fn: Callable[[Any], Any], exact: bool = True) -> tuple[str, str]:
    """Run ``fn(torch)`` and ``fn(ember)``: both must raise the same exception type.

    With ``exact`` the messages (library names unified) must be equal too, apart from the
    `` (in <layer>)`` a layer appends to ember's (``nn/modules/_errors.py``).
    """
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    e_msg, t_msg = norm(str(e_err.value)), norm(str(t_err.value))
    if exact:
        assert _without_layer(e_msg) == t_msg
    return e_msg, t_msg


def _without_layer(msg: str) -> str:
    """``msg`` without the `` (in <layer repr>)`` suffix a layer adds to its errors."""
    return msg.rsplit(" (in ", 1)[0] if " (in " in msg and msg.endswith(")") else msg


def copy_into_torch(e_mod: Any, t_mod: Any) -> None:
    """Copy every state_dict entry of an ember module into the torch twin (strict)."""
    import numpy as np

    sd = {k: torch.from_numpy(np.array(v._data)) for k, v in e_mod.state_dict().items()}
    t_mod.load_state_dict(sd)
