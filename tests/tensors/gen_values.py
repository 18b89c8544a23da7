#!/usr/bin/python3
"""Writes tests/programs/tensors/values_numpy.dl: tensor operations on fixed
inputs checked against results computed here with NumPy (Debian's
python3-numpy, under /usr/bin/python3). Run it again after changing the cases;
the generated file is committed, so the test itself needs no NumPy."""
import os
import numpy as np

rng = np.random.default_rng(20261123)
A = np.round(rng.normal(size=(3, 4)), 3)
B = np.round(rng.normal(size=(4, 2)), 3)
R = np.round(rng.normal(size=(4,)), 3)
C = np.round(rng.normal(size=(3, 1)), 3)
X3 = np.round(rng.normal(size=(2, 3, 4)), 3)
P = np.abs(A) + 0.5


X4 = np.round(rng.normal(size=(2, 5, 6, 3)), 3)
W4 = np.round(rng.normal(size=(3, 2, 3, 4)), 3)


def conv2d(x, w, stride=1, padding=0):
    """NHWC input, HWIO filter, PyTorch's padding."""
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def pool2d(x, size, stride, padding, op):
    fill = -np.inf if op == "max" else 0.0
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)), constant_values=fill)
    n, h, w, c = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if op == "max" else win.sum(axis=(1, 2)) / size ** 2
    return out


