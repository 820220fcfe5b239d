"""``ember.backends.cpu``: the SIMD level NumPy's kernels use on this machine."""

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """``'AVX512'``, ``'AVX2'`` or ``'DEFAULT'``, from NumPy's detected CPU features."""
    from numpy._core._multiarray_umath import __cpu_features__ as feats

    if feats.get("AVX512F") and feats.get("AVX512BW"):
        return "AVX512"
    if feats.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
