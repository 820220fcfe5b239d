"""memory_format (contiguous / channels_last / channels_last_3d / preserve) against PyTorch:
strides and values of every function that takes it, errors, Module.to and gradients."""

import pickle

import numpy as np
import pytest
import torch

import ember

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]


def _inputs(ndim: int):
    """(name, make) pairs: the same layout built in either library from one NumPy array."""
    shape = (2, 3, 4, 5) if ndim == 4 else (2, 3, 2, 4, 3)
    base = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    last = "channels_last" if ndim == 4 else "channels_last_3d"
    return [
        ("contiguous", lambda lib: lib.tensor(base)),
        (
            "channels_last",
            lambda lib: lib.tensor(base).contiguous(memory_format=getattr(lib, last)),
        ),
        ("non_dense", lambda lib: lib.tensor(base)[:, :, ::2]),
        ("permuted_non_dense", lambda lib: lib.tensor(base).transpose(1, 2)[..., ::2]),
        ("expanded", lambda lib: lib.tensor(base)[:1].expand(*shape)),
        ("size_one", lambda lib: lib.tensor(base)[:, :1, :1].transpose(0, 2)),
    ]


def _cases():
    for ndim in (4, 5):
        for name, make in _inputs(ndim):
            for fmt in FORMATS:
                yield pytest.param(make, fmt, id=f"{ndim}d-{name}-{fmt}")


