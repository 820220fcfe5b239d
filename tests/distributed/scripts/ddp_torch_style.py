"""A plain PyTorch DDP training script (torchrun style). Under ``EMBER=1`` it runs on ember
unchanged but for the import. Rank 0 emits its final parameters."""

import os

import numpy as np

from tests.distributed.scripts._result import emit

if os.environ.get("EMBER") == "1":
    import ember as torch
else:
    import torch


dist = torch.distributed
nn = torch.nn
DDP = torch.nn.parallel.DistributedDataParallel
DistributedSampler = torch.utils.data.distributed.DistributedSampler
DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

dist.init_process_group(backend="gloo")
rank = dist.get_rank()
local_rank = int(os.environ["LOCAL_RANK"])
torch.set_default_dtype(torch.float64)

rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((22, 6)))
y = torch.tensor(rng.integers(0, 3, 22))
model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
init = np.random.default_rng(1 + rank)  # every rank starts elsewhere: DDP broadcasts rank 0's
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(init.standard_normal(tuple(p.shape)) * 0.5))
ddp = DDP(model, bucket_cap_mb=0.0001)
data = TensorDataset(x, y)
sampler = DistributedSampler(
    data, shuffle=False
)  # shuffles would differ: torch's RNG is not ember's
loader = DataLoader(data, batch_size=4, sampler=sampler)
opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(2):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(ddp(xb), yb).backward()
        opt.step()
if rank == 0:
    flat = [v for p in ddp.module.parameters() for v in p.detach().numpy().ravel().tolist()]
    emit({"local_rank": local_rank, "params": flat})
dist.destroy_process_group()
