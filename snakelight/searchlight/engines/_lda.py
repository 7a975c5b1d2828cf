"""The fast lda, compiled: scikit-learn's LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto") sphere by sphere.

Per class: standardise, shrink the correlation matrix towards its mean eigenvalue with
the Ledoit-Wolf coefficient, scale back; the covariance is the prior-weighted sum over
classes, and the discriminant solves it (Cholesky) against the class means. A class's
training sums and scatter matrix in a fold are sums of its groups' (FoldDesign's
groups), computed once per sphere for all folds.
"""

import numpy as np
from numba import njit

from snakelight.searchlight.engines._newton import _cholesky_solve, _upper_cholesky


@njit(cache=True, nogil=True, error_model="numpy")
def lda_predictions(rows, index, sizes, group_start, membership, counts, train, train_start, test, test_start):
    """Predicted classes (b, n_tests) of the spheres ``index`` (b, K) (sphere s: the rows
    ``index[s, :sizes[s]]`` of ``rows`` (voxels, n), one row per voxel, samples in the
    design's order), fold after fold.

    Group g is samples ``group_start[g]:group_start[g + 1]``; ``membership`` (F, C, G)
    bool: group g is training data of class c in fold f; ``counts`` (F, C) float: the
    training classes' sizes; fold f's training samples are
    ``train[train_start[f]:train_start[f + 1]]``, its test samples likewise in ``test``.
    """
    n = rows.shape[1]
    F, C, G = membership.shape
    predicted = np.zeros((index.shape[0], test.size), dtype=np.intp)
    group_of = np.empty(n, dtype=np.intp)
    for g in range(G):
        group_of[group_start[g] : group_start[g + 1]] = g
    for s in range(index.shape[0]):
        K = sizes[s]
        x = np.empty((n, K))
        for k in range(K):
            x[:, k] = rows[index[s, k]]
        squares = x * x
        group_sum = np.zeros((G, K))
        group_scatter = np.empty((G, K, K))
        for g in range(G):
            block = x[group_start[g] : group_start[g + 1]]
            for i in range(block.shape[0]):
                group_sum[g] += block[i]
            group_scatter[g] = np.dot(block.T, block)
        for f in range(F):
            means = np.zeros((C, K))
            within = np.zeros((K, K))
            prior = counts[f] / counts[f].sum()
            for c in range(C):
                scatter = np.zeros((K, K))
                for g in range(G):
                    if membership[f, c, g]:
                        means[c] += group_sum[g]
                        scatter += group_scatter[g]
                means[c] /= counts[f, c]
                cov = scatter / counts[f, c] - np.outer(means[c], means[c])
                _add_shrunk(
                    within,
                    cov,
                    means[c],
                    x,
                    squares,
                    membership[f, c],
                    group_of,
                    train[train_start[f] : train_start[f + 1]],
                    counts[f, c],
                    prior[c],
                )
            factor = _upper_cholesky(within)
            intercept = np.log(prior)
            coef = np.empty((C, K))
            for c in range(C):
                coef[c] = means[c]
                _cholesky_solve(factor, coef[c])
                intercept[c] -= 0.5 * np.dot(means[c], coef[c])
            rows_f = test[test_start[f] : test_start[f + 1]]
            decisions = np.dot(x[rows_f], coef.T)  # (n_test, C)
            for j in range(rows_f.size):
                decision = decisions[j] + intercept
                if C == 2:
                    predicted[s, test_start[f] + j] = 1 if decision[1] - decision[0] > 0 else 0
                else:
                    predicted[s, test_start[f] + j] = np.argmax(decision)
    return predicted


@njit(cache=True, nogil=True, error_model="numpy")
def _add_shrunk(within, cov, mean, x, squares, in_class, group_of, train, n, prior):
    """Add to ``within`` (K, K) ``prior`` times one class's covariance ``cov`` (K, K)
    shrunk with its Ledoit-Wolf coefficient (sklearn.covariance.ledoit_wolf_shrinkage of
    the standardised class data z, whose covariance is cov_ij / (scale_i scale_j)) and
    scaled back. ``mean`` (K,): the class's; ``x``, ``squares`` (n, K): the samples and
    their squares; the class's training samples: the ``train`` whose group (``group_of``)
    is ``in_class``; ``n`` of them."""
    K = mean.size
    scale2 = np.empty(K)
    for k in range(K):  # StandardScaler leaves constant features unscaled
        scale2[k] = cov[k, k] if cov[k, k] > 0 else 1.0
    inverse = 1 / scale2
    trace = 0.0
    total = 0.0
    for k in range(K):
        trace += cov[k, k] * inverse[k]
        row = 0.0
        for h in range(K):
            row += cov[k, h] * cov[k, h] * inverse[h]
        total += row * inverse[k]
    # sum over the class's samples of |z_i|^4, |z_i|^2 = sum_k (x_ik^2 - 2 mean_k x_ik) / scale2_k + offset:
    # every sample's in two matrix-vector products, fewer calls than the class's alone.
    weights = -2 * mean * inverse
    offset = np.sum(mean * mean * inverse)
    norms = np.dot(squares, inverse) + np.dot(x, weights)
    fourth = 0.0
    for i in train:
        if in_class[group_of[i]]:
            norm = norms[i] + offset
            fourth += norm * norm
    mu = trace / K
    delta = (total - 2 * mu * trace + K * mu**2) / K
    beta = min((fourth / n - total) / (K * n), delta)
    shrinkage = 0.0 if beta == 0 else beta / (delta if delta != 0 else 1.0)
    within += (prior * (1 - shrinkage)) * cov
    for k in range(K):
        within[k, k] += prior * shrinkage * mu * scale2[k]
