#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Deep Fingerprinting in PyTorch, as a reference for wfbench's own `df`.

The same network and training as bench/attacks/df.c (docs/attacks/df.md),
built from the paper's description, on the files `wfbench attack
--export-features F.npy` writes (F.dir.npy, F.labels.npy, F.folds.npy):
each fold in turn is the test set, the others train. No validation split
(wfbench's `val=0`: every training row is used, the last epoch is kept), so
both sides train on exactly the same rows.

    /usr/bin/python3 bench/perf/torch_df.py F [--length 1000] [--batch 8]
        [--epochs 25] [--threads 1] [--bn-momentum 0.9] [--seed 1]

Prints one line per fold and a summary line
`torch_df accuracy A wall_per_epoch W cpu_per_epoch C threads T` (training
only: the epochs' passes, not the test). A benchmark reference
only: PyTorch is not a dependency of wfguard or wfbench. Without torch it
says so and exits 0 (skipped). Run both sides with bench/perf/deep_vs_torch.sh.
"""
import argparse
import math
import sys
import time
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"torch_df: skipped: {e.name} is not installed for {sys.executable} "
          "(Debian: apt-get install python3-torch)")
    sys.exit(0)

FILTERS = (32, 64, 128, 256)
KERNEL, POOL, POOL_STRIDE = 8, 8, 4
BN_EPS = 1e-3  # Keras's default, as df.c


class SamePool(nn.Module):
    """Max-pool with TensorFlow's `same` padding: ceil(l / stride) outputs,
    half the excess before (rounded down), the rest after; padded cells
    never win."""

    def __init__(self, window, stride):
        super().__init__()
        self.window, self.stride = window, stride

    def forward(self, x):
        length = x.shape[-1]
        out = math.ceil(length / self.stride)
        excess = max((out - 1) * self.stride + self.window - length, 0)
        x = F.pad(x, (excess // 2, excess - excess // 2), value=-math.inf)
        return F.max_pool1d(x, self.window, self.stride)


def block(c_in, c_out, elu, momentum):
    act = nn.ELU if elu else nn.ReLU
    layers = []
    for c in (c_in, c_out):
        # PyTorch's 'same' puts the odd pad cell after, as TensorFlow does
        layers += [nn.Conv1d(c, c_out, KERNEL, padding="same"),
                   nn.BatchNorm1d(c_out, eps=BN_EPS, momentum=momentum),
                   act()]
    return layers + [SamePool(POOL, POOL_STRIDE), nn.Dropout(0.1)]


def df_net(length, classes, keras_momentum):
    # Keras keeps r = m r + (1 - m) batch; PyTorch's momentum is the 1 - m
    momentum = 1.0 - keras_momentum
    layers, c, l = [], 1, length
    for i, f in enumerate(FILTERS):
        layers += block(c, f, i == 0, momentum)
        c, l = f, math.ceil(l / POOL_STRIDE)
    layers.append(nn.Flatten())
    width = c * l
    for drop in (0.7, 0.5):
        layers += [nn.Linear(width, 512),
                   nn.BatchNorm1d(512, eps=BN_EPS, momentum=momentum),
                   nn.ReLU(), nn.Dropout(drop)]
        width = 512
    layers.append(nn.Linear(width, classes))
    net = nn.Sequential(*layers)
    # Keras's defaults, as df.c: Glorot uniform weights, zero biases
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def accuracy(net, x, y, batch=256):
    net.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            right += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return right / len(x)


def run_fold(args, x, y, classes, train, test, fold):
    torch.manual_seed(args.seed + fold)
    net = df_net(args.length, classes, args.bn_momentum)
    opt = torch.optim.Adamax(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    xt, yt = x[train], y[train]
    gen = torch.Generator().manual_seed(args.seed + fold)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), args.batch):
            idx = order[i:i + args.batch]
            if len(idx) < 2:
                continue  # PyTorch's batch norm refuses a batch of one (wfbench takes it)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return accuracy(net, x[test], y[test]), wall / args.epochs, cpu / args.epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features", help="F as given to --export-features F.npy (without .npy)")
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--bn-momentum", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    # the zero-padded copy PyTorch warns about for even kernels is what 'same' means here
    warnings.filterwarnings("ignore", message="Using padding='same'")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    base = args.features[:-4] if args.features.endswith(".npy") else args.features
    try:
        dirs = np.load(base + ".dir.npy")
        labels = np.load(base + ".labels.npy")
        folds = np.load(base + ".folds.npy")
    except OSError as e:
        sys.exit(f"torch_df: {e}")
    if dirs.shape[1] < args.length:
        sys.exit(f"torch_df: {base}.dir.npy has {dirs.shape[1]} columns, --length {args.length}")
    # labels -> classes in sorted order, as deep.c maps them
    names, y = np.unique(labels, return_inverse=True)
    x = torch.from_numpy(dirs[:, None, :args.length].astype(np.float32))
    y = torch.from_numpy(y.astype(np.int64))
    accs, walls, cpus = [], [], []
    for fold in np.unique(folds):
        train = torch.from_numpy(np.flatnonzero(folds != fold))
        test = torch.from_numpy(np.flatnonzero(folds == fold))
        acc, wall, cpu = run_fold(args, x, y, len(names), train, test, int(fold))
        print(f"torch_df fold {fold}: accuracy {acc:.4f} ({len(test)} test rows), "
              f"per epoch {wall:.2f} s wall, {cpu:.2f} s CPU")
        accs.append(acc)
        walls.append(wall)
        cpus.append(cpu)
    print(f"torch_df accuracy {np.mean(accs):.4f} wall_per_epoch {np.mean(walls):.3f} "
          f"cpu_per_epoch {np.mean(cpus):.3f} threads {torch.get_num_threads()} "
          f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
