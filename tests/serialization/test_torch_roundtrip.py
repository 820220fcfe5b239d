"""Live two-way tests against real torch: ember writes, torch reads; torch writes, ember reads."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember.serialization import _zip
from ember.serialization._zip import ZipReader, ZipWriter

DTYPES = [
    (ember.float64, torch.float64), (ember.float32, torch.float32),
    (ember.float16, torch.float16), (ember.int64, torch.int64), (ember.int32, torch.int32),
    (ember.int16, torch.int16), (ember.int8, torch.int8), (ember.uint8, torch.uint8),
    (ember.bool, torch.bool), (ember.complex64, torch.complex64),
    (ember.complex128, torch.complex128),
]  # fmt: skip


def _e(arr) -> ember.Tensor:
    return ember.from_numpy(np.asarray(arr))


def _sample(np_dtype, shape) -> np.ndarray:
    n = int(np.prod(shape)) if shape else 1
    x = np.arange(n, dtype=np.float64) * 0.5 - 1
    if np_dtype == np.bool_:
        x = np.arange(n) % 2 == 0
    elif np.issubdtype(np_dtype, np.complexfloating):
        x = x + 1j * x[::-1]
    return x.astype(np_dtype).reshape(shape)


def _ember_to_torch(obj, tmp_path, **load_kw):
    path = tmp_path / "e.pth"
    ember.save(obj, path)
    return torch.load(path, weights_only=True, **load_kw)


def _torch_to_ember(obj, tmp_path, **load_kw):
    path = tmp_path / "t.pth"
    torch.save(obj, path)
    return ember.load(path, **load_kw)


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("shape", [(2, 3), (), (0,), (3, 0, 2)])
def test_every_dtype_ember_to_torch(tmp_path, shape, mmap):
    sd = OrderedDict()
    for ed, _ in DTYPES:
        sd[ed.name] = _e(_sample(ed.np, shape))
    back = _ember_to_torch(sd, tmp_path, mmap=mmap)
    assert list(back) == list(sd)
    for (ed, td), t in zip(DTYPES, back.values()):
        assert t.dtype is td and tuple(t.shape) == shape
        np.testing.assert_array_equal(t.numpy(), sd[ed.name]._data)


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("shape", [(2, 3), (), (0, 4)])
def test_every_dtype_torch_to_ember(tmp_path, shape, mmap):
    sd = OrderedDict()
    for ed, td in DTYPES + [(ember.float32, torch.bfloat16)]:
        sd[str(td)] = torch.from_numpy(_sample(ed.np, shape)).to(td)
    back = _torch_to_ember(sd, tmp_path, mmap=mmap)
    for k, t in sd.items():
        e = back[k]
        assert tuple(e.shape) == shape
        assert e.dtype.name == str(t.dtype).split(".")[1]
        if t.dtype is torch.bfloat16:  # bit-exact: compare the 16-bit words
            np.testing.assert_array_equal(e._data.view(np.int16), t.view(torch.int16).numpy())
        else:
            np.testing.assert_array_equal(e._data, t.numpy())


def test_views_ties_and_strides_both_ways(tmp_path):
    base = np.arange(20, dtype=np.float32).reshape(4, 5)
    e_base = _e(base)
    e_view = e_base[1:3, 2:]
    e_t = e_base.t()
    obj = OrderedDict(base=e_base, view=e_view, t=e_t, again=e_base, step=e_base[::2, ::3])
    back = _ember_to_torch(obj, tmp_path)
    assert back["again"] is back["base"]
    assert back["view"].storage_offset() == 7 and back["view"].stride() == (5, 1)
    assert back["t"].stride() == (1, 5)
    assert back["step"].stride() == (10, 3)
    ptr = back["base"].untyped_storage().data_ptr()
    assert all(back[k].untyped_storage().data_ptr() == ptr for k in obj)
    for k in obj:
        np.testing.assert_array_equal(back[k].numpy(), obj[k]._data)
    with zipfile.ZipFile(tmp_path / "e.pth") as z:
        assert [n for n in z.namelist() if "/data/" in n] == ["e/data/0"]

    t_base = torch.arange(20.0).reshape(4, 5)
    tobj = OrderedDict(base=t_base, view=t_base[1:3, 2:], t=t_base.t(), again=t_base)
    eb = _torch_to_ember(tobj, tmp_path)
    assert eb["again"] is eb["base"]
    assert eb["view"].storage_offset() == 7 and eb["view"].stride() == (5, 1)
    assert eb["t"].stride() == (1, 5)
    assert np.shares_memory(eb["view"]._data, eb["base"]._data)


def test_views_of_other_dtypes_and_copies(tmp_path):
    c = _e(np.array([1 + 2j, 3 - 4j], np.complex64))
    obj = {
        "real": ember.from_numpy(c._data.real),  # strided float32 view into complex memory
        "neg_stride": ember.from_numpy(np.arange(5.0)[::-1]),  # copied: torch has no negative
        "fortran": ember.from_numpy(np.asfortranarray(np.arange(6.0).reshape(2, 3))),
        "big_endian": ember.from_numpy(np.arange(3, dtype=">i4").astype(">i4")),
    }
    back = _ember_to_torch(obj, tmp_path)
    np.testing.assert_array_equal(back["real"].numpy(), [1, 3])
    np.testing.assert_array_equal(back["neg_stride"].numpy(), [4, 3, 2, 1, 0])
    np.testing.assert_array_equal(back["fortran"].numpy(), np.arange(6.0).reshape(2, 3))
    assert back["fortran"].stride() == (1, 2)
    np.testing.assert_array_equal(back["big_endian"].numpy(), [0, 1, 2])


def test_parameters_nested_containers_and_values(tmp_path):
    from ember.nn import Parameter

    p = Parameter(_e(np.ones((2, 2), np.float32)))
    frozen = Parameter(_e(np.zeros(3, np.float32)), requires_grad=False)
    g = _e(np.ones(2, np.float32)).requires_grad_()
    obj = {
        "p": p, "frozen": frozen, "g": g,
        "nested": [1, 2.5, "s", None, True, (p, [g, {"deep": (1, (2, (3,)))}])],
        "bytes": b"\x00\xffab", "complex": 1 + 2j, "set": {1, 2},
        "big": 2**80, "neg": -(2**40), "size": ember.Size([2, 3]), "dtype": ember.float16,
        "empty": {}, "empty_list": [], "tuple": (),
    }  # fmt: skip
    back = _ember_to_torch(obj, tmp_path)
    assert isinstance(back["p"], torch.nn.Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], torch.nn.Parameter) and not back["frozen"].requires_grad
    assert back["g"].requires_grad and not isinstance(back["g"], torch.nn.Parameter)
    assert back["nested"][5][0] is back["p"]
    assert back["nested"][:5] == [1, 2.5, "s", None, True]
    assert back["nested"][5][1][1] == {"deep": (1, (2, (3,)))}
    for k in ("bytes", "complex", "set", "big", "neg", "empty", "empty_list", "tuple"):
        assert back[k] == obj[k], k
    assert back["size"] == torch.Size([2, 3]) and back["dtype"] is torch.float16

    tobj = {
        "p": torch.nn.Parameter(torch.ones(2)), "d": torch.float64, "s": torch.Size([1]),
        "misc": [b"ab", 1 + 1j, {3}, 2**70, (1.5, "x")], "dev": torch.device("cpu"),
    }  # fmt: skip
    e = _torch_to_ember(tobj, tmp_path)
    assert type(e["p"]).__name__ == "Parameter" and e["p"].requires_grad
    assert e["d"] is ember.float64 and e["s"] == (1,)
    assert e["misc"] == [b"ab", 1 + 1j, {3}, 2**70, (1.5, "x")]
    assert e["dev"] == ember.device("cpu")


def test_state_dict_metadata_both_ways(tmp_path):
    sd = OrderedDict(w=_e(np.ones(2, np.float32)))
    sd._metadata = OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
    back = _ember_to_torch(sd, tmp_path)
    assert back._metadata == sd._metadata
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    e = _torch_to_ember(m.state_dict(), tmp_path)
    assert e._metadata == m.state_dict()._metadata
    assert list(e) == list(m.state_dict())


def test_optimizer_state_dict_both_ways(tmp_path):
    w = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.AdamW([w], lr=0.01)
    w.sum().backward()
    opt.step()
    sd = opt.state_dict()
    e = _torch_to_ember(sd, tmp_path)
    assert e["param_groups"][0]["params"] == [0]
    np.testing.assert_array_equal(e["state"][0]["exp_avg"]._data, sd["state"][0]["exp_avg"])
    back = _ember_to_torch(e, tmp_path)
    assert back["param_groups"] == sd["param_groups"]
    torch.testing.assert_close(back["state"][0]["exp_avg_sq"], sd["state"][0]["exp_avg_sq"])
    opt2 = torch.optim.AdamW([torch.nn.Parameter(torch.randn(3, 2))], lr=0.01)
    opt2.load_state_dict(back)


def test_ember_file_is_torch_layout(tmp_path):
    """The zip container is byte for byte what torch writes for the same members."""
    sd = OrderedDict(a=_e(np.arange(3, dtype=np.float32)), b=_e(np.zeros(0, np.int64)))
    ember.save(sd, tmp_path / "net.pth")
    raw = (tmp_path / "net.pth").read_bytes()
    r = ZipReader(io.BytesIO(raw))
    assert r.names() == [
        "net/data.pkl", "net/.format_version", "net/.storage_alignment", "net/byteorder",
        "net/data/0", "net/data/1", "net/version", "net/.data/serialization_id",
    ]  # fmt: skip
    assert all(e.data_offset % 64 == 0 for e in r.entries.values())
    assert r.read("net/version") == b"3\n"
    assert len(r.read("net/.data/serialization_id")) == 40
    # Rewriting torch's own file member by member gives torch's bytes exactly.
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2).state_dict(), buf)
    tr = ZipReader(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    w = ZipWriter(out)
    for n in tr.names():
        w.write(n, tr.read(n))
    w.finish()
    assert out.getvalue() == buf.getvalue()
    # The pickle uses only torch's weights_only opcodes and loads with mmap's offset maths.
    torch.utils.serialization.config.load.calculate_storage_offsets = True
    try:
        back = torch.load(tmp_path / "net.pth", weights_only=True, mmap=True)
    finally:
        torch.utils.serialization.config.load.calculate_storage_offsets = False
    np.testing.assert_array_equal(back["a"].numpy(), [0, 1, 2])


def test_file_names_and_objects(tmp_path):
    ember.save(_e(np.ones(1, np.float32)), tmp_path / "a.b.c.pt")
    with zipfile.ZipFile(tmp_path / "a.b.c.pt") as z:
        assert z.namelist()[0] == "a.b.c/data.pkl"
    buf = io.BytesIO()
    ember.save({"x": _e(np.ones(1, np.float32))}, buf)
    assert zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()[0] == "archive/data.pkl"
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["x"].item() == 1.0
    ember.save({"x": 1}, tmp_path / "ünï.pt")
    with zipfile.ZipFile(tmp_path / "ünï.pt") as z:
        assert z.namelist()[0] == "archive/data.pkl"


def test_legacy_writer_loads_in_torch(tmp_path):
    base = _e(np.arange(6, dtype=np.float32))
    obj = OrderedDict(a=base, v=base[2:], i=_e(np.array([1, 2], np.int64)))
    ember.save(obj, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    back = torch.load(tmp_path / "old.pt", weights_only=True)
    np.testing.assert_array_equal(back["v"].numpy(), [2, 3, 4, 5])
    assert back["v"].untyped_storage().data_ptr() == back["a"].untyped_storage().data_ptr()
    again = ember.load(tmp_path / "old.pt")
    np.testing.assert_array_equal(again["i"]._data, [1, 2])


def test_crc_off_and_disabled_byteorder(tmp_path):
    torch.serialization.set_crc32_options(False)
    try:
        torch.save({"x": torch.arange(4)}, tmp_path / "nocrc.pt")
    finally:
        torch.serialization.set_crc32_options(True)
    with pytest.raises(zipfile.BadZipFile):  # why ember reads by offsets, not with zipfile
        zipfile.ZipFile(tmp_path / "nocrc.pt").read("nocrc/data/0")
    np.testing.assert_array_equal(ember.load(tmp_path / "nocrc.pt")["x"]._data, [0, 1, 2, 3])
    ember.save({"x": _e(np.ones(2))}, tmp_path / "nob.pt", _disable_byteorder_record=True)
    assert "nob/byteorder" not in zipfile.ZipFile(tmp_path / "nob.pt").namelist()
    assert torch.load(tmp_path / "nob.pt", weights_only=True)["x"].sum() == 2


def test_zip64_records(tmp_path, monkeypatch):
    """The ZIP64 extra fields (used past 4 GB) are valid: forced on with a tiny limit."""
    monkeypatch.setattr(_zip, "_ZIP64_LIMIT", 100)
    sd = OrderedDict((f"t{i}", _e(np.full(40, i, np.float32))) for i in range(3))
    ember.save(sd, tmp_path / "z64.pth")
    with zipfile.ZipFile(tmp_path / "z64.pth") as z:
        assert z.testzip() is None
    back = torch.load(tmp_path / "z64.pth", weights_only=True)
    assert [float(v[0]) for v in back.values()] == [0.0, 1.0, 2.0]
    again = ember.load(tmp_path / "z64.pth")
    assert [float(v._data[0]) for v in again.values()] == [0.0, 1.0, 2.0]


def test_save_errors_leave_no_file(tmp_path):
    with pytest.raises(pickle.PicklingError):  # what torch.save's pickler refuses too
        ember.save({"a": lambda: 0}, tmp_path / "x.pt")
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        ember.save(loop, tmp_path / "x.pt")
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        ember.save(deep, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
    with pytest.raises(AttributeError, match="write"):
        ember.save({}, 42)


def test_lenet_state_dict_gives_torch_outputs(tmp_path):
    nn = ember.nn
    torch.manual_seed(0)

    def make(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(1, 6, 5, padding=2), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Conv2d(6, 16, 5), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
            lib.nn.Linear(400, 120), lib.nn.ReLU(), lib.nn.Linear(120, 84), lib.nn.ReLU(),
            lib.nn.Linear(84, 10),
        )  # fmt: skip

    tnet = make(torch)
    torch.save(tnet.state_dict(), tmp_path / "lenet.pth")
    enet = make(ember)
    assert isinstance(enet, nn.Module)
    enet.load_state_dict(ember.load(tmp_path / "lenet.pth"))
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        want = tnet(torch.from_numpy(x)).numpy()
    got = enet(ember.from_numpy(x))
    np.testing.assert_allclose(got.detach()._data, want, rtol=1e-4, atol=1e-5)
    # And back: ember's state_dict loads into torch's model.
    ember.save(enet.state_dict(), tmp_path / "back.pth")
    tnet2 = make(torch)
    tnet2.load_state_dict(torch.load(tmp_path / "back.pth", weights_only=True))
    with torch.no_grad():
        np.testing.assert_allclose(tnet2(torch.from_numpy(x)).numpy(), want, rtol=1e-6)
