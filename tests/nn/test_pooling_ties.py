"""Pooling with tied maxima, NaN and infinities, and the tiled 2x2 fast path (ops/_pool_tiles.py)
in both memory layouts: values, indices and gradients equal to torch's, element for element."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
import ember.ops._parallel as P
from ember.ops import _pool_3s2, _pool_tiles
from ember.ops.pool import AvgPoolNd, MaxPoolNd
from tests.parity import num_threads


def _relu_like(shape: tuple, seed: int = 0) -> np.ndarray:
    """A ReLU output: many windows of equal zeros."""
    return np.maximum(np.random.default_rng(seed).standard_normal(shape), 0).astype(np.float32)


def _small_ints(shape: tuple, seed: int = 0) -> np.ndarray:
    """Values in {0, 1, 2}: ties of every kind (two, three or four equal maxima per window)."""
    return np.random.default_rng(seed).integers(0, 3, shape).astype(np.float32)


def _layout(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """``a`` as an NCHW view of NHWC memory when asked (what ember's conv layers produce)."""
    return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2) if channels_last else a


def _compare(e_fn, t_fn, x: np.ndarray, exact: bool = True, seed: int = 1) -> None:
    """Run both, compare outputs (and indices) and the input gradient for a random ``grad``."""
    ex = ember.from_numpy(x).requires_grad_()
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ey, ty = e_fn(ex), t_fn(tx)
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(ey[1].numpy(), ty[1].numpy())
        ey, ty = ey[0], ty[0]

    def check(a, b):  # exact, or up to float rounding (overlapping windows add up gradients)
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

    check(ey.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(seed).standard_normal(tuple(ty.shape)).astype(x.dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    check(ex.grad.numpy(), tx.grad.numpy())


TILED = [(4, 6, 24, 24), (3, 16, 8, 8), (2, 64, 6, 10), (2, 1, 4, 6), (8, 64, 32, 32)]


@pytest.mark.parametrize("shape", TILED, ids=str)
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("values", [_relu_like, _small_ints], ids=["relu", "ints"])
def test_tiled_max_pool_first_maximum_gets_the_gradient(shape, channels_last, values):
    # The last shape is big enough to be split across threads (ops/_parallel.py).
    x = _layout(values(shape), channels_last)
    assert _pool_tiles.tiles(x, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)) is not None
    _compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x)
    _compare(lambda t: F.max_pool2d(t, 2, 2, ceil_mode=True), lambda t: TF.max_pool2d(t, 2), x)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_max_pool_in_small_blocks(channels_last, monkeypatch):
    # Blocks of one or a few window rows: every block boundary must keep windows whole.
    monkeypatch.setattr(_pool_tiles, "_BLOCK_BYTES", 1000)
    x = _layout(_small_ints((4, 6, 24, 24)), channels_last)
    _compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_path_keeps_layout_and_runs(channels_last, monkeypatch):
    grads = []  # the input gradients the tiled backward returned
    real = _pool_tiles.max_backward
    monkeypatch.setattr(_pool_tiles, "max_backward", lambda *a: grads.append(real(*a)) or grads[-1])
    x = ember.from_numpy(_layout(_small_ints((2, 8, 6, 6)), channels_last)).requires_grad_()
    y = F.max_pool2d(x, 2)
    assert (y._data.strides[1] < y._data.strides[-1]) == channels_last
    y.sum().backward()
    assert len(grads) == 1
    assert (grads[0].strides[1] < grads[0].strides[-1]) == channels_last


def test_tiled_max_pool_float64_and_unbatched():
    x = _small_ints((3, 8, 10)).astype(np.float64)
    _compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x)
    x4 = _layout(_small_ints((2, 5, 8, 10)), True).astype(np.float64)
    _compare(lambda t: F.max_pool2d(t, (2, 2)), lambda t: TF.max_pool2d(t, (2, 2)), x4)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_max_pool_nan_and_infinities(channels_last):
    x = _small_ints((2, 3, 4, 6))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # two NaNs in one window: the last one wins
    x[0, 1, 2:4, 0:2] = np.inf  # four tied +inf
    x[1, 2, 0:2, 2:4] = -np.inf  # a window of -inf only
    x[1, 0, 2, 3] = -np.inf
    _compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), _layout(x, channels_last))


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_max_pool_output_changed_in_place(channels_last):
    def run(lib_f):
        return lambda t: lib_f.relu(lib_f.max_pool2d(t * 1, 2) - 1, inplace=True)

    _compare(run(F), run(TF), _layout(_small_ints((2, 4, 6, 8)), channels_last))