def _same(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    assert e.stride() == t.stride()
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def _call(fn):
    """``fn``'s result, or the exception type and message it raises."""
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - compared with torch's below
        return None, (type(exc), str(exc))


def _check(op, e, t, fmt, values=True):
    """``op(tensor, format, library)`` run on the ember and the torch tensor agree: the same
    exception, or results of equal shape, strides and (unless ``values`` is False) values."""
    e, eerr = _call(lambda: op(e, getattr(ember, fmt), ember))
    t, terr = _call(lambda: op(t, getattr(torch, fmt), torch))
    assert eerr == terr
    if t is None:
        return
    assert e.stride() == t.stride() and tuple(e.shape) == tuple(t.shape)
    if values:
        _same(e, t)


@pytest.mark.parametrize("make,fmt", list(_cases()))
def test_layout_functions_match_torch(make, fmt):
    e, t = make(ember), make(torch)
    ef, tf = getattr(ember, fmt), getattr(torch, fmt)
    assert e.stride() == t.stride()
    assert e.is_contiguous(memory_format=ef) == t.is_contiguous(memory_format=tf)
    _check(lambda x, f, lib: x.contiguous(memory_format=f), e, t, fmt)
    _check(lambda x, f, lib: x.clone(memory_format=f), e, t, fmt)
    _check(lambda x, f, lib: x.to(memory_format=f), e, t, fmt)
    _check(lambda x, f, lib: x.to(lib.float64, memory_format=f), e, t, fmt)
    _check(lambda x, f, lib: x.to(copy=True, memory_format=f), e, t, fmt)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        values = name in ("zeros_like", "ones_like")
        _check(lambda x, f, lib, n=name: getattr(lib, n)(x, memory_format=f), e, t, fmt, values)
    _check(lambda x, f, lib: lib.full_like(x, 2.5, memory_format=f), e, t, fmt)


@pytest.mark.parametrize("make,fmt", list(_cases())[:: len(FORMATS)])
def test_constant_likes_in_the_input_layout_match_torch(make, fmt):
    """zeros/ones/full/empty_like are allocated in the layout preserve_format asks for and
    filled there: every fill value and dtype (a -0.0 fill is not an all-zero-bits one), and
    ember's empty holds zeros in any layout."""
    e, t = make(ember), make(torch)
    for value in (0.0, -0.0, 1.5, float("nan")):
        _same(ember.full_like(e, value), torch.full_like(t, value))
        got = ember.full_like(e, value).numpy()
        np.testing.assert_array_equal(np.signbit(got), np.signbit(torch.full_like(t, value)))
    for dt in ("int64", "bool", "float64", "complex64"):
        _same(
            ember.ones_like(e, dtype=getattr(ember, dt)),
            torch.ones_like(t, dtype=getattr(torch, dt)),
        )
        _same(
            ember.zeros_like(e, dtype=getattr(ember, dt)),
            torch.zeros_like(t, dtype=getattr(torch, dt)),
        )
    got = ember.empty_like(e)
    assert got.stride() == torch.empty_like(t).stride() and not got.numpy().any()
    for f in ("channels_last", "channels_last_3d", "contiguous_format"):
        if (f == "channels_last") != (e.ndim == 4) and f != "contiguous_format":
            continue
        got = ember.empty(*e.shape, memory_format=getattr(ember, f))
        assert got.stride() == torch.empty(*t.shape, memory_format=getattr(torch, f)).stride()
        assert not got.numpy().any()


@pytest.mark.parametrize("make,fmt", list(_cases())[:: len(FORMATS)])
def test_default_format_calls_match_torch(make, fmt):
    e, t = make(ember), make(torch)
    _same(e.clone(), t.clone())
    _same(e.contiguous(), t.contiguous())
    _same(e.to(ember.float64), t.to(torch.float64))
    _same(ember.zeros_like(e), torch.zeros_like(t))
    assert e.contiguous().is_contiguous() and e.is_contiguous() == t.is_contiguous()


@pytest.mark.parametrize("fmt", FORMATS[:3])
def test_wrong_rank_errors_match_torch(fmt):
    for shape in [(2, 3), (2, 3, 4), (1, 2, 3, 4, 5, 6)]:
        e, t = ember.zeros(shape), torch.zeros(shape)
        ef, tf = getattr(ember, fmt), getattr(torch, fmt)
        _check(lambda x, f, lib: x.contiguous(memory_format=f), e, t, fmt)
        _check(lambda x, f, lib: x.to(memory_format=f), e, t, fmt)
        _check(lambda x, f, lib: x.clone(memory_format=f), e, t, fmt)
        _check(lambda x, f, lib: lib.empty_like(x, memory_format=f), e, t, fmt, values=False)
        assert e.is_contiguous(memory_format=ef) == t.is_contiguous(memory_format=tf)


def test_size_one_and_empty_rules_match_torch():
    for shape in [(4, 3, 1, 1), (4, 1, 5, 5), (1, 3, 5, 5), (1, 1, 1, 1), (2, 3, 0, 2)]:
        e, t = ember.zeros(shape), torch.zeros(shape)
        for fmt in FORMATS[:3]:
            ef, tf = getattr(ember, fmt), getattr(torch, fmt)
            assert e.is_contiguous(memory_format=ef) == t.is_contiguous(memory_format=tf)
            if 0 not in shape:  # an empty tensor's strides differ already (docs/differences.md)
                _check(lambda x, f, lib: x.contiguous(memory_format=f), e, t, fmt)


def test_preserve_format_contiguous_refused_when_a_copy_is_needed():
    e = ember.zeros(2, 3, 4, 5).transpose(1, 3)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        e.contiguous(memory_format=ember.preserve_format)
    c = ember.zeros(2, 3, 4, 5)
    assert c.contiguous(memory_format=ember.preserve_format) is c


def test_returns_self_when_already_in_format():
    c = ember.randn(2, 3, 4, 5).contiguous(memory_format=ember.channels_last)
    assert c.contiguous(memory_format=ember.channels_last) is c
    assert c.to(memory_format=ember.channels_last) is c
    assert c.to(memory_format=ember.preserve_format) is c
    assert c.to(ember.float32, memory_format=ember.channels_last) is c
    assert c.clone(memory_format=ember.channels_last) is not c


def test_bad_format_type_errors():
    e = ember.zeros(2, 3, 4, 5)
    for fn, call in [
        ("contiguous", lambda: e.contiguous(memory_format=3)),
        ("clone", lambda: e.clone(memory_format=3)),
        ("is_contiguous", lambda: e.is_contiguous(memory_format=3)),
        ("empty_like", lambda: ember.empty_like(e, memory_format=3)),
        ("zeros_like", lambda: ember.zeros_like(e, memory_format=3)),
    ]:
        with pytest.raises(TypeError, match=rf"{fn}\(\): argument 'memory_format' must be"):
            call()
    with pytest.raises(TypeError, match="to\\(\\) received an invalid combination"):
        e.to(memory_format=3)


def test_format_objects_repr_and_pickle():
    for name in FORMATS:
        fmt = getattr(ember, name)
        assert isinstance(fmt, ember.memory_format)
        assert (
            repr(fmt)
            == str(fmt)
            == f"ember.{name}"
            == repr(getattr(torch, name)).replace("torch.", "ember.")
        )
        assert pickle.loads(pickle.dumps(fmt)) is fmt


@pytest.mark.parametrize("method", ["contiguous", "to", "clone"])
@pytest.mark.parametrize("fmt", ["channels_last", "contiguous_format"])
def test_gradients_flow_through_layout_changes(method, fmt):
    base = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    w = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(base, requires_grad=True)
        src = x.transpose(2, 3).transpose(2, 3) if fmt == "contiguous_format" else x
        src = src.contiguous(memory_format=lib.channels_last) if fmt == "contiguous_format" else src
        y = getattr(src * 2, method)(memory_format=getattr(lib, fmt))
        (y * lib.tensor(w)).sum().backward()
        grads.append((y.stride(), x.grad.numpy()))
    assert grads[0][0] == grads[1][0]
    np.testing.assert_allclose(grads[0][1], grads[1][1])


def test_gradcheck_through_channels_last_copy():
    x = ember.randn(2, 3, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a: (a.contiguous(memory_format=ember.channels_last) * a).sum(), (x,)
    )
    assert ember.autograd.gradgradcheck(
        lambda a: a.to(memory_format=ember.channels_last) ** 2, (x,)
    )


def test_module_to_channels_last_matches_torch():
    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(
            lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.Flatten(), lib.nn.Linear(16, 2)
        )

    em, tm = build(ember), build(torch)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    w_before = em[0].weight
    assert em.to(memory_format=ember.channels_last) is em
    tm.to(memory_format=torch.channels_last)
    assert em[0].weight is w_before
    for (k, e), t in zip(em.state_dict().items(), tm.state_dict().values()):
        assert e.stride() == t.stride(), k
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    em.to(ember.float64, memory_format=ember.channels_last)
    tm.to(torch.float64, memory_format=torch.channels_last)
    assert em[0].weight.stride() == tm[0].weight.stride()
    assert em[0].weight.dtype == ember.float64 and em[1].num_batches_tracked.dtype == ember.int64
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4))
    out_e = em(ember.tensor(x).to(memory_format=ember.channels_last))
    out_t = tm(torch.tensor(x).to(memory_format=torch.channels_last))
    np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), rtol=1e-6, atol=1e-8)


