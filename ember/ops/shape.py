"""Shape and indexing primitives: views, joins and splits, gather/scatter, ``__getitem__``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Size, Tensor, _wrap
from ._util import Primitive, dims_of, wrap_dim


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    return tuple(int(s) if not isinstance(s, Tensor) else int(s.item()) for s in shape)


def _infer_shape(shape: tuple, numel: int) -> tuple:
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Primitive):
    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class ReshapeCopy(Reshape):
    view = False


def view(input: Tensor, *shape: Any) -> Tensor:
    """The same data with a new shape; raises when the strides do not allow a view."""
    if len(shape) == 1 and isinstance(shape[0], D.dtype):
        return _wrap(input._data.view(shape[0].np))
    shape = _infer_shape(_shape_arg(shape), input._data.size)
    try:
        np.reshape(input._data, shape, copy=False)
    except ValueError:
        if _hidden_channels_last(input._data):
            # Convolution and pooling results are NCHW views of channels-last memory (for speed);
            # to the user they are contiguous, as in PyTorch, so view them through a copy.
            return ReshapeCopy.apply(input, shape)
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return Reshape.apply(input, shape)


def _hidden_channels_last(a: np.ndarray) -> bool:
    """True for an ``(N, C, *S)`` array stored densely as ``(N, *S, C)`` (see ember.ops.conv)."""
    if a.ndim < 3:
        return False
    order = (0, *range(2, a.ndim), 1)
    expected = a.itemsize
    for ax in reversed(order):
        if a.shape[ax] != 1 and a.strides[ax] != expected:
            return False
        expected *= a.shape[ax]
    return True


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """A tensor with the same data in a new shape (a view when possible, else a copy)."""
    shape = _infer_shape(_shape_arg(shape), input._data.size)
    if shape == input._data.shape:
        return Reshape.apply(input, shape)
    a = input._data
    if a.flags.c_contiguous:
        return Reshape.apply(input, shape)
    try:
        np.reshape(a, shape, copy=False)
        return Reshape.apply(input, shape)
    except ValueError:
        return ReshapeCopy.apply(input, shape)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    nd = input.ndim
    if nd == 0:
        return reshape(input, (1,))
    s = wrap_dim(start_dim, nd)
    e = wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shp = input._data.shape
    n = 1
    for k in shp[s : e + 1]:
        n *= k
    return reshape(input, shp[:s] + (n,) + shp[e + 1 :])


def unflatten(input: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1)."""
    d = wrap_dim(dim, input.ndim)
    shp = input._data.shape
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = _infer_shape(sizes, shp[d])
    except RuntimeError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({shp[d]}) in the input tensor"
        ) from None
    return reshape(input, shp[:d] + sizes + shp[d + 1 :])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dims (all, or those in ``dim``)."""
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        axes = dims_of(dim, input.ndim) if input.ndim else ()
        new = tuple(s for i, s in enumerate(shp) if not (i in axes and s == 1))
    return Reshape.apply(input, new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    nd = input._data.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    d = dim + nd if dim < 0 else dim
    shp = input._data.shape
    return Reshape.apply(input, shp[:d] + (1,) + shp[d:])


class Permute(Primitive):
    view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(np.argsort(ctx.axes)), None


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions."""
    dims = _shape_arg(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    axes = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input.ndim
    if nd == 0:
        return Permute.apply(input, ())
    a, b = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(input, tuple(axes))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return (
        transpose(input, 0, 1)
        if input.ndim == 2
        else Permute.apply(input, tuple(range(input.ndim)))
    )


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    nd = input.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [wrap_dim(s, nd) for s in src]
    dst = [wrap_dim(d, nd) for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order))


moveaxis = movedim


def adjoint(input: Tensor) -> Tensor:
    return transpose(input, -2, -1)


