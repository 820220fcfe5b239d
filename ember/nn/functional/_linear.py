"""``F.linear`` and ``F.bilinear``: affine maps over the last dimension of the input."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ...ops import linalg as L
from ...ops.bilinear import Bilinear

__all__ = ["linear", "bilinear"]

_TORCH_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "half",
    "bfloat16": "bfloat16",
    "int64": "long",
    "int32": "int",
}


def _type_check(fn: str, name: str, pos: int, value: Any, optional: bool = False) -> None:
    if isinstance(value, Tensor) or (optional and value is None):
        return
    raise TypeError(
        f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(value).__name__}"
    )


def _plain(input: Any, weight: Any, bias: Any) -> bool:
    """Tensors of one dtype, a 2-D weight matching the input's last dimension, a bias of
    ``out_features`` or none: the case the fused primitive takes as is."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        return False
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1] or x.dtype != w.dtype:
        return False
    if bias is None:
        return True
    return (
        isinstance(bias, Tensor) and bias._data.shape == w.shape[:1] and bias._data.dtype == w.dtype
    )


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension.

    Shape: input ``(*, in_features)``, weight ``(out_features, in_features)``, bias
    ``(out_features,)``, output ``(*, out_features)``.

    >>> import ember, ember.nn.functional as F
    >>> F.linear(ember.ones(2, 3), ember.ones(4, 3)).shape
    ember.Size([2, 4])
    """
    if _plain(input, weight, bias):  # the usual case (every nn.Linear call): no more checks
        return L.Linear.apply(input, weight, bias)
    _type_check("linear", "input", 1, input)
    _type_check("linear", "weight", 2, weight)
    _type_check("linear", "bias", 3, bias, optional=True)
    w = weight._data
    if input.ndim == 0 or w.ndim == 0:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{input.ndim}D and {w.ndim}D"
        )
    if w.ndim == 2 and (input.ndim == 0 or input._data.shape[-1] != w.shape[1]):
        raise L.linear_shape_error(input._data.shape, w.shape)
    if input._data.dtype != w.dtype:
        a, b = input.dtype.name, weight.dtype.name
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_TORCH_NAMES.get(a, a)} != {_TORCH_NAMES.get(b, b)}"
        )
    if bias is not None and w.ndim == 2 and bias._data.shape not in ((w.shape[0],), (), (1,)):
        raise RuntimeError(
            f"The size of tensor a ({w.shape[0]}) must match the size of tensor b "
            f"({bias.shape[-1] if bias.ndim else 1}) at non-singleton dimension "
            f"{max(input.ndim - 1, 0)}"
        )
    return L.linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = input1[...] @ weight[o] @ input2[...] + bias[o]``.

    Shape: input1 ``(*, in1)``, input2 ``(*, in2)`` with the same leading dims, weight
    ``(out, in1, in2)``, bias ``(out,)``, output ``(*, out)``.
    """
    _type_check("bilinear", "input1", 1, input1)
    _type_check("bilinear", "input2", 2, input2)
    _type_check("bilinear", "weight", 3, weight)
    _type_check("bilinear", "bias", 4, bias, optional=True)
    if input1.ndim != input2.ndim:
        raise RuntimeError(
            f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}"
        )
    for d in range(input1.ndim - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(
                f"bilinear(): input batch dimensions do not match at dim {d}: got "
                f"{input1.shape[d]} and {input2.shape[d]}"
            )
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, got {weight.ndim}D")
    if input1.ndim == 0 or input1.shape[-1] != weight.shape[1]:
        got = input1.shape[-1] if input1.ndim else 1
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {got} but expected "
            f"{weight.shape[1]}"
        )
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
            f"expected {weight.shape[2]}"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(
            f"bilinear(): bias size does not match weight size: got "
            f"{bias.shape[0] if bias.ndim else 1} but expected {weight.shape[0]}"
        )
    dts = {input1._data.dtype, input2._data.dtype, weight._data.dtype}
    if bias is not None:
        dts.add(bias._data.dtype)
    if len(dts) > 1:
        raise RuntimeError(
            f"expected scalar type {weight.dtype.name} but found "
            f"{(set(map(str, dts)) - {str(weight._data.dtype)}).pop()}"
        )
    return Bilinear.apply(input1, input2, weight, bias)
