#!/usr/bin/python3
"""bench/epoch: one epoch of the same MLP or CNN as mlp.dl / cnn.dl in PyTorch
(Debian's python3-torch): the same Fashion-MNIST files (read with gzip and
NumPy), the same layers and initialization scheme (Glorot-uniform dense
weights, zero biases, N(0, 1) * 0.33 / 0.06 conv filters), batch 128
shuffled, SGD momentum 0.9 lr 0.05, timed around the training loop, then the
test accuracy. Usage: torch_epoch.py mlp|cnn THREADS."""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(split):
    d = os.environ.get("DL_DATA", "/usr/share/datasets/fashion-mnist")
    p = "train" if split == "train" else "t10k"
    x = torch.from_numpy(idx(f"{d}/{p}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    y = torch.from_numpy(idx(f"{d}/{p}-labels-idx1-ubyte.gz").astype(np.int64))
    return x, y


def dense(i, o):
    layer = nn.Linear(i, o)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = dense(784, 256), dense(256, 128), dense(128, 10)

    def forward(self, x):
        return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        with torch.no_grad():
            self.c1.weight.copy_(torch.randn(32, 1, 3, 3) * 0.33)
            self.c2.weight.copy_(torch.randn(64, 32, 3, 3) * 0.06)
            self.c1.bias.zero_()
            self.c2.bias.zero_()
        self.d1, self.d2 = dense(3136, 128), dense(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x.view(-1, 1, 28, 28))), 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2)
        return self.d2(F.relu(self.d1(h.flatten(1))))


def main():
    kind, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = load("train")
    xt, yt = load("test")
    model = MLP() if kind == "mlp" else CNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    order = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], 128):
        idx_ = order[i:i + 128]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[idx_]), y[idx_]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        correct = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                      for i in range(0, xt.shape[0], 1000))
    print("epoch_seconds", seconds, "accuracy", correct / xt.shape[0])


if __name__ == "__main__":
    main()