class Expand(Primitive):
    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        from ._util import unbroadcast

        return unbroadcast(g, ctx.in_shape), None


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """A broadcast view with new sizes (-1 keeps a dimension)."""
    sizes = _shape_arg(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(shp)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shp)})"
        )
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s == -1:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            out.append(s)
        else:
            cur = shp[i - lead]
            if s == -1:
                s = cur
            elif cur != s and cur != 1:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur}) "
                    f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor "
                    f"sizes: {list(shp)}"
                )
            out.append(s)
    return Expand.apply(input, tuple(out))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, size: Any) -> Tensor:
    return expand(input, size)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes: Any) -> Size:
    return Size(np.broadcast_shapes(*shapes))


class Repeat(Primitive):
    @staticmethod
    def forward(ctx, x, reps):
        lead = len(reps) - x.ndim
        xs = x.reshape((1,) * lead + x.shape)
        ctx.meta = (xs.shape, reps, x.shape)
        return np.tile(xs, reps)

    @staticmethod
    def backward(ctx, g):
        xs, reps, shape = ctx.meta
        # View the output as (rep0, size0, rep1, size1, ...) and sum the rep axes.
        inter = []
        for r, s in zip(reps, xs):
            inter += [r, s]
        g = g.reshape(inter).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(shape), None


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes`` times along each dim."""
    reps = _shape_arg(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            "tensor"
        )
    return Repeat.apply(input, reps)


def tile(input: Tensor, dims: Any) -> Tensor:
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


class Cat(Primitive):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.meta = (axis, [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, sizes = ctx.meta
        bounds = np.cumsum(sizes)[:-1]
        return (None, *np.split(g, bounds, axis=axis))


def cat(tensors: Any, dim: int = 0, *, out: Any = None) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(x).__name__}"
            )
    # Legacy rule: 1-D empty tensors are skipped.
    nonempty = [x for x in tensors if not (x.ndim == 1 and x._data.shape[0] == 0)]
    if not nonempty:
        return tensors[0].clone()
    tensors = nonempty
    ref = tensors[0]
    nd = ref.ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis = wrap_dim(dim, nd)
    dt = ref.dtype
    for i, x in enumerate(tensors):
        if x.ndim != nd:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {nd} and {x.ndim}"
            )
        for k in range(nd):
            if k != axis and x._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{ref._data.shape[k]} but got size {x._data.shape[k]} for tensor number {i} "
                    f"in the list."
                )
        if x.dtype is not dt:
            dt = D.promote_types(dt, x.dtype)
    if any(x.dtype is not dt for x in tensors):
        from .elementwise import cast

        tensors = [cast(x, dt) for x in tensors]
    return Cat.apply(axis, *tensors)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0, *, out: Any = None) -> Tensor:
    """Join tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shp)} at entry 0 and "
                f"{list(x._data.shape)} at entry {i}"
            )
    nd = len(shp) + 1
    if not -nd <= dim < nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def hstack(tensors: Any) -> Tensor:
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    return cat([x if x.ndim >= 2 else reshape(x, (1, -1)) for x in tensors], 0)


class Slice(Primitive):
    """Basic indexing (ints, slices, None, Ellipsis): a view."""

    view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (x.shape, x.dtype, key)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        shape, dt, key = ctx.meta
        out = np.zeros(shape, g.dtype)
        out[key] = g
        return out, None


