"""``default_collate`` (a list of samples -> one batch) and ``default_convert`` (NumPy -> tensors),
with PyTorch's rules for each element type."""

from __future__ import annotations

import collections.abc as abc
import re
from typing import Any

import numpy as np

from ..._tensor import Tensor, _wrap

__all__ = ["default_collate", "default_convert"]

_NP_STR_OBJ = re.compile(r"[SaUO]")

_COLLATE_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)
_CONVERT_ERR = "default_convert: numpy arrays of strings or objects are not supported; found {}"


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _rebuild(elem: Any, values: Any) -> Any:
    """``type(elem)(values)`` when that type can be built so, else the plain dict / list."""
    try:
        return type(elem)(values)
    except TypeError:
        return dict(values) if isinstance(values, dict) else list(values)


def _stack(batch: list | tuple) -> Tensor:
    shapes = {t._data.shape for t in batch}
    if len(shapes) > 1:
        first = batch[0]._data.shape
        j = next(i for i, t in enumerate(batch) if t._data.shape != first)
        raise RuntimeError(
            f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
            f"{list(batch[j]._data.shape)} at entry {j}"
        )
    if any(t._rg for t in batch):
        from ...ops.join import stack  # keep the graph when samples require grad

        return stack(batch, 0)
    return _wrap(np.stack([t._data for t in batch]))


def default_collate(batch: list | tuple) -> Any:
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension; Python floats become a
    float64 tensor, ints an int64 tensor, bools a bool tensor; strings stay a list; dicts,
    namedtuples, tuples and lists are collated field by field (a tuple gives a list).

    >>> import ember
    >>> from ember.utils.data import default_collate
    >>> default_collate([(ember.tensor([1.0]), 0), (ember.tensor([2.0]), 1)])
    [tensor([[1.],
            [2.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray) or isinstance(elem, np.generic):
        if isinstance(elem, (np.str_, np.bytes_)):
            return batch
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        if isinstance(elem, np.generic) or elem.shape == ():
            return _wrap(np.array(batch))
        return default_collate([_wrap(np.asarray(b)) for b in batch])
    if isinstance(elem, bool):
        return _wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        return _rebuild(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        return _rebuild(elem, transposed)
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars inside ``data`` into tensors, leaving the rest as is (the
    ``collate_fn`` of a DataLoader with ``batch_size=None``).

    >>> import numpy as np
    >>> from ember.utils.data import default_convert
    >>> default_convert({"x": np.zeros(2, np.float32), "name": "a"})
    {'x': tensor([0., 0.]), 'name': 'a'}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return _wrap(np.asarray(data))  # shares memory, as torch.as_tensor
    if isinstance(data, abc.Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