def lit(a):
    if a.ndim == 0:
        return repr(float(a))
    return "[" + ", ".join(lit(x) for x in a) + "]"


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def lse(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    r = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return r if keepdims else (r.reshape(()) if axis is None else np.squeeze(r, axis=axis))


cases = [
    ("a + r", A + R), ("a * c - r", A * C - R), ("a / p", A / P), ("2.0 - a", 2.0 - A),
    ("-a", -A), ("exp(a)", np.exp(A)), ("log(p)", np.log(P)), ("sqrt(p)", np.sqrt(P)),
    ("rsqrt(p)", 1 / np.sqrt(P)), ("tanh(a)", np.tanh(A)), ("sigmoid(a)", 1 / (1 + np.exp(-A))),
    ("relu(a)", np.maximum(A, 0)), ("abs(a)", np.abs(A)), ("log1p(p)", np.log1p(P)),
    ("sin(a) + cos(a)", np.sin(A) + np.cos(A)), ("pow(p, 1.7)", P ** 1.7),
    ("min(a, r)", np.minimum(A, R)), ("max(a, c)", np.maximum(A, C)),
    ("a @ b", A @ B), ("matmul(x3, b)", X3 @ B), ("transpose(a)", A.T),
    ("x3.transposed([2, 0, 1])", X3.transpose(2, 0, 1)), ("reshape(a, [2, -1])", A.reshape(2, -1)),
    ("sum(a, axis: 0)", A.sum(0)), ("mean(a, axis: 1, keepDims: true)", A.mean(1, keepdims=True)),
    ("max(a, axis: -1)", A.max(-1)), ("min(x3, axis: 1)", X3.min(1)),
    ("logSumExp(a, axis: 1)", lse(A, 1)), ("softmax(a, axis: 1)", softmax(A, 1)),
    ("logSoftmax(x3)", np.log(softmax(X3, -1))), ("softmax(a, axis: 0)", softmax(A, 0)),
    ("where(a > 0.0, a, c)", np.where(A > 0, A, C)),
    ("clip(a, -0.5, 0.7)", np.clip(A, -0.5, 0.7)), ("leakyRelu(a)", np.where(A > 0, A, 0.01 * A)),
    ("leakyRelu(a, 0.2)", np.where(A > 0, A, 0.2 * A)),
    ("elu(a)", np.where(A > 0, A, np.expm1(np.minimum(A, 0)))),
    ("gelu(a)", 0.5 * A * (1 + np.tanh(np.sqrt(2 / np.pi) * (A + 0.044715 * A ** 3)))),
    ("softplus(a * 30.0)", np.logaddexp(0, A * 30.0)),
    ("variance(a, axis: 0)", A.var(0)), ("variance(x3, axis: -1, keepDims: true)", X3.var(-1, keepdims=True)),
    ("flatten(x3)", X3.reshape(2, -1)), ("flatten(x3, from: 0)", X3.reshape(-1)),
    ("flatten(x3, from: -1)", X3), ("squeeze(c)", np.squeeze(C)),
    ("squeeze(reshape(x3, [2, 1, 3, 4]), axis: 1)", X3),
    ("unsqueeze(a, axis: 1)", A[:, None, :]), ("unsqueeze(a, axis: -1)", A[:, :, None]),
    ("concat([a, a * 2.0, c * a], axis: 0)", np.concatenate([A, A * 2, C * A], 0)),
    ("concat([a, c], axis: 1)", np.concatenate([A, C], 1)),
    ("concat([x3, x3], axis: -1)", np.concatenate([X3, X3], -1)),
    ("stack([a, p], axis: 1)", np.stack([A, P], 1)), ("stack([r, r * 2.0])", np.stack([R, R * 2])),
    ("slice(x3, from: 1, to: 3, axis: 2)", X3[:, :, 1:3]), ("slice(a, from: 0, to: 2)", A[0:2]),
    ("gather(a, Tensor<Int>([3, 0, 0, -1]), axis: 1)", np.take(A, [3, 0, 0, -1], axis=1)),
    ("gather(x3, Tensor<Int>([[1, 0], [2, 2]]), axis: 1)", np.take(X3, [[1, 0], [2, 2]], axis=1)),
    ("embedding(a, Tensor<Int>([2, 2, 1]))", A[[2, 2, 1]]),
    ("oneHot(Tensor<Int>([[1, 0], [3, 2]]), 4)", np.eye(4)[[[1, 0], [3, 2]]]),
    ("layerNorm(a)", (A - A.mean(-1, keepdims=True)) / np.sqrt(A.var(-1, keepdims=True) + 1e-5)),
    ("layerNorm(x3, r, r * 0.5, epsilon: 0.1)",
     (X3 - X3.mean(-1, keepdims=True)) / np.sqrt(X3.var(-1, keepdims=True) + 0.1) * R + R * 0.5),
    ("batchNorm(a)", (A - A.mean(0)) / np.sqrt(A.var(0) + 1e-5)),
    ("batchNorm(x3, r, r, epsilon: 0.01)",
     (X3 - X3.mean((0, 1))) / np.sqrt(X3.var((0, 1)) + 0.01) * R + R),
    ("dropout(a, rate: 0.3, training: false)", A),
    ("conv2d(x4, w4)", conv2d(X4, W4)), ("conv2d(x4, w4, stride: 2, padding: 1)", conv2d(X4, W4, 2, 1)),
    ("conv2d(x4, w4, padding: 2)", conv2d(X4, W4, 1, 2)),
    ("maxPool2d(x4, size: 2)", pool2d(X4, 2, 2, 0, "max")),
    ("maxPool2d(x4, size: 3, stride: 2, padding: 1)", pool2d(X4, 3, 2, 1, "max")),
    ("avgPool2d(x4, size: 2, stride: 1)", pool2d(X4, 2, 1, 0, "avg")),
    ("avgPool2d(x4, size: 3, stride: 2, padding: 1)", pool2d(X4, 3, 2, 1, "avg")),
]
scalars = [
    ("sum(a)", A.sum()), ("mean(x3)", X3.mean()), ("max(a)", A.max()), ("min(a)", A.min()),
    ("logSumExp(x3)", lse(X3)), ("variance(x3)", X3.var()),
]

out = []
out.append("// Tensor operations on fixed Double inputs against NumPy's results.")
out.append("// Generated by tests/tensors/gen_values.py; do not edit by hand.")
out.append("fn close(name: String, got: Tensor<Double>, want: Tensor<Double>) {")
out.append("    assert(got.rank == want.rank && got.count == want.count, name + \": shape\")")
out.append("    assert(max(abs(got - want)) <= 1e-12 * (1.0 + max(abs(want))), name + \": values\")")
out.append("}")
out.append("")
out.append("fn main() {")
for name, v in [("a", A), ("b", B), ("r", R), ("c", C), ("x3", X3), ("p", P), ("x4", X4), ("w4", W4)]:
    out.append(f"    let {name} = Tensor<Double>({lit(v)})")
for expr, want in cases:
    out.append(f"    close(\"{expr}\", {expr}, Tensor<Double>({lit(want)}))")
for expr, want in scalars:
    out.append(f"    assert(abs({expr} - {float(want)!r}) <= 1e-12, \"{expr}\")")
out.append(f"    print(\"{len(cases) + len(scalars)} operations agree with NumPy\")")
out.append(f"    print(argmax(a), argmax(a, axis: 1))")
out.append("}")
out.append(f"// CHECK: {len(cases) + len(scalars)} operations agree with NumPy")
am = A.argmax(1)
out.append(f"// CHECK: {A.argmax()} Tensor([{', '.join(str(x) for x in am)}], shape: [{len(am)}])")
path = os.path.join(os.path.dirname(__file__), "..", "programs", "tensors", "values_numpy.dl")
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
