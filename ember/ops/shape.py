"""Views and copies that rearrange one tensor: view/reshape, squeeze, permute/transpose,
expand, repeat, flip/roll, tril/triu, constant padding, clone."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .. import _memory_format as MF
from .._tensor import Size, Tensor, _size_args, _wrap
from ._util import Primitive, broadcast_error, dims_of, type_name, wrap_dim


def _shape_arg(shape: tuple) -> tuple:
    return tuple(int(s) if not isinstance(s, Tensor) else int(s.item()) for s in _size_args(shape))


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
    twice_differentiable = True
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
        return _view_dtype(input, shape[0])
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


def _view_dtype(input: Tensor, dtype: D.dtype) -> Tensor:
    """The same bytes read as ``dtype``, with PyTorch's checks when the element size changes."""
    a = input._data
    new, old = dtype.np.itemsize, a.itemsize
    if new != old:
        what = f"to view {type_name(a.dtype)} as {type_name(dtype)} (different element sizes)"
        if a.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if a.shape[-1] != 1 and a.strides[-1] != old:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {a.strides[-1] // old}")
        ratio = max(new, old) // min(new, old)
        if new > old and a.shape[-1] % ratio:
            raise RuntimeError(
                f"self.size(-1) must be divisible by {ratio} {what}, but got {a.shape[-1]}"
            )
        for d in range(a.ndim - 1):
            if new > old and (a.strides[d] // old) % ratio:
                raise RuntimeError(
                    f"self.stride({d}) must be divisible by {ratio} {what}, but got "
                    f"{a.strides[d] // old}"
                )
    t = _wrap(a.view(dtype.np))
    t._vc = input._vc  # a view: writes through either are the same change
    return t


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
        axes = dims_of(dim, input.ndim)  # a 0-d tensor takes dim 0 or -1 only
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
    twice_differentiable = True
    view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(np.argsort(ctx.axes)), None


# The axes that reverse a tensor's dimensions (``x.T``), for the common ranks.
REVERSED_AXES = tuple(tuple(range(n))[::-1] for n in range(8))


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
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
    return Permute.apply(input, (1, 0) if input.ndim == 2 else tuple(range(input.ndim)))


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
    twice_differentiable = True
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
    """The tensors expanded to one broadcast shape (views); PyTorch's RuntimeError if the
    shapes do not broadcast."""
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {k} in argument 0, but got {type(t).__name__}"
            )
    error = broadcast_error(*tensors)
    if error is not None:
        raise error
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape the given shapes broadcast to (PyTorch's RuntimeError if they do not)."""
    shapes = tuple((s,) if isinstance(s, int) else tuple(s) for s in shapes)
    out: tuple = ()
    for k, s in enumerate(shapes):
        n = max(len(out), len(s))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(s)) + s
        for d in range(n - 1, -1, -1):
            if a[d] != b[d] and a[d] != 1 and b[d] != 1:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {b[d]} at {d - n}! "
                    f"Mismatching argument at index {k} had {tuple(s)}; but expected shape "
                    f"should be broadcastable to {list(out)}"
                )
        out = tuple(y if x == 1 else x for x, y in zip(a, b))
    return Size(out)


class Repeat(Primitive):
    twice_differentiable = True

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


class Flip(Primitive):
    twice_differentiable = True

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
    twice_differentiable = True

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
    if input._data.size == 0:  # PyTorch returns an empty tensor as it is, dims unchecked
        return clone(input)
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
    twice_differentiable = True

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


def _tri(input: Tensor, diagonal: int, upper: bool, name: str) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return Tri.apply(input, diagonal, upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (others zeroed)."""
    return _tri(input, diagonal, False, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (others zeroed)."""
    return _tri(input, diagonal, True, "triu")


class ConstantPad(Primitive):
    twice_differentiable = True

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
        d = input.ndim - 1 - i
        # PyTorch crops the left side, then the right, each by a narrow() of the input.
        kept = input.shape[d] + min(pad[2 * i], 0)
        if kept < 0 or kept + min(pad[2 * i + 1], 0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        widths[d] = (pad[2 * i], pad[2 * i + 1])
    return ConstantPad.apply(input, tuple(widths), value)


class Clone(Primitive):
    """A copy laid out with the given element strides (``None``: a C-contiguous one)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, strides=None):
        return x.copy() if strides is None else MF.copy_as(x, strides)

    @staticmethod
    def backward(ctx, g):
        return g, None


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` that stays in the graph, laid out in ``memory_format`` (by default
    ``preserve_format``: a dense input's own layout)."""
    if memory_format is None and MF.has_c_strides(input._data):
        return Clone.apply(input)  # the common case, without the stride rules' cost
    fmt = MF.preserve_format if memory_format is None else memory_format
    MF.check_rank(MF.check_format(fmt, "clone"), input.ndim)
    return Clone.apply(input, MF.target_strides(input._data, fmt))


def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input`` itself if laid out in ``memory_format`` (C-contiguous by default), else a copy
    in that layout."""
    if memory_format is None:
        if input._data.flags.c_contiguous:
            return input
        return Clone.apply(input)
    fmt = MF.check_format(memory_format, "contiguous")
    if MF.is_contiguous_as(input._data, fmt):
        return input
    if fmt is MF.preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    MF.check_rank(fmt, input.ndim)
    return Clone.apply(input, MF.format_strides(input.shape, fmt))


def expand_copy(input: Tensor, *sizes: Any) -> Tensor:
    return clone(expand(input, *sizes))