@pytest.mark.parametrize("shape", [(4, 6, 24, 24), (2, 64, 6, 10), (3, 8, 10)], ids=str)
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_avg_pool(shape, channels_last):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if len(shape) == 4:
        x = _layout(x, channels_last)
    for kw in (dict(), dict(divisor_override=3), dict(ceil_mode=True, count_include_pad=False)):
        _compare(
            lambda t, kw=kw: F.avg_pool2d(t, 2, **kw),
            lambda t, kw=kw: TF.avg_pool2d(t, 2, **kw),
            x,
            exact=False,
        )


# ---- ties on the general (strided sub-grid) paths --------------------------------------------

TIED = [
    (2, dict(kernel_size=3, stride=1)),  # overlapping windows
    (2, dict(kernel_size=3, stride=2, padding=1)),
    (2, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, dict(kernel_size=(3, 2), stride=(2, 1), dilation=(2, 2), padding=(1, 1))),
    (2, dict(kernel_size=2, stride=2, ceil_mode=True)),  # odd sizes: partial windows
    (1, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, dict(kernel_size=2)),
    (3, dict(kernel_size=2)),
    (3, dict(kernel_size=3, stride=2, padding=1)),
]


@pytest.mark.parametrize("sd,kw", TIED, ids=[f"{sd}d-{kw}" for sd, kw in TIED])
@pytest.mark.parametrize("indices", [False, True])
def test_ties_match_torch_on_every_path(sd, kw, indices):
    shape = (2, 3, *((7, 9, 5)[:sd]))
    e_fn = getattr(F, f"max_pool{sd}d")
    t_fn = getattr(TF, f"max_pool{sd}d")
    _compare(
        lambda t: e_fn(t, return_indices=indices, **kw),
        lambda t: t_fn(t, return_indices=indices, **kw),
        _small_ints(shape),
        exact=False,
    )


def test_tiled_primitives_gradcheck():
    x = np.random.default_rng(0).permutation(64).reshape(2, 2, 4, 4).astype(np.float64) / 16
    t = ember.from_numpy(x).requires_grad_()
    pads, div = ((0, 0), (0, 0)), np.asarray(4.0)
    for cl in (False, True):

        def lay(a, cl=cl):  # channels-last: an NCHW view of NHWC memory, as conv layers give
            return a.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) if cl else a

        assert ember.autograd.gradcheck(
            lambda a: MaxPoolNd.apply(lay(a), (2, 2), (2, 2), pads, (1, 1), (2, 2), False), (t,)
        )
        assert ember.autograd.gradcheck(
            lambda a: AvgPoolNd.apply(lay(a), (2, 2), (2, 2), pads, (2, 2), div), (t,)
        )
        assert ember.autograd.gradgradcheck(
            lambda a: AvgPoolNd.apply(lay(a), (2, 2), (2, 2), pads, (2, 2), div) ** 2, (t,)
        )


@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("sd", [1, 2, 3])
def test_padded_windows_of_minus_inf_pick_a_real_element(sd, indices):
    # A window of -inf values overlapping the padding: PyTorch's maximum is its first real
    # element (pads are never candidates), so the gradient must not vanish into the padding.
    x = _small_ints((2, 2, *((6, 7, 5)[:sd])))
    x[0] = -np.inf
    x[1, 0, ..., :2] = -np.inf
    e_fn, t_fn = getattr(F, f"max_pool{sd}d"), getattr(TF, f"max_pool{sd}d")
    _compare(
        lambda t: e_fn(t, 3, 2, 1, return_indices=indices),
        lambda t: t_fn(t, 3, 2, 1, return_indices=indices),
        x,
        exact=False,
    )


@pytest.mark.parametrize(
    "kw",
    [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1)],
    ids=["tiled", "overlapping", "padded"],
)
@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_non_finite_upstream_gradient_stays_at_the_maxima(kw, indices, channels_last):
    # 0 * inf is NaN: a mask product would spread an inf/NaN gradient over the whole window.
    x = _layout(_small_ints((2, 3, 6, 8)), channels_last)
    ex = ember.from_numpy(x).requires_grad_()
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ey, ty = (
        F.max_pool2d(ex, return_indices=indices, **kw),
        TF.max_pool2d(tx, return_indices=indices, **kw),
    )
    if indices:
        ey, ty = ey[0], ty[0]
    g = np.ones(tuple(ty.shape), np.float32)
    g[0, 0, 0, 0], g[0, 1, 1, 1], g[1, 2, 0, 1] = np.inf, np.nan, -np.inf
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_tiled_max_pool_backward_split_at_lenet_size(channels_last, monkeypatch):
    # LeNet's first pool: its backward (several passes over the input) runs in per-core chunks.
    from ember.ops import _parallel

    works: list = []
    real = _parallel.parallel_for

    def spy(fn, n, work, *site, **kw):
        works.append(work)
        real(fn, n, work, *site, **kw)

    monkeypatch.setattr(_pool_tiles, "parallel_for", spy)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        x = _layout(_relu_like((64, 6, 24, 24)), channels_last)
        _compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x)
    finally:
        ember.set_num_threads(before)
    assert max(works) >= _parallel.MIN_WORK


