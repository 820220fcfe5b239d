"""ember: PyTorch's torch.nn, autograd, optim, data and checkpoints in Python over NumPy.

``import ember as torch`` runs PyTorch programs for everything ember covers.
"""

from __future__ import annotations

from . import (
    _methods,  # noqa: F401  (binds Tensor methods)
    autograd,
)
from ._backend import device
from ._creation import (
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    scalar_tensor,
    tensor,
    zeros,
    zeros_like,
)
from ._creation_random import (
    bernoulli,
    multinomial,
    normal,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
)
from ._dtype import (
    bfloat16,
    bool,
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from ._legacy import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    set_default_tensor_type,
)
from ._memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from ._printing import set_printoptions
from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._storage import TypedStorage, UntypedStorage
from ._switches import (
    are_deterministic_algorithms_enabled,
    get_default_device,
    get_deterministic_debug_mode,
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    set_default_device,
    set_deterministic_debug_mode,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_num_threads,
    use_deterministic_algorithms,
)
from ._tensor import Size, Tensor
from .autograd.anomaly_mode import (
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops.compare import (
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    eq,
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    not_equal,
)
from .ops.elementwise import (
    add,
    addcdiv,
    addcmul,
    arctan2,
    atan2,
    div,
    divide,
    float_power,
    floor_divide,
    fmax,
    fmin,
    fmod,
    lerp,
    maximum,
    minimum,
    mul,
    multiply,
    pow,
    remainder,
    rsub,
    sub,
    subtract,
    true_divide,
    where,
)
from .ops.indexing import (
    argwhere,
    bucketize,
    diag,
    diagonal,
    gather,
    index_put,
    index_select,
    masked_fill,
    masked_scatter,
    masked_select,
    nonzero,
    repeat_interleave,
    scatter,
    scatter_add,
    searchsorted,
    take,
    take_along_dim,
    trace,
    unique,
)
from .ops.join import (
    cartesian_prod,
    cat,
    chunk,
    concat,
    concatenate,
    hstack,
    meshgrid,
    narrow,
    select,
    split,
    stack,
    tensor_split,
    unbind,
    vstack,
)
from .ops.linalg import addmm, bmm, dot, ger, matmul, mm, mv, outer
from .ops.reduction import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    count_nonzero,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    sort,
    std,
    std_mean,
    sum,
    topk,
    var,
    var_mean,
)
from .ops.shape import (
    adjoint,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    clone,
    expand_copy,
    flatten,
    flip,
    fliplr,
    flipud,
    moveaxis,
    movedim,
    permute,
    reshape,
    roll,
    squeeze,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    tril,
    triu,
    unflatten,
    unsqueeze,
)
from .ops.softmax import log_softmax, softmax, softmin
from .ops.unary import (
    abs,
    absolute,
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    asin,
    asinh,
    atan,
    atanh,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    cos,
    cosh,
    erf,
    exp,
    exp2,
    expm1,
    fix,
    floor,
    frac,
    log,
    log1p,
    log2,
    log10,
    neg,
    negative,
    reciprocal,
    relu,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    tan,
    tanh,
    trunc,
)

# The wider torch.* surface loads on first use (see __getattr__), so `import ember` stays fast.
_SURFACE = {
    "cumulative": "cummax cummin cumulative_trapezoid diff logcumsumexp trapezoid",
    "index_ops": "index_add index_copy index_fill index_reduce scatter_reduce",
    "pointwise": "can_cast copysign deg2rad heaviside hypot isin ldexp logaddexp logaddexp2 logit "
    "nan_to_num nextafter rad2deg result_type sgn signbit sinc",
    "products": "block_diag cdist cosine_similarity cross einsum inner kron pairwise_distance "
    "renorm tensordot vander",
    "sampling": "poisson",
    "special_fn": "digamma erfc erfinv i0 lgamma mvlgamma polygamma xlogy",
    "stacking": "as_strided atleast_1d atleast_2d atleast_3d column_stack dsplit dstack hsplit "
    "rot90 row_stack tril_indices triu_indices vsplit",
    "statistics": "bincount histc histogram kthvalue median mode nanmean nanmedian nanquantile "
    "nansum quantile unique_consecutive",
}
_SURFACE.update(
    {
        "diagonals": "diag_embed diagflat",
        "blas_ops": "addbmm addmv addr baddbmm chain_matmul corrcoef cov dist vdot",
        "integer_ops": "bitwise_left_shift bitwise_right_shift frexp gcd lcm",
        "arrange": "aminmax combinations fill get_device is_complex is_inference is_neg "
        "is_nonzero is_same_size is_signed isneginf isposinf isreal msort positive ravel "
        "split_with_sizes unravel_index unsafe_chunk unsafe_split unsafe_split_with_sizes",
        "function_forms": "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ "
        "asin_ asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ "
        "detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ i0_ ldexp_ log10_ log1p_ "
        "log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_ "
        "sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ zero_ gcd_ lcm_ "
        "as_strided_ addmv_ resize_as_",
        "legacy_linalg": "cholesky_inverse cholesky_solve eig frobenius_norm lstsq lu lu_solve "
        "lu_unpack matrix_rank nuclear_norm solve symeig triangular_solve",
        "aliases": "igamma igammac narrow_copy put trapz",
    }
)