class Index(Primitive):
    """Advanced indexing (integer or bool arrays): a copy."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (x.shape, key)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.meta
        out = np.zeros(shape, g.dtype)
        np.add.at(out, key, g)
        return out, None


def _convert_key(key: Any, shape: tuple) -> tuple:
    """Turn a PyTorch index into a NumPy one; returns (key, is_advanced)."""
    if isinstance(key, list) and _sequence_is_tuple(key):
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, Tensor):
            a = k._data
            if a.dtype.kind == "b":
                advanced = True
            elif a.dtype.kind in "iu":
                advanced = True
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
        elif isinstance(k, (list, np.ndarray)):
            a = np.asarray(k)
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
            advanced = True
        elif isinstance(k, (bool, np.bool_)):
            out.append(bool(k))
            advanced = True
        elif k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)):
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(k).__name__ + ")"
            )
    return tuple(out), advanced


def _sequence_is_tuple(key: list) -> bool:
    # PyTorch's (NumPy's legacy) rule: a short list holding a sequence, tensor, slice, None or
    # Ellipsis indexes like a tuple, so x[[[0, 1], [1, 0]]] is x[[0, 1], [1, 0]].
    if len(key) >= 32:
        return False
    return builtin_any(
        isinstance(k, (list, tuple, slice, Tensor, np.ndarray)) or k is None or k is Ellipsis
        for k in key
    )


builtin_any = any


def _index_error(e: IndexError, shape: tuple) -> IndexError:
    msg = str(e)
    if "out of bounds" in msg:
        import re

        m = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", msg)
        if m:
            return IndexError(
                f"index {m.group(1)} is out of bounds for dimension {m.group(2)} with size "
                f"{m.group(3)}"
            )
    if "boolean index did not match" in msg:
        import re

        m = re.search(
            r"along axis (\d+); size of axis is (\d+) but size of corresponding boolean "
            r"axis is (\d+)",
            msg,
        )
        if m:
            return IndexError(
                f"The shape of the mask (size {m.group(3)}) at index {m.group(1)} does not match "
                f"the shape of the indexed tensor {list(shape)} (size {m.group(2)}) at index "
                f"{m.group(1)}"
            )
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {len(shape)}")
    return IndexError(msg)


def getitem(input: Tensor, key: Any) -> Tensor:
    """``input[key]`` with PyTorch's indexing rules and gradients."""
    k, advanced = _convert_key(key, input._data.shape)
    try:
        if advanced:
            return Index.apply(input, k)
        return Slice.apply(input, k)
    except IndexError as e:
        raise _index_error(e, input._data.shape) from None


class IndexPut(Primitive):
    @staticmethod
    def forward(ctx, x, key, value, accumulate):
        out = x.copy()
        if accumulate:
            np.add.at(out, key, value)
        else:
            out[key] = value
        ctx.meta = (key, np.shape(value), accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        key, vshape, accumulate = ctx.meta
        gx = g
        if not accumulate:
            gx = g.copy()
            gx[key] = 0
        gv = None
        if ctx.needs_input_grad[2]:
            from ._util import unbroadcast

            gv = unbroadcast(g[key], vshape)
        return gx, None, gv, None


def setitem(input: Tensor, key: Any, value: Any) -> None:
    """``input[key] = value`` in place (with autograd through the written values)."""
    from . import inplace

    k, _ = _convert_key(key, input._data.shape)
    if isinstance(value, Tensor):
        v = value
        if v._data.dtype != input._data.dtype:
            from .elementwise import cast

            v = cast(v, input.dtype)
    else:
        v = np.asarray(value, dtype=input._data.dtype) if not isinstance(value, Tensor) else value
    try:
        inplace.apply_inplace(input, IndexPut, k, v, False, direct=_direct_setitem)
    except IndexError as e:
        raise _index_error(e, input._data.shape) from None
    except ValueError as e:
        raise RuntimeError(
            str(e).replace(
                "could not broadcast input array from shape",
                "shape mismatch: value tensor of shape",
            )
        ) from None


def _direct_setitem(data: np.ndarray, key: Any, value: Any, accumulate: bool) -> None:
    value = value._data if isinstance(value, Tensor) else value
    data[key] = value


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    k, _ = _convert_key(tuple(indices), input._data.shape)
    return IndexPut.apply(input, k, values, accumulate)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Split into chunks of a given size, or of the listed sizes, along ``dim``."""
    axis = wrap_dim(dim, tensor.ndim)
    n = tensor._data.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s <= 0 and n > 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    else:
        sizes = [int(x) for x in split_size_or_sections]
        if builtin_sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {axis}), but got split_sizes={sizes}"
            )
    out = []
    start = 0
    for s in sizes:
        out.append(narrow(tensor, axis, start, s))
        start += s
    return tuple(out)


builtin_sum = sum


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input._data.shape[wrap_dim(dim, input.ndim)]
    size = -(-n // chunks) if n else 1
    return split(input, size, dim)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        base, extra = divmod(n, k)
        sizes = [base + 1] * extra + [base] * (k - extra)
    else:
        idx = [0] + list(indices_or_sections) + [n]
        sizes = [max(0, min(b, n) - min(a, n)) for a, b in zip(idx[:-1], idx[1:])]
    return split(input, sizes, axis)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """Remove ``dim``, returning a tuple of slices."""
    axis = wrap_dim(dim, input.ndim)
    key = [slice(None)] * axis
    return tuple(Slice.apply(input, tuple(key + [i])) for i in range(input._data.shape[axis]))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice ``start:start+length`` of dimension ``dim`` (a view)."""
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if isinstance(start, Tensor):
        start = int(start.item())
    if start < 0:
        start += n
    if start < 0 or start + length > n or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    key = (slice(None),) * axis + (slice(start, start + length),)
    return Slice.apply(input, key)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {axis}"
        )
    return Slice.apply(input, (slice(None),) * axis + (index,))


