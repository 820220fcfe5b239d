"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the one-step cells.

Parameter names, shapes, gate order (``i, f, g, o`` for LSTM, ``r, z, n`` for GRU) and default
initialisation ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` are PyTorch's, so state dicts
move across unchanged. Each layer and direction runs as one fused node (``ember.ops.rnn``).
A PackedSequence input runs through ``_rnn_packed`` (one pass per distinct length).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from ..._creation import empty, zeros
from ..._tensor import Tensor
from ...ops import indexing as IX
from ...ops import shape as S
from .. import init
from ..functional import _rnn as FR
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from ._errors import names_layer
from ._rnn_packed import run_packed
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _mini_batch(module: Any, input: Tensor, batch_sizes: Any) -> int:
    """The batch size: the first packed batch size, else the input's batch dimension."""
    if batch_sizes is not None:
        return int(batch_sizes[0])
    return input.size(0) if module.batch_first else input.size(1)


def _check_type(name: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")


class RNNBase(Module):
    """Base of :class:`RNN`, :class:`LSTM` and :class:`GRU`: parameters, checks and repr.

    ``mode`` is ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        _check_type("bias", bias, bool)
        _check_type("batch_first", batch_first, bool)
        _check_type("input_size", input_size, int)
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        _check_type("hidden_size", hidden_size, int)
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        nd = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * nd
            for d in range(nd):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [
                    ("weight_ih", (gate_size, layer_in)),
                    ("weight_hh", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(empty(*shape, dtype=dtype)))
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        # Read from _parameters on every access, so replaced or converted weights are used.
        return [self._parameters.get(n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of every layer and direction, as lists in PyTorch's order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch packs weights for cuDNN here; ember has nothing to pack."""

    def reset_parameters(self) -> None:
        """Every weight and bias from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _layer_weights(self) -> list[tuple]:
        p = self._parameters
        out = []
        for names in self._all_weights:
            suffix = names[0][len("weight_ih") :]
            out.append(
                (
                    p["weight_ih" + suffix],
                    p["weight_hh" + suffix],
                    p.get("bias_ih" + suffix),
                    p.get("bias_hh" + suffix),
                    p.get("weight_hr" + suffix),
                )
            )
        return out

    # ---- checks, as PyTorch's ------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes: Any) -> None:
        """Dtype, rank and feature size of the (batched) input."""
        wdt = self._flat_weights[0].dtype
        if input.dtype != wdt:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({wdt}). "
                f"Convert input: input.to({wdt}), or convert model: model.to({input.dtype})"
            )
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.size(-1)}"
            )

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Any) -> tuple[int, int, int]:
        """``(num_layers * num_directions, batch, proj_size or hidden_size)``."""
        batch = _mini_batch(self, input, batch_sizes)
        nd = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * nd, batch, size)

    def check_hidden_size(
        self,
        hx: Tensor,
        expected_hidden_size: tuple[int, int, int],
        msg: str = "Expected hidden size {}, got {}",
    ) -> None:
        """Raise PyTorch's RuntimeError when ``hx`` does not have the expected shape."""
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))
        if hx.dtype != self._flat_weights[0].dtype:
            raise RuntimeError(
                f"Expected hidden state of dtype {self._flat_weights[0].dtype}, got {hx.dtype}"
            )

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Any) -> None:
        """Check the input and the hidden state together."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Any, permutation: Any) -> Any:
        """``hx`` with its batch dimension reordered by ``permutation`` (None: unchanged)."""
        if permutation is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(IX.index_select(h, 1, permutation) for h in hx)
        return IX.index_select(hx, 1, permutation)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- running ---------------------------------------------------------------------------
    def _prepare(self, input: Tensor, name: str) -> tuple[Tensor, bool]:
        """Check the rank, add the batch dimension of an unbatched input, and return it
        time-major ``(T, B, I)`` together with ``is_batched``."""
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}.forward(): input must be a Tensor or a PackedSequence, got "
                f"{type(input).__name__}"
            )
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                + (" tensor instead" if name == "RNN" else " instead")
            )
        is_batched = input.dim() == 3
        if not is_batched:
            input = S.unsqueeze(input, 0 if self.batch_first else 1)
        return input, is_batched

    def _run(self, input: Tensor, hx: Tensor, cx: Tensor | None) -> tuple:
        x = S.transpose(input, 0, 1) if self.batch_first else input
        out, h_n, c_n = FR.rnn_forward(
            self.mode,
            x,
            hx,
            cx,
            self._layer_weights(),
            self.num_layers,
            self.dropout,
            self.training,
            self.bidirectional,
        )
        if self.batch_first:
            out = S.transpose(out, 0, 1)
        return out, h_n, c_n

    def _zeros_state(self, input: Tensor, size: int) -> Tensor:
        nd = 2 if self.bidirectional else 1
        batch = input.size(0) if self.batch_first else input.size(1)
        return zeros(self.num_layers * nd, batch, size, dtype=input.dtype)

    def _forward_single_state(self, input: Tensor, hx: Tensor | None, name: str) -> tuple:
        """RNN and GRU: one hidden state tensor."""
        if isinstance(input, PackedSequence):
            return run_packed(self, input, hx)
        input, is_batched = self._prepare(input, name)
        if hx is not None:
            want = 3 if is_batched else 2
            if hx.dim() != want:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(
                    f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor"
                )
            if not is_batched:
                hx = S.unsqueeze(hx, 1)
        else:
            self.check_input(input, None)
            hx = self._zeros_state(input, self.hidden_size)
        self.check_forward_args(input, hx, None)
        out, h_n, _ = self._run(input, hx, None)
        if not is_batched:
            out = S.squeeze(out, 0 if self.batch_first else 1)
            h_n = S.squeeze(h_n, 1)
        return out, h_n


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``.

    Shape: input ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) or unbatched
    ``(L, H_in)``; ``h_0`` ``(D * num_layers, N, H_out)``. Returns ``(output, h_n)``.

    >>> import ember
    >>> rnn = ember.nn.RNN(10, 20, 2)
    >>> output, hn = rnn(ember.randn(5, 3, 10), ember.randn(2, 3, 20))
    >>> output.shape, hn.shape
    (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)

    @names_layer
    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._forward_single_state(input, hx, "RNN")


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's formulation (gates ``r, z, n``)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Same arguments and shapes as :class:`RNN` (without ``nonlinearity``).

    >>> import ember
    >>> gru = ember.nn.GRU(10, 20, 2)
    >>> output, hn = gru(ember.randn(5, 3, 10))
    >>> output.shape, hn.shape
    (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    @names_layer
    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._forward_single_state(input, hx, "GRU")


class LSTM(RNNBase):
    """Long short-term memory (gates ``i, f, g, o``), with optional projections ``proj_size``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``. Called as ``lstm(input, (h_0, c_0))`` (states optional,
    zeros by default); returns ``(output, (h_n, c_n))``.

    >>> import ember
    >>> lstm = ember.nn.LSTM(10, 20, num_layers=2, batch_first=True)
    >>> output, (hn, cn) = lstm(ember.randn(3, 5, 10))
    >>> output.shape, hn.shape, cn.shape
    (ember.Size([3, 5, 20]), ember.Size([2, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Any) -> tuple[int, int, int]:
        """``(num_layers * num_directions, batch, hidden_size)``."""
        batch = _mini_batch(self, input, batch_sizes)
        nd = 2 if self.bidirectional else 1
        return (self.num_layers * nd, batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Any) -> None:  # type: ignore[override]
        """Check the input and both states."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(
            hidden[0],
            self.get_expected_hidden_size(input, batch_sizes),
            "Expected hidden[0] size {}, got {}",
        )
        self.check_hidden_size(
            hidden[1],
            self.get_expected_cell_size(input, batch_sizes),
            "Expected hidden[1] size {}, got {}",
        )

    @names_layer
    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            return run_packed(self, input, hx)
        input, is_batched = self._prepare(input, "LSTM")
        if hx is None:
            self.check_input(input, None)
            real = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros_state(input, real), self._zeros_state(input, self.hidden_size))
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
            want = 3 if is_batched else 2
            if hx[0].dim() != want or hx[1].dim() != want:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                )
            if not is_batched:
                hx = (S.unsqueeze(hx[0], 1), S.unsqueeze(hx[1], 1))
        self.check_forward_args(input, hx, None)
        out, h_n, c_n = self._run(input, hx[0], hx[1])
        if not is_batched:
            out = S.squeeze(out, 0 if self.batch_first else 1)
            h_n, c_n = S.squeeze(h_n, 1), S.squeeze(c_n, 1)
        return out, (h_n, c_n)


# ---- cells ---------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Base of the cells: ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, optional biases."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(g, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, dtype=dtype))
            self.bias_hh = Parameter(empty(g, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = self.__dict__.get("nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def reset_parameters(self) -> None:
        """Every weight and bias from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _check_step(self, input: Tensor, states: tuple) -> None:
        """PyTorch's cell checks: feature sizes, batch sizes and dtypes."""
        if input.size(1) != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}"
            )
        for k, h in enumerate(states):
            if h.size(0) != input.size(0):
                raise RuntimeError(
                    f"Input batch size {input.size(0)} doesn't match hidden{k} batch size "
                    f"{h.size(0)}"
                )
            if h.size(1) != self.hidden_size:
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {h.size(1)}, expected "
                    f"{self.hidden_size}"
                )
        wdt = self.weight_ih.dtype
        for t in (input, *states):
            if t.dtype != wdt:
                raise RuntimeError(
                    f"mat1 and mat2 must have the same dtype, but got {t.dtype} and {wdt}"
                )

    def _weights(self) -> tuple:
        return (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, None)

    def _batched_single(
        self, name: str, input: Tensor, hx: Tensor | None
    ) -> tuple[Tensor, Tensor, bool]:
        """RNNCell/GRUCell input prep: rank checks, an unbatched step as a batch of one, zero
        hidden state by default; returns ``(input, hx, is_batched)``."""
        _cell_rank(name, "input", input)
        if hx is not None:
            _cell_rank(name, "hidden", hx)
        is_batched = input.dim() == 2
        if not is_batched:
            input = S.unsqueeze(input, 0)
        if hx is None:
            hx = zeros(input.size(0), self.hidden_size, dtype=input.dtype)
        elif not is_batched:
            hx = S.unsqueeze(hx, 0)
        return input, hx, is_batched


def _cell_rank(name: str, what: str, t: Tensor) -> None:
    if t.dim() not in (1, 2):
        raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {t.dim()}D instead")


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Shape: input ``(N, H_in)`` or ``(H_in)``, hidden ``(N, H_out)`` or ``(H_out)`` (zeros if
    omitted); returns ``h'`` of the hidden's shape.

    >>> import ember
    >>> cell = ember.nn.RNNCell(10, 20)
    >>> cell(ember.randn(3, 10)).shape
    ember.Size([3, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    @names_layer
    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hx, is_batched = self._batched_single("RNNCell", input, hx)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_step(input, (hx,))
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        h, _ = FR.cell_forward(mode, input, hx, None, self._weights())
        return h if is_batched else S.squeeze(h, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates ``i, f, g, o``): ``(h', c') = cell(x, (h, c))``.

    >>> import ember
    >>> cell = ember.nn.LSTMCell(10, 20)
    >>> h, c = cell(ember.randn(3, 10))
    >>> h.shape, c.shape
    (ember.Size([3, 20]), ember.Size([3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    @names_layer
    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        _cell_rank("LSTMCell", "input", input)
        if hx is not None:
            for k, v in enumerate(hx):
                _cell_rank("LSTMCell", f"hx[{k}]", v)
        is_batched = input.dim() == 2
        if not is_batched:
            input = S.unsqueeze(input, 0)
        if hx is None:
            z = zeros(input.size(0), self.hidden_size, dtype=input.dtype)
            hx = (z, z)
        elif not is_batched:
            hx = (S.unsqueeze(hx[0], 0), S.unsqueeze(hx[1], 0))
        self._check_step(input, tuple(hx))
        h, c = FR.cell_forward("LSTM", input, hx[0], hx[1], self._weights())
        if not is_batched:
            return S.squeeze(h, 0), S.squeeze(c, 0)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (gates ``r, z, n``, PyTorch's formulation).

    >>> import ember
    >>> cell = ember.nn.GRUCell(10, 20)
    >>> cell(ember.randn(3, 10), ember.randn(3, 20)).shape
    ember.Size([3, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    @names_layer
    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hx, is_batched = self._batched_single("GRUCell", input, hx)
        self._check_step(input, (hx,))
        h, _ = FR.cell_forward("GRU", input, hx, None, self._weights())
        return h if is_batched else S.squeeze(h, 0)
