"""Condition patterns per run, and the residuals that noise normalisation reads.

From samples ``X`` (n_samples, n_voxels) with a condition label and a run per sample:
the mean pattern of each condition in each run, and each sample minus its condition-run
mean. Conditions are sorted (rsatoolbox sorts an RDM's conditions the same way), so pair
k of every RDM is the same two conditions wherever it is computed.
"""

from typing import NamedTuple

import numpy as np
from scipy import sparse


class Patterns(NamedTuple):
    """``conditions`` (C,) and ``runs`` (R,) sorted; ``means`` (R, C, V) the condition
    means per run; ``counts`` (R, C) the samples behind each; ``residuals`` (N, V) each
    sample minus its condition-run mean; ``dof`` the residuals' degrees of freedom,
    N minus the C*R means taken out."""

    conditions: np.ndarray
    runs: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    residuals: np.ndarray
    dof: int

    def condition_means(self):
        """(C, V): the mean of all samples of each condition, whatever their run (what
        rsatoolbox's ``average_dataset_by`` gives for correlation and Euclidean RDMs)."""
        totals = np.einsum("rc,rcv->cv", self.counts, self.means)
        return totals / self.counts.sum(axis=0)[:, None]


def condition_patterns(X, labels, runs):
    """The :class:`Patterns` of samples ``X`` (N, V) labelled ``labels`` (N,) in ``runs`` (N,).

    Every condition must have samples in every run (cross-validation over runs needs a
    pattern of each condition in each fold)."""
    X = np.asarray(X, dtype=np.float64)
    labels, runs = np.asarray(labels), np.asarray(runs)
    if X.ndim != 2 or not len(labels) == len(runs) == len(X):
        raise ValueError(
            f"X must be (samples, voxels) with one label and one run per sample: X {X.shape}, "
            f"{len(labels)} labels, {len(runs)} runs"
        )
    conditions, condition = np.unique(labels, return_inverse=True)
    run_values, run = np.unique(runs, return_inverse=True)
    if len(conditions) < 2:
        raise ValueError(f"an RDM needs at least 2 conditions, got {list(conditions)}")
    cell = run * len(conditions) + condition
    counts = np.bincount(cell, minlength=len(run_values) * len(conditions))
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        r, c = np.divmod(missing[0], len(conditions))
        raise ValueError(
            f"condition '{conditions[c]}' has no sample in run {run_values[r]}: every "
            "condition needs samples in every run (drop the condition or the run)"
        )
    # Sums per cell as one sparse product (np.add.at is an order of magnitude slower).
    onehot = sparse.csr_matrix((np.ones(len(X)), (cell, np.arange(len(X)))), shape=(len(counts), len(X)))
    means = (onehot @ X) / counts[:, None]
    residuals = X - means[cell]
    shape = (len(run_values), len(conditions))
    return Patterns(
        conditions=conditions,
        runs=run_values,
        means=means.reshape(*shape, X.shape[1]),
        counts=counts.reshape(shape),
        residuals=residuals,
        dof=len(X) - len(counts),
    )