def _check_index_tensor(index: Tensor, name: str) -> np.ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        if index._data.dtype.kind in "iu":
            return index._data.astype(np.int64)
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return index._data


class Gather(Primitive):
    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.meta = (x.shape, axis, idx)
        return np.take_along_axis(x, idx, axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, idx = ctx.meta
        out = np.zeros(shape, g.dtype)
        _scatter_add_np(out, axis, idx, g)
        return out, None, None


def _scatter_add_np(out: np.ndarray, axis: int, idx: np.ndarray, src: np.ndarray) -> None:
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    np.add.at(out, tuple(grids), src)


def _check_gather_shapes(x: Tensor, axis: int, idx: np.ndarray, name: str) -> None:
    if idx.ndim != x.ndim and not (idx.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(idx.ndim):
        if d != axis and idx.shape[d] > x._data.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(idx.shape)} to be "
                f"smaller than self {list(x.shape)} apart from dimension {axis}"
            )
    n = x._data.shape[axis] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Pick values along ``dim`` at ``index`` (same number of dims as ``input``)."""
    idx = _check_index_tensor(index, "gather")
    axis = wrap_dim(dim, input.ndim)
    _check_gather_shapes(input, axis, idx, "gather")
    x = input
    if idx.shape != input._data.shape:
        # take_along_axis needs matching shapes off the gather axis: slice the input down.
        key = tuple(slice(0, s) if d != axis else slice(None) for d, s in enumerate(idx.shape))
        x = Slice.apply(input, key)
    return Gather.apply(x, axis, idx)


class Scatter(Primitive):
    @staticmethod
    def forward(ctx, x, axis, idx, src, add):
        out = x.copy()
        grids = list(np.indices(idx.shape, sparse=True))
        grids[axis] = idx
        key = tuple(grids)
        srcv = (
            src[tuple(slice(0, s) for s in idx.shape)]
            if isinstance(src, np.ndarray) and src.ndim == idx.ndim
            else src
        )
        if add:
            np.add.at(out, key, srcv)
        else:
            out[key] = srcv
        ctx.meta = (key, add, np.shape(src), idx.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        key, add, sshape, ishape = ctx.meta
        gx = g
        if not add:
            gx = g.copy()
            gx[key] = 0
        gs = None
        if len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3]:
            gs = np.zeros(sshape, g.dtype)
            gs[tuple(slice(0, s) for s in ishape)] = g[key]
        return gx, None, None, gs, None


def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """Write ``src`` (a tensor or a number) into a copy of ``input`` at ``index`` along ``dim``."""
    if src is None:
        src = value
    idx = _check_index_tensor(index, "scatter")
    axis = wrap_dim(dim, input.ndim)
    _check_gather_shapes(input, axis, idx, "scatter")
    if reduce == "add":
        return scatter_add(input, dim, index, src)
    if reduce is not None:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if not isinstance(src, Tensor):
        src = np.asarray(src, dtype=input._data.dtype)
    return Scatter.apply(input, axis, idx, src, False)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim``."""
    idx = _check_index_tensor(index, "scatter_add")
    axis = wrap_dim(dim, input.ndim)
    _check_gather_shapes(input, axis, idx, "scatter_add")
    return Scatter.apply(input, axis, idx, src, True)