# ---- 3x3 windows at stride 2, padding 1: the two 1-D passes (ops/_pool_3s2.py) -----------------

S2_SHAPES = [(2, 3, 7, 9), (2, 5, 8, 8), (1, 2, 1, 1), (3, 4, 2, 3), (2, 64, 13, 6)]


@pytest.mark.parametrize("shape", S2_SHAPES, ids=str)
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("values", [_relu_like, _small_ints], ids=["relu", "ints"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_max_pool_3x3_stride_2_first_maximum(shape, channels_last, values, dtype, monkeypatch):
    calls = []
    real = _pool_3s2.max_backward
    monkeypatch.setattr(_pool_3s2, "max_backward", lambda *a: calls.append(1) or real(*a))
    x = _layout(values(shape).astype(dtype), channels_last)
    _compare(lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: TF.max_pool2d(t, 3, 2, 1), x)
    assert calls  # (the two-pass path ran)
    # ceil_mode: the same windows when no window would start on the right padding
    _compare(
        lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        lambda t: TF.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        x,
        exact=bool(shape[2] % 2 and shape[3] % 2),  # (even sizes: more windows, the sweep)
    )


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_max_pool_3x3_stride_2_layout_and_edge_values(channels_last):
    x = _small_ints((2, 3, 6, 7))
    x[0, 0, :3, :3] = -np.inf  # a corner window of -inf only: its first real element
    x[0, 1, 2, 2] = np.inf
    x[1, 2, 1, :] = -0.0
    for grad in ([-0.0], [np.inf, 1.0, -2.0], [1.0, -1.0]):
        ex = ember.from_numpy(_layout(x, channels_last)).requires_grad_()
        tx = torch.tensor(x, requires_grad=True)
        if channels_last:
            tx = tx.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
        ey, ty = F.max_pool2d(ex, 3, 2, 1), TF.max_pool2d(tx, 3, 2, 1)
        np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
        assert ey.stride() == ty.stride()
        g = np.resize(np.asarray(grad, np.float32), tuple(ty.shape))
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
        assert not np.signbit(ex.grad.numpy()[ex.grad.numpy() == 0]).any()  # +0.0 as PyTorch
        assert ex.grad.stride() == tx.grad.stride()


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_max_pool_3x3_stride_2_nan_takes_the_general_path(channels_last):
    x = _small_ints((2, 3, 6, 7))
    x[0, 0, 1, 1] = np.nan
    x[1, 2, 0, 0] = x[1, 2, 1, 1] = np.nan
    _compare(
        lambda t: F.max_pool2d(t, 3, 2, 1),
        lambda t: TF.max_pool2d(t, 3, 2, 1),
        _layout(x, channels_last),
        False,
    )


@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_max_pool_3x3_stride_2_big_batch(channels_last, split, monkeypatch):
    # Big enough to be cut into per-core chunks and several cache blocks.
    monkeypatch.setattr(P, "SPLIT", split)
    monkeypatch.setattr(_pool_3s2, "_BLOCK_BYTES", 1 << 16)
    x = _layout(_relu_like((9, 32, 30, 31)), channels_last)
    ex = ember.from_numpy(x).requires_grad_()
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    with num_threads(2):
        ey = F.max_pool2d(ex, 3, 2, 1)
        ty = TF.max_pool2d(tx, 3, 2, 1)
        np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
        g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(np.float32)
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
    # (elements that are the maximum of four windows sum them in PyTorch's order: bit for bit)
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("view", ["slice", "expand", "permuted", "cl_slice"])
def test_max_pool_3x3_stride_2_of_views(view):
    """Strided views: values, gradients and output strides as PyTorch's (an expanded channel
    axis reads as NCHW, as there)."""
    views = {
        "slice": lambda lib, x: x[:, :, 1:, ::2],
        "expand": lambda lib, x: x[:, :1].expand(3, 4, 9, 10),
        "permuted": lambda lib, x: x.permute(0, 1, 3, 2),
        "cl_slice": lambda lib, x: x.contiguous(memory_format=lib.channels_last)[:, 1:3],
    }
    base = _relu_like((3, 4, 9, 10), seed=6)
    outs = []
    for lib, f in ((ember, F), (torch, TF)):
        x = lib.tensor(base).requires_grad_()
        y = f.max_pool2d(views[view](lib, x), 3, 2, 1)
        y.backward(lib.ones_like(y) * 0.5)
        outs.append((y.detach().numpy(), y.stride(), x.grad.numpy()))
    (ey, es, eg), (ty, ts, tg) = outs
    np.testing.assert_array_equal(ey, ty)
    np.testing.assert_array_equal(eg, tg)
    assert es == ts
