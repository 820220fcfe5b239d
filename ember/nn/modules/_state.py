"""The ``state_dict`` half of ``nn.Module``: saving, loading and their hooks.

Loading is atomic: the whole tree is validated first (every module's ``_load_from_state_dict``
runs, but the copies it decides on are queued), and only when nothing is wrong are the values
copied in place under ``no_grad``, so Parameter objects keep their identity. When loading raises,
the module is unchanged.
"""

from __future__ import annotations

import contextvars
import difflib
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter
from ._hooks import RemovableHandle

__all__ = ["StateDictMixin", "_IncompatibleKeys"]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


class _Pending:
    """Changes decided while validating a load, applied only once the whole load is valid."""

    def __init__(self) -> None:
        self.copies: list[tuple[Tensor, Tensor]] = []
        self.assigns: list[tuple[Any, str, Any]] = []
        self.extra: list[tuple[Any, Any]] = []

    def __len__(self) -> int:
        return len(self.copies) + len(self.assigns) + len(self.extra)

    def commit(self, backup: bool = False) -> Callable[[], None]:
        """Apply every change; returns a function that undoes the copies and assignments."""
        saved = [t._data.copy() for t, _ in self.copies] if backup else []
        old = [(m, n, getattr(m, n)) for m, n, _ in self.assigns] if backup else []
        with no_grad():
            for t, src in self.copies:
                np.copyto(t._data, src._data, casting="unsafe")
                t._vc[0] += 1
            for m, name, value in self.assigns:
                setattr(m, name, value)
        for m, state in self.extra:
            m.set_extra_state(state)

        def undo() -> None:
            for (t, _), arr in zip(self.copies, saved):
                np.copyto(t._data, arr)
                t._vc[0] += 1
            for m, name, value in old:
                setattr(m, name, value)

        return undo


# The load in progress (a stack, in case a hook loads another module): _load_from_state_dict
# queues its changes there instead of applying them. Context-local (a tuple in a ContextVar), so
# loads running in other threads or asyncio tasks never see each other's stack.
_PENDING: contextvars.ContextVar[tuple] = contextvars.ContextVar("ember_pending_load", default=())


