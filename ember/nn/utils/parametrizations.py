"""``nn.utils.parametrizations``: ``weight_norm``, ``spectral_norm`` and ``orthogonal`` as
parametrizations (``nn.utils.parametrize``), with PyTorch's module layout and state_dict keys
(``parametrizations.weight.original0``/``original1``, ``parametrizations.weight.0._u``...)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from ... import _creation as C
from ..._creation_random import randn
from ..._tensor import Tensor, _wrap
from ...autograd.grad_mode import no_grad
from ...ops import join as J
from ...ops import linalg as LA
from ...ops import shape as S
from ..functional._norm import normalize
from ..modules.module import Module
from . import parametrize
from ._matrix import householder_product, matrix_exp, solve

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---- weight_norm ------------------------------------------------------------------------------
def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, shaped to broadcast against
    ``v``; the norm of the whole tensor (0-dim) when ``dim == -1``."""
    if dim == -1:
        return v.norm(pow)
    dim = dim % v.dim()
    others = tuple(d for d in range(v.dim()) if d != dim)
    if not others:
        return v.abs()
    return v.norm(pow, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``v * (g / ||v||)`` with the norm taken over every dimension but ``dim``."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        weight_g = norm_except_dim(weight, 2, self.dim)
        return weight_g, weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (``original0`` is the magnitude
    ``g``, ``original1`` the direction ``v``; the norm is over every dimension but ``dim``,
    over the whole tensor when ``dim`` is None). State dicts written by the legacy
    ``nn.utils.weight_norm`` (``weight_g``/``weight_v``) load too.

    >>> import ember
    >>> from ember import nn
    >>> m = nn.utils.parametrizations.weight_norm(nn.Linear(20, 40))
    >>> m.parametrizations.weight.original0.shape, m.parametrizations.weight.original1.shape
    (ember.Size([40, 1]), ember.Size([40, 20]))
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


# ---- spectral_norm ----------------------------------------------------------------------------
def _reshape_to_matrix(weight: Tensor, dim: int) -> Tensor:
    if dim != 0:
        weight = S.permute(weight, (dim, *(d for d in range(weight.dim()) if d != dim)))
    return S.reshape(weight, (weight.shape[0], -1))


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = _reshape_to_matrix(weight, self.dim)
            h, w = weight_mat.shape
            with no_grad():
                u = C.empty(h, dtype=weight.dtype).normal_(0, 1)
                v = C.empty(w, dtype=weight.dtype).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # In place (the buffers keep their identity), without a graph.
        with no_grad():
            for _ in range(n_power_iterations):
                normalize(LA.mv(weight_mat, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(LA.mv(weight_mat.T, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = _reshape_to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * LA.mv(weight_mat, v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration (one step
    per forward in training mode; buffers ``_u``, ``_v``). ``dim`` defaults to 1 for
    transposed convolutions, else 0.

    >>> import ember
    >>> from ember import nn
    >>> m = nn.utils.parametrizations.spectral_norm(nn.Linear(20, 40))
    >>> for key in m.state_dict():
    ...     print(key)
    bias
    parametrizations.weight.original
    parametrizations.weight.0._u
    parametrizations.weight.0._v
    """
    from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        transposed = (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)
        dim = 1 if isinstance(module, transposed) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module


# ---- orthogonal -------------------------------------------------------------------------------
class _OrthMaps(Enum):
    matrix_exp = 1
    cayley = 2
    householder = 3


def _eye(n: int, dtype: Any) -> Tensor:
    return C.eye(n, dtype=dtype)


def _mT(x: Tensor) -> Tensor:
    return S.transpose(x, -2, -1)


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of ``a = QR`` (``a`` tall) with ``diag(R) >= 0``; no gradient."""
    arr = np.asarray(a._data)
    q, r = np.linalg.qr(arr)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    signs = np.where(signs == 0, 1, signs)
    return _wrap(np.ascontiguousarray(q * signs[..., None, :]).astype(arr.dtype))


def _is_orthogonal(q: Tensor) -> bool:
    arr = np.asarray(q._data)
    n, k = arr.shape[-2], arr.shape[-1]
    eps = 10.0 * n * np.finfo(arr.dtype).eps
    return bool(np.allclose(np.swapaxes(arr, -1, -2) @ arr, np.eye(k), atol=eps, rtol=1e-5))


class _Orthogonal(Module):
    base: Tensor

    def __init__(
        self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        if weight.is_complex():
            raise NotImplementedError("orthogonal: complex weights are not supported by ember")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = _mT(X)
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = S.tril(X)
            if n != k:
                pad = C.zeros(*X.shape[:-2], n, n - k, dtype=X.dtype)
                X = J.cat([X, pad], -1)
            A = X - _mT(X)
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = matrix_exp(A)
            else:
                eye = _eye(n, A.dtype)
                Q = solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = S.tril(X, -1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = householder_product(A, tau)
            signs = np.trunc(np.diagonal(np.asarray(X._data), axis1=-2, axis2=-1))
            Q = Q * _wrap(signs[..., None, :].astype(np.asarray(Q._data).dtype))
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        if transposed:
            Q = _mT(Q)
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if tuple(Q.shape) != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {_size(self.shape)}. "
                f"Got a tensor of shape {_size(Q.shape)}."
            )
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = _mT(Q)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False."
                )
            raise NotImplementedError(
                "orthogonal: assigning to the Householder parametrization with "
                "use_trivialization=False is not supported by ember"
            )
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            noise = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype)
            Q = _make_orthogonal(J.cat([Q, noise], -1))
        self.base = Q
        neg_id = np.zeros(tuple(Q_init.shape), dtype=np.asarray(Q_init._data).dtype)
        idx = np.arange(min(neg_id.shape[-2:]))
        neg_id[..., idx, idx] = -1.0
        return _wrap(neg_id)


def _size(shape: Any) -> str:
    return f"torch.Size({list(shape)})"


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal, through
    ``orthogonal_map`` (``'matrix_exp'`` (default for square), ``'cayley'`` or
    ``'householder'`` (default otherwise)). With ``use_trivialization`` (the default) the
    starting matrix is kept in the buffer ``base`` and the parametrization starts at it.

    >>> import ember
    >>> from ember import nn
    >>> m = nn.utils.parametrizations.orthogonal(nn.Linear(4, 4))
    >>> bool(ember.allclose(m.weight @ m.weight.T, ember.eye(4), atol=1e-5))
    True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