def test_preserve_format_on_random_layouts_matches_torch():
    """Permuted, sliced and expanded views of 1-D to 5-D tensors: clone, empty_like and to(dtype)
    keep (or densify) the layout exactly as torch does, size-1 and zero strides included."""
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(300):
        nd = int(rng.integers(1, 6))
        shape = tuple(int(v) for v in rng.integers(1, 4, nd))
        base = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        perm = rng.permutation(nd).tolist()
        e, t = ember.tensor(base).permute(*perm), torch.tensor(base).permute(*perm)
        if rng.random() < 0.5:
            sl = [slice(None)] * nd
            sl[int(rng.integers(0, nd))] = slice(None, None, 2)
            e, t = e[tuple(sl)], t[tuple(sl)]
        d = int(rng.integers(0, nd))
        if rng.random() < 0.3 and t.shape[d] == 1:
            size = list(t.shape)
            size[d] = 3
            e, t = e.expand(*size), t.expand(*size)
        if e.stride() != t.stride():
            continue  # an expanded size-1 dimension: NumPy's broadcast strides differ already
        checked += 1
        _same(e.clone(), t.clone())
        _same(e.to(ember.float64), t.to(torch.float64))
        assert ember.empty_like(e).stride() == torch.empty_like(t).stride()
    assert checked > 250


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5), (2, 3, 2, 4, 3)])
def test_empty_with_memory_format_matches_torch(shape, fmt):
    e, t = ember.zeros(shape), torch.zeros(shape)  # only the shape is read
    _check(lambda x, f, lib: lib.empty(*x.shape, memory_format=f), e, t, fmt, values=False)
    with pytest.raises(TypeError, match=r"empty\(\): argument 'memory_format' must be"):
        ember.empty(shape, memory_format=3)


@pytest.mark.parametrize("fmt", ["preserve_format", "contiguous_format", "channels_last"])
@pytest.mark.parametrize("start", ["contiguous_format", "channels_last"])
def test_cpu_takes_memory_format_as_torch(fmt, start):
    got = []
    for lib in (torch, ember):
        x = lib.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=getattr(lib, start))
        y = x.cpu(memory_format=getattr(lib, fmt))
        got.append((y is x, tuple(y.stride()), y.tolist()))
    assert got[0] == got[1]
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        ember.arange(3.0).cpu(memory_format=ember.channels_last)