class StateDictMixin:
    """Mixed into ``Module``: ``state_dict``, ``load_state_dict`` and their hooks."""

    _parameters: dict
    _buffers: dict
    _modules: dict
    _non_persistent_buffers_set: set
    _version: int
    _state_dict_hooks: Any
    _state_dict_pre_hooks: Any
    _load_state_dict_pre_hooks: Any
    _load_state_dict_post_hooks: Any

    # ---- extra state -------------------------------------------------------------------------
    def get_extra_state(self) -> Any:
        """Override (with :meth:`set_extra_state`) to save non-tensor state in ``state_dict``
        under the key ``_extra_state``."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called."
        )

    def set_extra_state(self, state: Any) -> None:
        """Override (with :meth:`get_extra_state`) to restore what ``get_extra_state`` saved."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called."
        )

    def _has_extra_state(self, name: str) -> bool:
        from .module import Module

        return getattr(type(self), name) is not getattr(Module, name)

    # ---- saving ------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Put this module's own parameters, persistent buffers and extra state (not its
        children's) into ``destination``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state("get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> Any:
        """The module's whole state: an ``OrderedDict`` of parameters and persistent buffers by
        dotted name (own parameters, then buffers, then each child). Values are detached but
        share memory; ``_metadata`` holds each module's ``_version``.

        >>> import ember
        >>> from ember import nn
        >>> m = nn.Module()
        >>> m.w = nn.Parameter(ember.zeros(2))
        >>> m.state_dict()
        OrderedDict([('w', tensor([0., 0.]))])
        """
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead. Refer to "
                "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.state_dict for details.",
                FutureWarning,
                stacklevel=2,
            )
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        for hook in self._state_dict_hooks.values():
            res = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if res is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif res is not None:
                destination = res
        return destination

    # ---- hooks -------------------------------------------------------------------------------
    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook"
            )
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata)`` after this module's entries
        are in the ``state_dict``; it may change the dict in place."""
        hook._from_public_api = True
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, prefix, keep_vars)`` before this module's ``state_dict``."""
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def _register_load_state_dict_pre_hook(
        self, hook: Callable, with_module: bool = False
    ) -> RemovableHandle:
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = (
            _BoundLoadHook(hook, self) if with_module else hook
        )
        return handle

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module loads; it may edit ``state_dict``."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, incompatible_keys)`` after loading; it may edit the key lists in
        place (clearing them avoids the strict error). In ember the hook runs once the values
        of the whole tree are copied, and sees the complete key lists."""
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    # ---- loading -----------------------------------------------------------------------------
    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Load this module's own entries (not its children's) from ``state_dict``.

        Layers override it to convert old formats (read ``local_metadata.get('version')``),
        then call ``super()._load_from_state_dict(...)``.
        """
        for hook in self._load_state_dict_pre_hooks.values():
            hook(
                state_dict,
                prefix,
                local_metadata,
                strict,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
        local_state = {k: v for k, v in self._parameters.items() if v is not None}
        for k, v in self._buffers.items():
            if v is not None and k not in self._non_persistent_buffers_set:
                local_state[k] = v
        assign = local_metadata.get("assign_to_params_buffers", False)
        stack = _PENDING.get()
        pending = stack[-1] if stack else None
        now = _Pending() if pending is None else pending
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            src = state_dict[key]
            if not isinstance(src, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(src)}"
                )
                continue
            # Backward compatibility: a 0-dim parameter loads from a one-element 1-dim tensor.
            if param.ndim == 0 and src.ndim == 1 and src._data.shape[0] == 1:
                src = src[0]
            if src._data.shape != param._data.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{_size(src._data.shape)} from checkpoint, the shape in current model is "
                    f"{_size(param._data.shape)}."
                )
                continue
            if assign:
                if isinstance(param, Parameter):
                    new = Parameter(src.detach(), requires_grad=param.requires_grad)
                else:
                    new = src
                now.assigns.append((self, name, new))
            else:
                now.copies.append((param, src))
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if self._has_extra_state("set_extra_state"):
            if extra_key in state_dict:
                now.extra.append((self, state_dict[extra_key]))
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    head = key[len(prefix) :].split(".", 1)
                    if len(head) > 1:
                        if head[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif head[0] not in local_state:
                        unexpected_keys.append(key)
        if pending is None:
            now.commit()  # called directly (not from load_state_dict): apply at once

    def load_state_dict(
        self,
        state_dict: Mapping[str, Any],
        strict: bool = True,
        assign: bool = False,
        *,
        strip_prefix: str | None = None,
        key_map: Callable[[str], str | None] | None = None,
    ) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module and its children.

        Args:
            state_dict: a mapping from dotted names to tensors (as ``state_dict()`` returns).
            strict: raise when keys are missing or unexpected (a shape mismatch always raises).
            assign: put the given tensors in the module instead of copying into the existing
                ones (parameters keep their ``requires_grad``).
            strip_prefix: (ember) remove this prefix from the keys that start with it, e.g.
                ``'module.'`` for checkpoints saved from ``DataParallel``.
            key_map: (ember) a function renaming each key (after ``strip_prefix``); a key it
                maps to None is dropped.

        Returns:
            ``(missing_keys, unexpected_keys)``, printed as ``<All keys matched successfully>``
            when both are empty. When it raises, nothing in the module has changed.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        sd: Any = OrderedDict(state_dict)
        if strip_prefix is not None or key_map is not None:
            sd, metadata = _rename_keys(sd, metadata, strip_prefix, key_map)
        if metadata is not None:
            sd._metadata = metadata
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        post_hooks: list = []
        pending = _Pending()

        def load(module: Any, local_sd: dict, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(
                local_sd, prefix, local_metadata, True, missing, unexpected, errors
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_sd = {k: v for k, v in local_sd.items() if k.startswith(child_prefix)}
                    load(child, child_sd, child_prefix)
            for hook in module._load_state_dict_post_hooks.values():
                post_hooks.append((module, hook))

        token = _PENDING.set((*_PENDING.get(), pending))
        try:
            load(self, sd)
        finally:
            _PENDING.reset(token)

        def fail() -> RuntimeError:
            return RuntimeError(_error_message(self, strict, missing, unexpected, errors))

        if errors:
            raise fail()
        if not post_hooks:
            if strict and (missing or unexpected):
                raise fail()
            pending.commit()
        else:
            undo = pending.commit(backup=True)
            keys = _IncompatibleKeys(missing, unexpected)
            for module, hook in post_hooks:
                if hook(module, keys) is not None:
                    undo()
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be "
                        "modified, it should be done inplace."
                    )
            if strict and (missing or unexpected):
                undo()
                raise fail()
        if not strict and len(sd) and not len(pending) and any(True for _ in _own_keys(self)):
            warnings.warn(
                f"load_state_dict(strict=False) loaded nothing into {type(self).__name__}: none "
                f"of the {len(sd)} keys matched (e.g. {next(iter(sd))!r}). Check the key "
                "prefix (see strip_prefix= and key_map=).",
                UserWarning,
                stacklevel=2,
            )
        return _IncompatibleKeys(missing, unexpected)


class _BoundLoadHook:
    """A load pre-hook that also receives its module as first argument."""

    def __init__(self, hook: Callable, module: Any) -> None:
        import weakref

        self.hook = hook
        self.module = weakref.ref(module)

    def __call__(self, *args: Any) -> Any:
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, *args)


def _own_keys(module: Any) -> Any:
    for m in module.modules():
        for k, v in m._parameters.items():
            if v is not None:
                yield k
        for k, v in m._buffers.items():
            if v is not None and k not in m._non_persistent_buffers_set:
                yield k


def _rename_keys(
    sd: OrderedDict, metadata: Any, strip_prefix: str | None, key_map: Callable | None
) -> tuple[OrderedDict, Any]:
    def rename(key: str) -> str | None:
        if strip_prefix and key.startswith(strip_prefix):
            key = key[len(strip_prefix) :]
        return key_map(key) if key_map is not None else key

    out: Any = OrderedDict()
    for k, v in sd.items():
        new = rename(k)
        if new is not None:
            out[new] = v
    if metadata is not None:
        new_meta: Any = OrderedDict()
        for k, v in metadata.items():
            # Metadata keys are module paths without the trailing dot.
            nk = rename(k + ".") if k else ""
            if nk is not None:
                new_meta[nk[:-1] if nk.endswith(".") else nk] = v
        metadata = new_meta
    return out, metadata


def _error_message(module: Any, strict: bool, missing: list, unexpected: list, errors: list) -> str:
    msgs = list(errors)
    if strict:
        if unexpected:
            msgs.insert(
                0,
                "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)
                ),
            )
        if missing:
            msgs.insert(
                0,
                "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)),
            )
        msgs += _hints(missing, unexpected)
    return "Error(s) in loading state_dict for {}:\n\t{}".format(
        type(module).__name__, "\n\t".join(msgs)
    )