index_put_ = Tensor.index_put_  # torch.index_put_(input, indices, values, accumulate)

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
cfloat = complex64
cdouble = complex128

# PyTorch's math constants (torch.pi & co. are plain Python floats; newaxis is None, as NumPy's).
import math as _math  # noqa: E402 - ``float`` is ember.float here

from .version import __version__  # noqa: E402 - "2.13.0+ember.0.1.0", compares as a version

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None
del _math

# Complex numbers (ember/_complex.py); the torch.* matrix functions (det, inverse, svd...) load
# with ember.linalg on first use (__getattr__ below).
from ._complex import (  # noqa: E402
    angle,
    complex,  # noqa: A004
    conj,
    conj_physical,
    imag,
    is_conj,
    polar,
    real,
    resolve_conj,
    resolve_neg,
    view_as_complex,
    view_as_real,
)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.dtype.is_floating_point


def numel(input: Tensor) -> int:
    return input.numel()


def detach(input: Tensor) -> Tensor:
    return input.detach()


_NN_ATEN_FORMS = (  # torch.dropout, torch.layer_norm...: nn functions with ATen signatures
    "adaptive_avg_pool1d adaptive_max_pool1d alpha_dropout alpha_dropout_ avg_pool1d batch_norm "
    "bilinear binary_cross_entropy_with_logits celu celu_ channel_shuffle constant_pad_nd conv_tbc "
    "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
    "cosine_embedding_loss dropout dropout_ embedding feature_alpha_dropout "
    "feature_alpha_dropout_ feature_dropout feature_dropout_ group_norm hardshrink "
    "hinge_embedding_loss instance_norm kl_div layer_norm margin_ranking_loss max_pool1d "
    "max_pool1d_with_indices max_pool2d max_pool3d pdist pixel_shuffle pixel_unshuffle "
    "poisson_nll_loss prelu rms_norm rrelu rrelu_ selu selu_ threshold threshold_ "
    "triplet_margin_loss"
)

# Everything below loads on first use, so `import ember` stays fast (see __getattr__).
# Subpackages and entry-point modules:
_SUBMODULES = frozenset(
    "nn optim utils serialization linalg fft special func distributed distributions compiler _C "
    "multiprocessing onnx cuda backends accelerator mps cpu xpu version amp jit testing "
    "random hub".split()
)
# Names, each with the module that defines it:
_HOMES = {name: f".ops.{mod}" for mod, names in _SURFACE.items() for name in names.split()}
for _home, _names in {
    "._creation_extra": "range frombuffer from_file empty_strided typename is_storage",
    ".nn.functional._aten_forms": _NN_ATEN_FORMS,
    # the torch.* matrix functions come with ember.linalg
    ".linalg._tensor_api": "det inverse logdet slogdet pinverse matrix_exp matrix_power "
    "cholesky qr svd",
    ".fft": "stft istft hann_window hamming_window blackman_window bartlett_window kaiser_window",
    ".amp.autocast_mode": "autocast is_autocast_enabled set_autocast_enabled get_autocast_dtype "
    "set_autocast_dtype is_autocast_cache_enabled set_autocast_cache_enabled "
    "clear_autocast_cache",
    "._compile": "compile",
    "._type_info": "finfo iinfo",
    "._devices": "get_device_module",
    ".func._vmap": "vmap",  # torch.vmap is torch.func.vmap
    ".serialization": "save load",
    ".utils.summary": "summary",
}.items():
    _HOMES.update(dict.fromkeys(_names.split(), _home))
del _home, _names


def __getattr__(name: str):
    """Subpackages and the wider surface, imported on first use; AttributeError otherwise (so
    ``hasattr(ember, name)`` is False for a name ember does not have)."""
    import importlib

    if name in _SUBMODULES:
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:  # hasattr() must see AttributeError, never this
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'ember' has no attribute '{name}'") from None
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ember' has no attribute '{name}'")
    value = getattr(importlib.import_module(home, __name__), name)
    if home.startswith(".ops."):  # the op surface: wrapped once, then a plain module global
        from ._out import accepts_out_in

        found = {name: value}
        accepts_out_in(found, (name,))  # an `out=` keyword is honoured, never ignored
        value = globals()[name] = found[name]  # later look-ups skip this function
    return value
