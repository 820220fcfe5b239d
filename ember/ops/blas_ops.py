"""BLAS-style products and their statistics as composites of differentiable ops: ``addmv``,
``addr``, ``addbmm``, ``baddbmm``, ``vdot``, ``chain_matmul``, ``dist``, ``cov``, ``corrcoef``
(no primitive of their own: gradients, and second gradients, come from the ops they use)."""

from __future__ import annotations

import warnings
from typing import Any

from .._tensor import Tensor

__all__ = [
    "addmv",
    "addr",
    "addbmm",
    "baddbmm",
    "vdot",
    "chain_matmul",
    "dist",
    "cov",
    "corrcoef",
]


def _need_dims(t: Tensor, n: int, what: str) -> None:
    if t.ndim != n:
        raise RuntimeError(f"{what} must be a {n}D tensor, got {t.ndim}D")


def _integral_scalars(product: Tensor, beta: Any, alpha: Any, name: str) -> tuple:
    """For integer tensors PyTorch truncates float ``beta``/``alpha`` to integers (``addr``
    refuses them instead)."""
    if product.is_floating_point() or product.is_complex():
        return beta, alpha
    for what, v in (("beta", beta), ("alpha", alpha)):
        if isinstance(v, float) and name == "addr":
            raise RuntimeError(
                f"For integral input tensors, argument {what} must not be a floating point number."
            )
    return (int(beta) if isinstance(beta, float) else beta), (
        int(alpha) if isinstance(alpha, float) else alpha
    )


def _combine(input: Tensor, product: Tensor, beta: Any, alpha: Any, name: str = "addmv") -> Tensor:
    """``beta * input + alpha * product``; with ``beta == 0`` the input's values are ignored (NaN
    and inf in it do not propagate), as PyTorch."""
    beta, alpha = _integral_scalars(product, beta, alpha, name)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        # Keeps input's place in the graph (its gradient is zero) and broadcasting.
        return product + (input * 0).nan_to_num(0.0, 0.0, 0.0)
    return (input * beta if beta != 1 else input) + product


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` for a matrix and a vector."""
    _need_dims(mat, 2, "mat")
    _need_dims(vec, 1, "vec")
    return _combine(input, mat @ vec, beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    _need_dims(vec1, 1, "vec1")
    _need_dims(vec2, 1, "vec2")
    return _combine(input, vec1.unsqueeze(1) * vec2.unsqueeze(0), beta, alpha, "addr")


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``, one product per batch element."""
    _need_dims(batch1, 3, "batch1")
    _need_dims(batch2, 3, "batch2")
    return _combine(input, batch1.bmm(batch2), beta, alpha)


def addbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _need_dims(batch1, 3, "batch1")
    _need_dims(batch2, 3, "batch2")
    return _combine(input, batch1.bmm(batch2).sum(0), beta, alpha)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors, the first conjugated."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return input.conj().dot(other)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of 2-D matrices, left to right (deprecated in PyTorch for
    ``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    warnings.warn(
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
        "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather "
        "than multiple parameters.",
        UserWarning,
        stacklevel=2,
    )
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for k, m in enumerate(matrices):
        if m.ndim != 2:
            raise RuntimeError(
                f"Tensor dimension is {m.ndim}, expected 2 instead (matrix {k} of chain_matmul)"
            )
    out = matrices[0]
    for m in matrices[1:]:
        out = out.mm(m)
    return out if len(matrices) > 1 else out.clone()


def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), flattened."""
    from ..linalg import vector_norm

    return vector_norm(input - other, float(p))


def cov(
    input: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """The covariance of the variables in the rows of ``input`` (observations in the columns),
    with optional integer frequency and float observation weights, as ``numpy.cov``."""
    if input.ndim > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an "
            f"input with {input.ndim} dimensions"
        )
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not x.is_floating_point() and not x.is_complex():
        from .. import _dtype as D

        x = x.to(D.get_default_dtype())
    n = x.shape[1]
    w = _cov_weights(fweights, aweights, n)
    if w is None:
        mean = x.mean(1, keepdim=True)
        norm = float(n - correction)
    else:
        total_t = w.sum()
        mean = (x * w).sum(1, keepdim=True) / total_t
        norm_t = total_t - (
            correction * (w * aweights).sum() / total_t if aweights is not None else correction
        )
        norm = norm_t
    xc = x - mean
    xw = xc * w if w is not None else xc
    c = xw.mm(xc.conj().t())
    if (norm <= 0) if isinstance(norm, float) else bool(norm <= 0):
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "number of observations.",
            UserWarning,
            stacklevel=2,
        )
    # No degrees of freedom left: PyTorch divides by zero (inf and NaN), so does ember.
    c = c / (max(norm, 0.0) if isinstance(norm, float) else norm.clamp(min=0))
    return c.squeeze()


def _cov_weights(fweights: Any, aweights: Any, n: int) -> Tensor | None:
    """The product of the frequency and observation weights (None without either), checked as
    PyTorch checks them."""
    w = None
    for name, t, integral in (("fweights", fweights, True), ("aweights", aweights, False)):
        if t is None:
            continue
        if t.ndim > 1:
            raise RuntimeError(
                f"cov(): expected {name} to have one or fewer dimensions but got "
                f"{name} with {t.ndim} dimensions"
            )
        if t.numel() != n:
            raise RuntimeError(
                f"cov(): expected {name} to have the same numel as there are "
                f"observations in the input but got {t.numel()} != {n}"
            )
        if integral and t.is_floating_point():
            raise RuntimeError("cov(): expected fweights to have integral dtype")
        if not integral and not t.is_floating_point():
            raise RuntimeError("cov(): expected aweights to have floating point dtype")
        if bool((t < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = t if w is None else w * t
    return w


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    std = d.sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c.clamp(-1, 1)
