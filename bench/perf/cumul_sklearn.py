#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""sklearn's side of bench/perf/cumul_sklearn.sh: CUMUL's features as wfbench
exported them (F.npy, F.labels.npy, F.folds.npy), the same outer folds, scaled
to [-1, 1] on each training set, an RBF SVC whose C and gamma GridSearchCV picks
on the same grid with the same number of stratified inner folds, then the held-out
fold predicted. Prints one line: seconds (fit + predict, all folds) and accuracy.

    cumul_sklearn.py F.npy INNER_FOLDS JOBS GRID_STEP SEED
"""
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC


def axis(lo, hi, step):
    """2^lo..2^hi by step in the exponent, hi included (cumul.c's grid_axis)."""
    exps = list(range(lo, hi, step)) + [hi]
    return [2.0 ** e for e in exps]


def main():
    path, inner, jobs, step, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    base = path[:-len(".npy")]
    X = np.load(path)
    y = np.load(base + ".labels.npy")
    folds = np.load(base + ".folds.npy")
    grid = {"C": axis(11, 17, step), "gamma": axis(-3, 3, step)}
    right = 0
    t0 = time.monotonic()
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        scale = MinMaxScaler(feature_range=(-1, 1)).fit(X[tr])
        search = GridSearchCV(SVC(kernel="rbf", tol=1e-3, shrinking=True),
                              grid, n_jobs=jobs,
                              cv=StratifiedKFold(inner, shuffle=True, random_state=seed))
        search.fit(scale.transform(X[tr]), y[tr])
        right += int((search.predict(scale.transform(X[te])) == y[te]).sum())
    secs = time.monotonic() - t0
    print("%.3f %.4f %s" % (secs, right / len(y),
                            ",".join("%s=%g" % kv for kv in sorted(search.best_params_.items()))))


if __name__ == "__main__":
    main()
