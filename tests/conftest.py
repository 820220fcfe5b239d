import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _seed_and_defaults():
    """Each test starts from fixed seeds and ember's default dtype and grad mode."""
    ember.manual_seed(0)
    np.random.seed(0)
    ember.set_default_dtype(ember.float32)
    yield
    ember.set_default_dtype(ember.float32)
    ember.autograd.grad_mode.STATE.enabled = True
