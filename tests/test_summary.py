"""ember.summary against hand-counted parameters and shapes (the demo network and LeNet)."""

from __future__ import annotations

import ember
from ember import nn
from ember.demo import build_model


class LeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, (5, 5))
        self.conv2 = nn.Conv2d(6, 16, (5, 5))
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        F = nn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def _rows(s) -> dict:
    return {info.path: info for info in s.layers}


def test_demo_network_counts_and_shapes() -> None:
    s = ember.summary(build_model(8), input_size=(1, 1, 8, 8))
    conv1, conv2 = 16 * 1 * 9 + 16, 32 * 16 * 9 + 32
    fc1, fc2 = 128 * 64 + 64, 64 * 10 + 10
    assert s.total_params == conv1 + conv2 + fc1 + fc2 == 13706
    assert s.trainable_params == 13706 and s.frozen_params == 0
    assert s.param_bytes == 13706 * 4 and s.buffer_bytes == 0
    rows = _rows(s)
    expect = {
        "conv1": ([1, 16, 8, 8], conv1),
        "relu1": ([1, 16, 8, 8], 0),
        "pool1": ([1, 16, 4, 4], 0),
        "conv2": ([1, 32, 4, 4], conv2),
        "pool2": ([1, 32, 2, 2], 0),
        "dropout": ([1, 32, 2, 2], 0),
        "flatten": ([1, 128], 0),
        "fc1": ([1, 64], fc1),
        "fc2": ([1, 10], fc2),
    }
    for path, (shape, params) in expect.items():
        assert rows[path].output_shape == shape, path
        assert rows[path].params == params, path
    assert s.output_shape == [1, 10]
    text = str(s)
    assert "Total params: 13,706" in text and "Trainable params: 13,706" in text
    assert "conv1" in text and "[1, 16, 8, 8]" in text


def test_lenet_counts_shapes_and_frozen_split() -> None:
    net = LeNet()
    net.conv1.requires_grad_(False)
    s = ember.summary(net, input=ember.zeros(2, 1, 28, 28))
    counts = {"conv1": 156, "conv2": 2416, "fc1": 30840, "fc2": 10164, "fc3": 850}
    assert s.total_params == sum(counts.values()) == 44426
    assert s.frozen_params == 156 and s.trainable_params == 44426 - 156
    rows = _rows(s)
    shapes = {
        "conv1": [2, 6, 24, 24],
        "conv2": [2, 16, 8, 8],
        "fc1": [2, 120],
        "fc2": [2, 84],
        "fc3": [2, 10],
    }
    for path, n in counts.items():
        assert rows[path].params == n
        assert rows[path].output_shape == shapes[path]
    assert rows["conv1"].trainable == 0
    assert "(156 frozen)" in str(s) and "Frozen params: 156" in str(s)


def test_summary_without_input_counts_only_and_keeps_mode() -> None:
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    s = ember.summary(net)
    assert s.total_params == 4 * 3 + 3 + 3 + 3
    assert s.buffer_bytes == (3 + 3) * 4 + 8  # running stats + num_batches_tracked (int64)
    assert all(info.output_shape is None for info in s.layers)
    net.train()
    ember.summary(net, input_size=(2, 4))
    assert net.training  # the forward pass ran in eval mode and the mode was restored


def test_shared_parameters_counted_once() -> None:
    lin = nn.Linear(5, 5)
    s = ember.summary(nn.Sequential(lin, nn.ReLU(), lin), input_size=(1, 5))
    assert s.total_params == 30


def test_depth_limits_rows() -> None:
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), nn.Linear(2, 1))
    s = ember.summary(net, depth=1)
    assert [r.path for r in s.layers] == ["(root)", "0", "1"]
    assert s.total_params == 6 + 3
