"""The same MLP step as mlp.dl in PyTorch (Debian's python3-torch), at its best
on this machine: torch.set_num_threads(1) (OpenBLAS keeps its own threads) and
glibc malloc tuned by run.sh. Prints steps/s."""
import sys
import time
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
torch.manual_seed(0)
x = torch.rand(128, 784)
labels = torch.tensor([(i * 7) % 10 for i in range(128)])


def glorot(i, o):
    lim = (6.0 / (i + o)) ** 0.5
    return (torch.rand(i, o) * 2 - 1) * lim


params = [glorot(784, 512), torch.zeros(512), glorot(512, 512), torch.zeros(512),
          glorot(512, 10), torch.zeros(10)]
for p in params:
    p.requires_grad_(True)
opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)


def step():
    w1, b1, w2, b2, w3, b3 = params
    h1 = torch.relu(x @ w1 + b1)
    h2 = torch.relu(h1 @ w2 + b2)
    loss = torch.nn.functional.cross_entropy(h2 @ w3 + b3, labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


first = step()
for _ in range(19):
    step()
steps = 200
t = time.perf_counter()
for _ in range(steps):
    last = step()
print("torch steps/s", steps / (time.perf_counter() - t), "loss", first, "->", last)
