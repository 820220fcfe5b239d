"""The geometry of a convolution's window sweep, shared by im2col/col2im and the conv ops."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

__all__ = ["ConvGeometry", "conv_out_size", "CHANNELS_LAST_MIN"]

# Channels per group from which im2col/col2im run channels-last (contiguous runs of channels);
# below it they run K-major (contiguous runs along output rows).
CHANNELS_LAST_MIN = 16


def conv_out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Output length of a convolution/pooling window sweep along one dimension."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class ConvGeometry:
    """How a ``k``-sized window sweeps an image: one tuple per spatial dimension.

    Output position ``o`` of kernel offset ``j`` reads (padded) input position
    ``o * stride + j * dilation``, i.e. unpadded position ``o * stride + j * dilation - lo``.
    ``channels_last`` names the column layout (see ``_im2col``): channels-last columns when
    there are many channels per group, K-major columns when few.
    """

    k: tuple
    stride: tuple
    lo: tuple
    hi: tuple
    dilation: tuple
    groups: int
    size: tuple  # input spatial size (unpadded)
    out: tuple  # output spatial size
    channels_last: bool = True

    @classmethod
    def of_conv(
        cls, size: tuple, k: tuple, stride: tuple, pads: tuple, dilation: tuple, groups: int,
        channels: int,
    ) -> ConvGeometry:  # fmt: skip
        """The geometry of a convolution of ``channels`` input channels; ``pads`` is
        ``((lo, hi), ...)``. The layout follows the channels per group."""
        lo = tuple(p[0] for p in pads)
        hi = tuple(p[1] for p in pads)
        out = tuple(map(conv_out_size, size, k, stride, lo, hi, dilation))
        cl = channels // groups >= CHANNELS_LAST_MIN
        return cls(tuple(k), tuple(stride), lo, hi, tuple(dilation), groups, tuple(size), out, cl)

    @property
    def sd(self) -> int:
        """Number of spatial dimensions."""
        return len(self.k)

    @property
    def taps(self) -> int:
        """Kernel positions per window: ``prod(k)``."""
        return prod(self.k)

    @property
    def positions(self) -> int:
        """Output positions per image: ``prod(out)``."""
        return prod(self.out)

    @property
    def padded(self) -> tuple:
        """Spatial size of the padded input."""
        return tuple(s + a + b for s, a, b in zip(self.size, self.lo, self.hi))

    @property
    def pads(self) -> tuple:
        """``((lo, hi), ...)`` per spatial dimension."""
        return tuple(zip(self.lo, self.hi))

    @property
    def has_padding(self) -> bool:
        return any(self.lo) or any(self.hi)
