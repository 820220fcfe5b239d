"""``ember.nn.functional`` (``import ember.nn.functional as F``): the functions behind the layers.

Each takes data and weights on every call. One family a private module; ``__all__`` in each
lists what is public here.
"""

from ...ops.softmax import log_softmax, softmax, softmin
from ._activation import *  # noqa: F403
from ._attention import *  # noqa: F403
from ._conv import *  # noqa: F403
from ._dropout import *  # noqa: F403
from ._embedding import *  # noqa: F403
from ._extras import *  # noqa: F403
from ._grid import *  # noqa: F403
from ._linear import *  # noqa: F403
from ._loss import *  # noqa: F403
from ._loss_seq import *  # noqa: F403
from ._misc import *  # noqa: F403
from ._norm import *  # noqa: F403
from ._pooling import *  # noqa: F403
from ._pooling_extra import *  # noqa: F403
from ._resample import *  # noqa: F403
from ._rnn import *  # noqa: F403
