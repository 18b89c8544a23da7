#!/usr/bin/env python3
"""Writes the .npy, CSV and model-file fixtures of the loadNPY / loadCSV /
load tests into tests/programs/data (run with /usr/bin/python3, which has
NumPy; the files are committed, so the tests do not need NumPy):

    /usr/bin/python3 tests/stdlib/gen_io_fixtures.py

The .npy files are written by NumPy itself, so loadNPY is tested against the
real format; tests/unit/TensorRuntimeTests.cpp also checks that saveNPY
writes npy_f4.npy byte for byte. The model files follow the format of
runtime/model_io.c.
"""

import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "programs", "data")


def path(name):
    return os.path.join(OUT, name)


def main():
    np.save(path("npy_f4.npy"), np.array([[0.5, -1.25, 3.0], [4.0, 5.5, -6.0]], dtype="<f4"))
    np.save(path("npy_f8.npy"), np.array([0.1, -2.5, 1e300], dtype="<f8"))
    np.save(path("npy_i8.npy"), np.array([[-7], [0], [123456789012]], dtype="<i8"))
    np.save(path("npy_i4.npy"), np.array([1, -2, 2147483647], dtype="<i4"))
    np.save(path("npy_u1.npy"), np.arange(8, dtype="|u1").reshape(2, 2, 2) * 30)
    np.save(path("npy_b1.npy"), np.array([True, False, True]))
    np.save(path("npy_scalar.npy"), np.float64(2.5))
    np.save(path("npy_empty.npy"), np.zeros((0, 3), dtype="<f4"))
    with open(path("npy_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([[1.5, 2.5]], dtype="<f4"), version=(2, 0))
    # Unsupported: Fortran order, big-endian and half-precision dtypes.
    np.save(path("npy_fortran.npy"), np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    np.save(path("npy_big_endian.npy"), np.array([1.0, 2.0], dtype=">f4"))
    np.save(path("npy_f2.npy"), np.array([1.0, 2.0], dtype="<f2"))
    # A file cut short: the header promises 6 floats, 3 bytes are missing.
    with open(path("npy_f4.npy"), "rb") as f:
        data = f.read()
    with open(path("npy_truncated.npy"), "wb") as f:
        f.write(data[:-3])

    # CSV: a header line, Windows line ends and a blank line; plain numbers;
    # and two malformed files.
    with open(path("csv_header.csv"), "wb") as f:
        f.write(b"x, y, label\r\n1.5, -2, 0\r\n\r\n3, 4.25, 1\r\n")
    with open(path("csv_plain.csv"), "w") as f:
        f.write("1,2,3\n4,5,6\n")
    with open(path("csv_ragged.csv"), "w") as f:
        f.write("a,b\n1,2\n3\n")
    with open(path("csv_bad_number.csv"), "w") as f:
        f.write("1,2\n3,oops\n")

    # Model files (runtime/model_io.c): one record w: Tensor<Float> [2], then
    # the same cut inside the data.
    def record(name, kind, shape, payload):
        b = name.encode()
        return (struct.pack("<I", len(b)) + b + struct.pack("<BB", kind, len(shape)) +
                b"".join(struct.pack("<q", d) for d in shape) + payload)
    model = b"DLMODEL\0" + struct.pack("<II", 1, 1) + record("w", 0, [2], struct.pack("<ff", 1, 2))
    with open(path("model_truncated.bin"), "wb") as f:
        f.write(model[:-2])


if __name__ == "__main__":
    main()