class IndexSelect(Primitive):
    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.meta = (x.shape, axis, idx)
        return np.take(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, idx = ctx.meta
        out = np.zeros(shape, g.dtype)
        gm = np.moveaxis(g, axis, 0)
        om = np.moveaxis(out, axis, 0)
        np.add.at(om, idx, gm)
        return out, None, None


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Rows (along ``dim``) picked by a 1-D integer ``index``."""
    idx = _check_index_tensor(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    return IndexSelect.apply(input, axis, idx.reshape(-1))


def take(input: Tensor, index: Tensor) -> Tensor:
    return index_select(reshape(input, -1), 0, reshape(index, -1)).reshape(index.shape)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    return gather(input, dim, indices)


class MaskedFill(Primitive):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.meta = (mask, np.shape(value), x.shape)
        return np.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        from ._util import unbroadcast

        mask, vshape, xshape = ctx.meta
        gx = unbroadcast(np.where(mask, 0, g).astype(g.dtype), xshape)
        gv = None
        if ctx.needs_input_grad[2]:
            gv = (
                unbroadcast(np.where(mask, g, 0).astype(g.dtype), vshape)
                if len(vshape)
                else np.asarray(np.where(mask, g, 0).sum(), g.dtype)
            )
        return gx, None, gv


def _check_mask(mask: Tensor, input: Tensor, name: str) -> np.ndarray:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        if mask._data.dtype == np.uint8:
            return mask._data.astype(bool)
        raise RuntimeError(f"{name}: expected BoolTensor for mask")
    try:
        np.broadcast_shapes(mask._data.shape, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({input._data.shape[-1]}) must match the size of tensor b "
            f"({mask._data.shape[-1]}) at non-singleton dimension {input.ndim - 1}"
        ) from None
    return mask._data


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Copy of ``input`` with ``value`` where ``mask`` is True."""
    m = _check_mask(mask, input, "masked_fill")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return MaskedFill.apply(input, m, value)
    return MaskedFill.apply(input, m, value)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """1-D tensor of the elements where ``mask`` is True (broadcast)."""
    m = _check_mask(mask, input, "masked_select")
    shape = np.broadcast_shapes(m.shape, input._data.shape)
    x = input if input._data.shape == shape else expand(input, shape)
    return Index.apply(x, (np.broadcast_to(m, shape),))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    m = np.broadcast_to(_check_mask(mask, input, "masked_scatter"), input._data.shape)
    n = int(m.sum())
    return index_put(input, (_wrap(m),), reshape(source, -1)[:n])


class Flip(Primitive):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return np.flip(g, ctx.axes), None


def flip(input: Tensor, *dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims`` (a sequence, or several ints)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    return Flip.apply(input, dims_of(dims, input.ndim))


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


class Roll(Primitive):
    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.meta = (shifts, axes)
        return np.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        shifts, axes = ctx.meta
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return np.roll(g, neg, axes), None, None


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (flattened when ``dims`` is None)."""
    if dims is None:
        return Roll.apply(input, shifts, None)
    if isinstance(shifts, int):
        shifts = (shifts,)
    if isinstance(dims, int):
        dims = (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    return Roll.apply(input, tuple(shifts), tuple(wrap_dim(d, input.ndim) for d in dims))


class Tri(Primitive):
    @staticmethod
    def forward(ctx, x, k, upper):
        mask = (
            np.triu(np.ones(x.shape[-2:], bool), k)
            if upper
            else np.tril(np.ones(x.shape[-2:], bool), k)
        )
        ctx.mask = mask
        return np.where(mask, x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return np.where(ctx.mask, g, 0).astype(g.dtype, copy=False), None, None


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (others zeroed)."""
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tri.apply(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (others zeroed)."""
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tri.apply(input, diagonal, True)


class ConstantPad(Primitive):
    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        # Negative widths crop.
        crop = tuple(slice(max(-a, 0), x.shape[i] - max(-b, 0)) for i, (a, b) in enumerate(widths))
        x2 = x[crop]
        pos = [(max(a, 0), max(b, 0)) for a, b in widths]
        return np.pad(x2, pos, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        widths = ctx.widths
        key = tuple(slice(max(a, 0), g.shape[i] - max(b, 0)) for i, (a, b) in enumerate(widths))
        gi = g[key]
        neg = [(max(-a, 0), max(-b, 0)) for a, b in widths]
        if any(a or b for a, b in neg):
            gi = np.pad(gi, neg)
        return gi, None, None


def constant_pad(input: Tensor, pad: Any, value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad)//2`` dims: ``pad = (left, right, top, bottom, ...)``."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return ConstantPad.apply(input, tuple(widths), value)


class Clone(Primitive):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` that stays in the graph."""
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input`` itself if C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in nz)
    return _wrap(np.stack(nz, axis=1).astype(np.int64) if nz else np.zeros((0, 0), np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    a = input._data
    if a.ndim == 1:
        return _wrap(np.diag(a, diagonal))
    if a.ndim == 2:
        return _wrap(np.diag(a, diagonal).copy())
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + str(a.ndim) + "D")


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return _wrap(np.diagonal(input._data, offset, dim1, dim2).copy())


def trace(input: Tensor) -> Tensor:
    from .reduction import sum as _sum

    n = min(input.shape)
    idx = _wrap(np.arange(n))
    return _sum(getitem(input, (idx, idx)))


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    res = np.unique(
        input._data, return_inverse=return_inverse, return_counts=return_counts, axis=dim
    )
    if isinstance(res, tuple):
        out = [_wrap(res[0])]
        for r in res[1:]:
            out.append(
                _wrap(
                    r.reshape(input._data.shape)
                    if r.size == input._data.size and return_inverse and r is res[1]
                    else r.astype(np.int64)
                )
            )
        return tuple(out)
    return _wrap(res)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    n = len(tensors)
    outs = []
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    for i, t in enumerate(tensors):
        s = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        s[pos] = -1
        outs.append(expand(reshape(t, s), shape))
    return tuple(outs)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def bucketize(
    input: Tensor, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    side = "right" if right else "left"
    r = np.searchsorted(boundaries._data, input._data, side=side)
    return _wrap(r.astype(np.int32 if out_int32 else np.int64))


def searchsorted(
    sorted_sequence: Tensor,
    values: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
) -> Tensor:
    side = side or ("right" if right else "left")
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    r = np.searchsorted(sorted_sequence._data, v, side=side)
    return _wrap(np.asarray(r).astype(np.int32 if out_int32 else np.int64))


def expand_copy(input: Tensor, *sizes: Any) -> Tensor:
    return clone(expand(input, *sizes))


def repeat_interleave(
    input: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when ``dim`` is None)."""
    if repeats is None:
        r = input._data
        return _wrap(np.repeat(np.arange(r.size), r).astype(np.int64))
    x = reshape(input, -1) if dim is None else input
    axis = 0 if dim is None else wrap_dim(dim, input.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    idx = np.repeat(np.arange(x._data.shape[axis]), np.broadcast_to(reps, (x._data.shape[axis],)))
    return index_select(x, axis, _wrap(idx.astype(np.int64)))
