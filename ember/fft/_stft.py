"""The short-time Fourier transform and its inverse (``torch.stft``/``torch.istft``), built
from differentiable ops: framing by indexing, windowing, ``rfft``/``fft``; overlap-add by
``fold``."""

from __future__ import annotations

import warnings

import numpy as np

from .._complex import view_as_real
from .._tensor import Tensor, _wrap
from ..ops import shape as S
from ._transforms import fft, ifft, irfft, rfft

__all__ = ["stft", "istft"]


def _full_window(window: Tensor | None, n_fft: int, win_length: int, like: Tensor) -> Tensor:
    """The window zero-padded on both sides to ``n_fft`` (ones when None)."""
    if window is None:
        dt = like._data.real.dtype
        return _wrap(np.pad(np.ones(win_length, dt), _centre(n_fft, win_length)))
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(
            f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but "
            f"got window with size {list(window.shape)}"
        )
    if win_length == n_fft:
        return window
    import ember.nn.functional as F

    return F.pad(window, _centre(n_fft, win_length))


def _centre(n_fft: int, win_length: int) -> tuple[int, int]:
    left = (n_fft - win_length) // 2
    return left, n_fft - win_length - left


def stft(
    input: Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
) -> Tensor:
    """Fourier transforms of overlapping windowed frames: ``(..., n_fft // 2 + 1, n_frames)``
    (``n_fft`` rows when not ``onesided``)."""
    complex_in = input.dtype.is_complex or (window is not None and window.dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError(
                "stft requires the return_complex parameter be given for real inputs, and will "
                "further require that return_complex=True in a future PyTorch release."
            )
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if hop <= 0 or not 0 < win <= n_fft:
        raise RuntimeError(
            f"stft: expected 0 < hop_length and 0 < win_length <= n_fft, but got "
            f"hop_length={hop}, win_length={win}, n_fft={n_fft}"
        )
    if window is None:
        warnings.warn(
            "A window was not provided. A rectangular window will be applied, which is known to "
            "cause spectral leakage.",
            UserWarning,
            stacklevel=2,
        )
    x = input if input.ndim == 2 else S.unsqueeze(input, 0)
    if center:
        import ember.nn.functional as F

        x = S.squeeze(F.pad(S.unsqueeze(x, 1), (n_fft // 2, n_fft // 2), mode=pad_mode), 1)
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    n_frames = 1 + (length - n_fft) // hop
    idx = np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]
    frames = x[:, _wrap(idx)] * _full_window(window, n_fft, win, x)
    norm = "ortho" if normalized else "backward"
    side = onesided if onesided is not None else not complex_in
    spec = rfft(frames, norm=norm) if side else fft(frames, norm=norm)
    spec = S.transpose(spec, -1, -2)
    if input.ndim == 1:
        spec = S.squeeze(spec, 0)
    if not return_complex:
        warnings.warn(
            "stft with return_complex=False is deprecated; use view_as_real on the complex output.",
            UserWarning,
            stacklevel=2,
        )
        return view_as_real(spec)
    return spec


def istft(
    input: Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> Tensor:
    """The signal whose ``stft`` is ``input``: inverse transforms of the frames, windowed again
    and overlap-added, divided by the summed squared window."""
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor")
    import ember.nn.functional as F

    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    spec = input if input.ndim == 3 else S.unsqueeze(input, 0)
    n_frames = spec.shape[-1]
    side = onesided if onesided is not None else spec.shape[-2] != n_fft
    norm = "ortho" if normalized else "backward"
    frames = S.transpose(spec, -1, -2)
    frames = (
        irfft(frames, n=n_fft, norm=norm)
        if side and not return_complex
        else ifft(frames, n=n_fft, norm=norm)
    )
    w = _full_window(window, n_fft, win, frames)
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    ola = F.fold(S.transpose(frames, -1, -2), (1, total), (1, n_fft), stride=(1, hop))
    w2 = np.asarray(w._data, dtype=np.float64) ** 2
    envelope = np.zeros(total)
    for f in range(n_frames):
        envelope[f * hop : f * hop + n_fft] += w2
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if (center and length is None) else total
    if length is not None:
        end = start + length
    if np.abs(envelope[start:end]).min(initial=1.0) < 1e-11:
        raise RuntimeError(
            "istft: window overlap add min: the sum of the squared window is zero somewhere; "
            "choose a window and hop_length that satisfy NOLA"
        )
    y = S.reshape(ola, (ola.shape[0], total))[:, start:end]
    env = _wrap(envelope[start:end].astype(y._data.real.dtype))
    y = y / env
    if length is not None and y.shape[-1] < length:
        y = F.pad(y, (0, length - y.shape[-1]))
    return S.squeeze(y, 0) if input.ndim == 2 else y
