"""Writes eb_pc5.npz: the first 5 principal components of the embryoid-body validation and test
splits (NLSB's preparation, MIT licence; see ../shared/data/README.md), so that the `embryoid`
example runs from a fresh clone. Standardisation is per dimension, so standardising these 5
columns with the validation split's statistics equals NLSB's "standardise all 100, keep 5".

    python3 examples/data/make_eb_pc5.py ../shared/data/eb examples/data/eb_pc5.npz
"""
import sys

import numpy as np

src, dst = sys.argv[1], sys.argv[2]
val = np.load(f"{src}/val_rna.npz")
test = np.load(f"{src}/test_rna.npz")
np.savez(
    dst,
    val_X=val["X"][:, :5].astype(np.float64),
    val_ts=val["ts"].astype(np.int64),
    test_X=test["X"][:, :5].astype(np.float64),
    test_ts=test["ts"].astype(np.int64),
)
print(dst, val["X"].shape, test["X"].shape)
