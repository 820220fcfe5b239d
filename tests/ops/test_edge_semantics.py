"""Edge cases where ember once gave a silent wrong answer or a NumPy error: each runs the same
program in ember and in torch and compares values, dtypes and exception types."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

NAN, INF = float("nan"), float("inf")


def both(fn):
    """``fn(lib)`` for ember and torch: (result, None) or (None, exception) for each."""
    out = []
    for m in (ember, torch):
        try:
            out.append((fn(m), None))
        except Exception as e:  # noqa: BLE001 - the type is what we compare
            out.append((None, e))
    return out


def same(fn, **tol):
    """ember and torch agree: the same exception type, or the same values and dtype."""
    (er, ee), (tr, te) = both(fn)
    if te is not None:
        assert ee is not None, f"torch raised {te!r}, ember returned {er!r}"
        assert type(ee) is type(te) or isinstance(ee, type(te)), f"{ee!r} vs torch {te!r}"
        return ee, te
    assert ee is None, f"ember raised {ee!r}, torch returned {tr!r}"
    assert_close(er, tr, **tol)
    return er, tr


def T(m, data, **kw):
    return m.tensor(data, **kw)


# ---- integer division by zero ------------------------------------------------------------
INT_DIV = [
    lambda m: T(m, [5, 3]) // T(m, [0, 1]),
    lambda m: T(m, [5, 3]) % T(m, [0, 1]),
    lambda m: T(m, [5, 3]) % 0,
    lambda m: m.fmod(T(m, [5, 3]), 0),
    lambda m: m.fmod(T(m, [5, 3], dtype=m.int32), T(m, [1, 0], dtype=m.int32)),
    lambda m: m.div(T(m, [5, 3]), T(m, [0, 1]), rounding_mode="trunc"),
    lambda m: m.div(T(m, [5, 3]), 0, rounding_mode="floor"),
    lambda m: m.remainder(7, T(m, [0, 2])),
    lambda m: T(m, [5, 3], dtype=m.uint8) // T(m, [0, 1], dtype=m.uint8),
]


@pytest.mark.parametrize("fn", INT_DIV)
def test_integer_division_by_zero_raises(fn):
    ee, te = same(fn)
    assert str(ee) == str(te) == "ZeroDivisionError"


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.div(
            T(m, [7, -7, 7, -7, 2**62 + 1]), T(m, [2, 2, -2, -2, 3]), rounding_mode="trunc"
        ),
        lambda m: m.div(T(m, [7, -7]), 2, rounding_mode="floor"),
        lambda m: m.div(7, T(m, [2, -3]), rounding_mode="trunc"),
        lambda m: T(m, [1.0, -1.0, 0.0]) / 0,
        lambda m: T(m, [1.0, -1.0, 0.0]) // 0.0,
        lambda m: m.fmod(T(m, [5.0, -5.0]), 0.0),
    ],
)
def test_division_values(fn):
    same(fn)


# ---- NaN ordering, fmax/fmin, float_power ------------------------------------------------
VALS = [1.0, NAN, 3.0, 1.0, NAN, -0.0, 0.0, -INF, INF]


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nan_as_largest(descending):
    same(lambda m: tuple(m.sort(T(m, VALS), descending=descending, stable=True)))
    same(lambda m: tuple(m.sort(T(m, [[3.0, NAN, 1.0], [NAN, 2.0, 2.0]]), 0, descending)))


@pytest.mark.parametrize("largest", [False, True])
def test_topk_keeps_nan(largest):
    same(lambda m: tuple(m.topk(T(m, VALS), 3, largest=largest)))


def test_sort_descending_unsigned_and_bool():
    same(lambda m: tuple(m.sort(T(m, [200, 1, 3, 200], dtype=m.uint8), descending=True)))
    same(lambda m: tuple(m.sort(T(m, [True, False, True]), descending=True, stable=True)))
    big = [-(2**63), 2**63 - 1, 0]
    same(lambda m: tuple(m.sort(T(m, big), descending=True)))


def test_sort_and_topk_of_0d():
    same(lambda m: tuple(m.sort(T(m, 5.0), descending=True)))
    same(lambda m: tuple(m.topk(T(m, 5.0), 1)))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_ignore_nan_with_torch_gradients(name):
    a = np.array([1.0, NAN, NAN, 2.0, 3.0, 3.0])
    b = np.array([NAN, 2.0, NAN, 1.0, 3.0, 5.0])
    got = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        y = m.tensor(b, requires_grad=True)
        r = getattr(m, name)(x, y)
        r.sum().backward()
        got.append((r, x.grad, y.grad))
    for e, t in zip(*got):
        assert_close(e, t)


def test_float_power_is_double():
    same(lambda m: m.float_power(T(m, [1.0, 2.0]), 2))
    same(lambda m: m.float_power(T(m, [1, 2]), T(m, [2.0, 0.5])))
    same(lambda m: m.float_power(2, T(m, [1, 3])))


# ---- comparisons with None -----------------------------------------------------------------
def test_equality_with_none_is_false():
    for m in (ember, torch):
        x = m.tensor([1.0])
        assert (x == None) is False  # noqa: E711 - the operator is the point
        assert (x != None) is True  # noqa: E711
        assert (x == "a") is False
    same(lambda m: m.tensor([1.0]) < None)
    same(lambda m: m.eq(m.tensor([1.0]), None))
    for m in (ember, torch):
        assert (m.tensor([1.0, 2.0]) == [1.0, 3.0]) is False


# ---- NumPy's exceptions and wording ------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.full((2,), "x"),
        lambda m: m.full_like(m.zeros(2), "x"),
        lambda m: m.zeros(2**62),
        lambda m: m.zeros(3).view(m.float64),
        lambda m: m.zeros(2, 4).t().view(m.float64),
        lambda m: m.tensor(1.0).view(m.int16),
        lambda m: m.zeros(2, 3)[:, :2].view(m.float64),
        lambda m: m.zeros(2, 3).view(m.int16),
        lambda m: m.zeros(2, 4)[:, :2].view(m.float64),
        lambda m: m.nn.functional.linear(m.tensor(1.0), m.zeros(2, 3)),
        lambda m: m.nn.Linear(3, 2)(m.tensor(1.0)),
        lambda m: m.nn.functional.cross_entropy(T(m, [[1, 2]]), T(m, [1])),
        lambda m: m.nn.functional.nll_loss(T(m, [[1, 2]]), T(m, [1])),
        lambda m: m.index_select(m.zeros(3), 0, T(m, [5])),
        lambda m: m.index_select(m.zeros(3, 2), 1, T(m, [5])),
        lambda m: m.index_select(m.zeros(3, 2, 4), 1, T(m, [0, -1])),
        lambda m: m.index_select(m.zeros(3, 2, 4), 2, T(m, [7])),
        lambda m: float(m.zeros(2)),
        lambda m: int(m.zeros(2)),
        lambda m: complex(m.zeros(2)),
        lambda m: m.gather(T(m, 5.0), 0, T(m, [0, 0])),
    ],
)
def test_exception_types_and_values_match_torch(fn):
    same(fn)


def test_huge_allocation_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="overflowed"):
        ember.zeros(2**62)
    with pytest.raises(RuntimeError, match="allocate"):
        ember.empty(2**45)
    # ember's error is a MemoryError too, so either ``except`` clause catches it.
    with pytest.raises(MemoryError):
        ember.ones(2**45, dtype=ember.float64)


def test_view_dtype_shares_memory_and_version():
    x = ember.zeros(2, 4)
    v = x[:, :2].view(ember.float64)
    v.fill_(1.0)
    t = torch.zeros(2, 4)
    t[:, :2].view(torch.float64).fill_(1.0)
    assert_close(x, t)
    assert x._version == v._version


def test_read_only_numpy_array():
    a = np.zeros(3)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        x = ember.from_numpy(a)
    for write in (
        lambda: x.add_(1),
        lambda: x.fill_(2.0),
        lambda: x.normal_(),
        lambda: x.clamp_(0, 1),
        lambda: x.copy_(ember.ones(3, dtype=ember.float64)),
        lambda: x.__setitem__(0, 5.0),
        lambda: ember.add(x, 1, out=x),
    ):
        with pytest.raises(RuntimeError, match="read-only NumPy array"):
            write()
    assert not a.any()


# ---- padding with negative widths ------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape,pad",
    [
        ((3,), (-4, 0)),
        ((3,), (-2, -2)),
        ((3,), (-3, 0)),
        ((2, 3), (-1, -2)),
        ((2, 3), (0, 0, -2, -1)),
        ((2, 3), (-1, 1, 1, -1)),
    ],
)
def test_pad_negative_widths(mode, shape, pad):
    def run(m):
        x = m.arange(float(np.prod(shape))).reshape(shape)
        if mode != "constant":
            x = x.unsqueeze(0)
        return m.nn.functional.pad(x, pad, mode=mode)

    same(run)


def test_pad_constant_crop_gradient():
    got = []
    for m in (ember, torch):
        x = m.arange(6.0).reshape(2, 3).requires_grad_()
        m.nn.functional.pad(x, (-1, 2, 1, -1), value=3.0).pow(2).sum().backward()
        got.append(x.grad)
    assert_close(*got)


def test_no_numpy_warning_escapes_from_ember():
    """x / 0, log(0) and losses of infinite logits give torch's inf/NaN without a NumPy
    RuntimeWarning (the filter ember installs; the user's own NumPy code still warns)."""
    with warnings.catch_warnings(record=True) as caught:
        same(lambda m: m.nn.functional.cross_entropy(T(m, [[INF, 0.0]]), T(m, [1])))
        same(
            lambda m: m.nn.functional.binary_cross_entropy_with_logits(
                T(m, [INF, -INF]), T(m, [0.0, 1.0])
            )
        )
        same(lambda m: m.log(T(m, [0.0, -1.0])))
        same(lambda m: T(m, [1.0, 0.0, -1.0]) / 0)
        same(lambda m: T(m, [0.0, 1.0]) ** -1.0)
        same(lambda m: m.sqrt(T(m, [-1.0, 4.0])))
        same(lambda m: T(m, [2**63 - 1]) * 2)
        np.log(np.zeros(1))  # the control: a warning from outside ember is still shown
    from_ember = [w for w in caught if "ember" in w.filename]
    assert not from_ember, [str(w.message) for w in from_ember]
    assert any("divide by zero" in str(w.message) for w in caught)


# ---- cases the differential fuzzer found (each once a silent difference or a NumPy error) ----
FOUND = [
    lambda m: m.frac(m.tensor([5, 3])),
    lambda m: m.floor(m.tensor([True, False])),
    lambda m: m.round(m.tensor([True])),
    lambda m: m.relu(m.tensor([True])),
    lambda m: m.tensor([2, 3]) ** m.tensor([-1, 2]),
    lambda m: m.tensor([True, False]) ** m.tensor([True, True]),
    lambda m: m.argmax(m.tensor([True, False])),
    lambda m: tuple(m.topk(m.tensor([True, False]), 1)),
    lambda m: m.lerp(m.tensor([1.0], dtype=m.float16), m.tensor([2.0]), 0.5),
    lambda m: m.addcmul(m.tensor([1, 2]), m.tensor([3, 4]), m.tensor([5, 6]), value=2.5),
    lambda m: m.addcdiv(m.tensor([1, 2]), m.tensor([3, 4]), m.tensor([5, 6])),
    lambda m: m.addcmul(m.tensor(5.5), m.tensor([1]), m.tensor([1]), value=0.001),
    lambda m: m.zeros(2, dtype=m.uint8).fill_(-0.5),
    lambda m: m.zeros(2, dtype=m.uint8).fill_(-1),
    lambda m: m.zeros(2, dtype=m.int8).fill_(300),
    lambda m: m.zeros(2, dtype=m.float16).fill_(1e30),
    lambda m: m.zeros(2, dtype=m.uint8).mul_(2**40),
    lambda m: m.zeros(2, dtype=m.uint8).mul_(m.tensor(3)),
    lambda m: m.zeros(2, dtype=m.int32).clamp_(0.5, 2),
    lambda m: m.clamp(m.tensor([True, False]), 0),
    lambda m: m.split(m.tensor(1.0), 1),
    lambda m: m.chunk(m.zeros(0, 3), 2),
    lambda m: m.narrow(m.zeros(4), 0, 5, 0),
    lambda m: m.narrow(m.zeros(4), 0, 1, -1),
    lambda m: m.cat([m.zeros(0, dtype=m.int16), m.tensor([[True]])]),
    lambda m: m.stack([m.tensor(1.0), m.tensor([1.0])], 1),
    lambda m: m.cumsum(m.tensor([1, 2], dtype=m.int8), 0),
    lambda m: m.cumprod(m.tensor(3.0), 0),
    lambda m: m.any(m.tensor([1, 2], dtype=m.uint8)),
    lambda m: m.softmax(m.zeros(2, 0), 1),
    lambda m: m.logsumexp(m.zeros(0, 2), 0),
    lambda m: m.softmax(m.tensor([1.0, 2.0, 3.0], dtype=m.float16), 0),
    lambda m: m.sign(m.tensor([float("nan"), -2.0])),
    lambda m: m.tensor([1.0, -1.0]) / -0.0,
    lambda m: m.tensor([1, 2]) / m.tensor([2.0], dtype=m.float16),
    lambda m: 0.001 / m.tensor([2.9e-39]),
    lambda m: m.tensor([0, 255], dtype=m.uint8) < m.tensor(-4, dtype=m.int8),
    lambda m: m.tensor([1, 2], dtype=m.int8) < 2**40,
    lambda m: m.bitwise_and(m.tensor([1, 2], dtype=m.int16), m.tensor(3)),
    lambda m: m.nan_to_num(m.tensor([float("nan"), float("inf"), 1.0])),
    lambda m: m.std(m.tensor([0.0, 1.0, 1.7e38])),
    lambda m: m.mean(m.zeros(0)),
    lambda m: m.tensor([-0.0, 4.0]) ** -0.5,
    lambda m: m.tensor([-0.0, 4.0]) ** 0.5,
    lambda m: m.matmul(m.zeros(2, 2, dtype=m.bool), m.zeros(2, 2, dtype=m.bool)),
    lambda m: m.roll(m.zeros(0), 1, 2),
    lambda m: m.zeros(3).copy_(m.zeros(1, 3)),
    lambda m: m.zeros(2, 2).add_(m.zeros(1, 2, 2)),
    lambda m: m.where(m.tensor(False), m.zeros(3, 0, 1), m.zeros(3, 1)),
    lambda m: m.permute(m.tensor(1.0)),
    lambda m: m.zeros(2, 1).expand(2, 3).fill_(2.0),
    lambda m: m.zeros(2, 1).expand(2, 3).add_(1.0),
    lambda m: m.tensor(3.0).squeeze(1),
]


@pytest.mark.parametrize("fn", FOUND)
def test_fuzzer_findings_match_torch(fn):
    same(fn)


GRAD_FOUND = [
    (lambda m, x: m.nan_to_num(x), [1.0, float("inf")]),
    (lambda m, x: m.relu(m.log(x)), [-1.0, 2.0]),
    (lambda m, x: m.maximum(x, x), [float("nan"), 1.0]),
    (lambda m, x: m.max(x), [float("nan"), 1.0, 3.0]),
    (lambda m, x: m.atan2(x, x), [0.0, 1.0]),
    (lambda m, x: m.cumprod(x, 0), [2.0, 0.0, 3.0, 0.0, 5.0]),
    (lambda m, x: m.div(x, m.tensor([float("nan"), 2.0]), rounding_mode="trunc"), [1.0, 3.0]),
    (lambda m, x: m.zeros(2).fill_(1.0) + x.clone().fill_(float("inf")), [1.0, 2.0]),
]


@pytest.mark.parametrize("fn, data", GRAD_FOUND)
def test_fuzzer_gradient_findings_match_torch(fn, data):
    got = []
    for m in (ember, torch):
        x = m.tensor(data, dtype=m.float64, requires_grad=True)
        y = fn(m, x)
        y.sum().backward()
        got.append((y, x.grad))
    for e, t in zip(*got):
        assert_close(e, t)


def test_writing_into_a_power_result_is_allowed_as_in_torch():
    grads = []
    for m in (ember, torch):
        x = m.tensor([2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x**2.5
        y.copy_(x)  # PowBackward0 saved the base only
        y.tan().sum().backward()
        grads.append(x.grad)
    assert_close(*grads)
