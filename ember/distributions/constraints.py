"""Constraints: the set a parameter or a sample must lie in, as ``torch.distributions.constraints``.

``constraint.check(value)`` returns a boolean tensor over the batch (event dimensions, counted by
``event_dim``, are reduced with "all"). The module-level instances (``real``, ``positive``,
``simplex``...) are what distributions use in ``arg_constraints`` and ``support``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap

__all__ = [
    "Constraint",
    "boolean",
    "cat",
    "corr_cholesky",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer_interval",
    "interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_definite",
    "positive_integer",
    "positive_semidefinite",
    "real",
    "real_vector",
    "simplex",
    "square",
    "symmetric",
    "unit_interval",
]


def _arr(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def fmt(value: Any) -> Any:
    """What PyTorch's f-strings show for ``value``: a 0-dim tensor formats as its number."""
    if isinstance(value, Tensor) and value._data.ndim == 0:
        return value.item()
    return value


def _bool(a: Any) -> Tensor:
    return _wrap(np.asarray(a, dtype=bool))


class Constraint:
    """A region of values; ``is_discrete`` and ``event_dim`` describe it, ``check`` tests it."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        """A boolean tensor: whether each (event of) ``value`` satisfies the constraint."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__[1:] + "()"


class _Dependent(Constraint):
    """A placeholder for a constraint that depends on other parameters (not checkable)."""

    def __init__(self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented):
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, x: Tensor) -> Tensor:
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: Any) -> bool:
    """Whether ``constraint`` is a ``dependent`` placeholder."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property whose value is a constraint computed from the distribution's parameters."""

    def __init__(self, fn: Any = None, *, is_discrete: Any = NotImplemented,
                 event_dim: Any = NotImplemented) -> None:  # fmt: skip
        property.__init__(self, fn)
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn: Any) -> _DependentProperty:  # type: ignore[override]
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """``base_constraint`` with ``reinterpreted_batch_ndims`` more dimensions in the event."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        if not isinstance(base_constraint, Constraint):
            raise AssertionError("base_constraint must be a Constraint")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise AssertionError("reinterpreted_batch_ndims must be a non-negative int")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value: Tensor) -> Tensor:
        result = _arr(self.base_constraint.check(value))
        if result.ndim < self.reinterpreted_batch_ndims:
            expected = self.base_constraint.event_dim + self.reinterpreted_batch_ndims
            raise ValueError(f"Expected value.dim() >= {expected} but got {_arr(value).ndim}")
        n = self.reinterpreted_batch_ndims
        if n:
            result = result.reshape(result.shape[: result.ndim - n] + (-1,)).all(-1)
        return _bool(result)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__[1:]}({repr(self.base_constraint)}, "
            f"{self.reinterpreted_batch_ndims})"
        )


class _Elementwise(Constraint):
    """A constraint tested element by element by ``test(array) -> bool array``."""

    def check(self, value: Tensor) -> Tensor:
        with np.errstate(invalid="ignore"):
            return _bool(self.test(_arr(value)))

    def test(self, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _Boolean(_Elementwise):
    is_discrete = True

    def test(self, a):
        return (a == 0) | (a == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        a = _arr(value)
        return _bool((((a == 0) | (a == 1)).all(-1)) & (a.sum(-1) == 1))


class _IntegerInterval(_Elementwise):
    is_discrete = True

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def test(self, a):
        lo, hi = _arr(self.lower_bound), _arr(self.upper_bound)
        return (a % 1 == 0) & (lo <= a) & (a <= hi)

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={fmt(self.lower_bound)}, upper_bound={fmt(self.upper_bound)})"  # noqa: E501


class _IntegerLessThan(_Elementwise):
    is_discrete = True

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def test(self, a):
        return (a % 1 == 0) & (a <= _arr(self.upper_bound))

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(upper_bound={fmt(self.upper_bound)})"


class _IntegerGreaterThan(_Elementwise):
    is_discrete = True

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def test(self, a):
        return (a % 1 == 0) & (a >= _arr(self.lower_bound))

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={fmt(self.lower_bound)})"


class _Real(_Elementwise):
    def test(self, a):
        return a == a  # False only for NaN


class _GreaterThan(_Elementwise):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def test(self, a):
        return _arr(self.lower_bound) < a

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={fmt(self.lower_bound)})"


class _GreaterThanEq(_GreaterThan):
    def test(self, a):
        return _arr(self.lower_bound) <= a


class _LessThan(_Elementwise):
    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def test(self, a):
        return a < _arr(self.upper_bound)

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(upper_bound={fmt(self.upper_bound)})"


class _Interval(_Elementwise):
    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def test(self, a):
        return (_arr(self.lower_bound) <= a) & (a <= _arr(self.upper_bound))

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={fmt(self.lower_bound)}, upper_bound={fmt(self.upper_bound)})"  # noqa: E501


class _HalfOpenInterval(_Interval):
    def test(self, a):
        return (_arr(self.lower_bound) <= a) & (a < _arr(self.upper_bound))


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        a = _arr(value)
        with np.errstate(invalid="ignore"):
            return _bool((a >= 0).all(-1) & (np.abs(a.sum(-1) - 1) < 1e-6))


class _Multinomial(Constraint):
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound

    def check(self, x):
        a = _arr(x)
        return _bool((a >= 0).all(-1) & (a.sum(-1) <= self.upper_bound))


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        a = _arr(value)
        ok = a.shape[-2] == a.shape[-1]
        return _bool(np.full(a.shape[:-2], ok, dtype=bool))


class _Symmetric(_Square):
    def check(self, value):
        a = _arr(value)
        if a.shape[-2] != a.shape[-1]:
            return _bool(np.zeros(a.shape[:-2], bool))
        return _bool(np.isclose(a, np.swapaxes(a, -1, -2), atol=1e-6).all((-2, -1)))


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        a = _arr(value)
        return _bool((np.tril(a) == a).reshape(a.shape[:-2] + (-1,)).min(-1))


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        a = _arr(value)
        tri = (np.tril(a) == a).reshape(a.shape[:-2] + (-1,)).min(-1)
        diag = (np.diagonal(a, axis1=-2, axis2=-1) > 0).min(-1)
        return _bool(tri & diag)


class _CorrCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        a = _arr(value)
        tol = np.finfo(a.dtype).eps * a.shape[-1] * 10
        row_norm = np.linalg.norm(a, axis=-1)
        unit = (np.abs(row_norm - 1) <= tol).all(-1)
        return _bool(_arr(lower_cholesky.check(value)) & unit)


def _eigvalsh(a: np.ndarray) -> np.ndarray | None:
    if a.shape[-2] != a.shape[-1] or not np.isfinite(a).all():
        return None
    return np.linalg.eigvalsh(a)


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        sym = _arr(super().check(value))
        ev = _eigvalsh(_arr(value))
        return _bool(sym & (ev >= 0).all(-1)) if ev is not None else _bool(np.zeros_like(sym))


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        sym = _arr(super().check(value))
        a = _arr(value)
        ok = np.zeros_like(sym)
        flat = a.reshape((-1,) + a.shape[-2:])
        for i, m in enumerate(flat):
            try:
                np.linalg.cholesky(m)
                ok.reshape(-1)[i] = True
            except np.linalg.LinAlgError:
                pass
        return _bool(sym & ok)


class _Cat(Constraint):
    """Constraints applied to pieces of ``dim`` of sizes ``lengths``."""

    def __init__(self, cseq: list, dim: int = 0, lengths: list | None = None) -> None:
        self.cseq = list(cseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        a = _arr(value)
        pieces, start = [], 0
        for c, n in zip(self.cseq, self.lengths):
            pieces.append(_arr(c.check(_wrap(np.take(a, range(start, start + n), axis=self.dim)))))
            start += n
        return _bool(np.concatenate(pieces, self.dim))


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