def _hints(missing: list, unexpected: list) -> list[str]:
    """ember's extra diagnostics, appended after PyTorch's messages."""
    if not missing or not unexpected:
        return []
    miss = set(missing)
    # A prefix on every checkpoint key ("module." from DataParallel) or on every model key.
    heads = {k.split(".", 1)[0] + "." for k in unexpected if "." in k}
    if len(heads) == 1:
        p = heads.pop()
        if all(k.startswith(p) for k in unexpected) and any(
            k[len(p) :] in miss for k in unexpected
        ):
            return [f"Hint: every checkpoint key starts with '{p}'; pass strip_prefix='{p}'."]
    heads = {k.split(".", 1)[0] + "." for k in missing if "." in k}
    if len(heads) == 1:
        p = heads.pop()
        if all(k.startswith(p) for k in missing) and any(p + k in miss for k in unexpected):
            return [
                f"Hint: the model's keys start with '{p}' but the checkpoint's do not; pass "
                f"key_map=lambda k: '{p}' + k."
            ]
    out = []
    for k in missing:
        close = difflib.get_close_matches(k, unexpected, n=1, cutoff=0.75)
        if close:
            out.append(f'Hint: did you mean "{close[0]}" for "{k}"?')
        if len(out) == 5:
            break
    return out
