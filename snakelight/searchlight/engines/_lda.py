"""The fast lda, compiled: scikit-learn's LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto") sphere by sphere.

Per class: standardise, shrink the correlation matrix towards its mean eigenvalue with
the Ledoit-Wolf coefficient, scale back; the covariance is the prior-weighted sum over
classes, and the discriminant solves it (Cholesky) against the class means. A class's
training sums and scatter matrix in a fold are its groups' (FoldDesign's groups): the
class's total over its groups, less those of its groups the fold leaves out, computed
once per sphere for all folds. The matrices are symmetric: only their lower triangles
are computed.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def lda_predictions(rows, index, sizes, group_start, membership, counts, test, test_start):
    """Predicted classes (b, n_tests) of the spheres ``index`` (b, K) (sphere s: the rows
    ``index[s, :sizes[s]]`` of ``rows`` (voxels, n), one row per voxel, samples in the
    design's order), fold after fold.

    Group g is samples ``group_start[g]:group_start[g + 1]``; ``membership`` (F, C, G)
    bool: group g is training data of class c in fold f; ``counts`` (F, C) float: the
    training classes' sizes; fold f's test samples are ``test[test_start[f]:test_start[f + 1]]``.
    """
    n = rows.shape[1]
    F, C, G = membership.shape
    predicted = np.zeros((index.shape[0], test.size), dtype=np.intp)
    # A class's groups: those in its training data in some fold.
    in_class = np.zeros((C, G), dtype=np.bool_)
    for f in range(F):
        in_class |= membership[f]
    for s in range(index.shape[0]):
        K = sizes[s]
        x = np.empty((n, K))
        for k in range(K):
            x[:, k] = rows[index[s, k]]
        # Per sample its squares, then its values: |z_i|^2 is one product with them.
        powers = np.empty((n, 2 * K))
        powers[:, :K] = x * x
        powers[:, K:] = x
        group_sum = np.zeros((G, K))
        group_scatter = np.empty((G, K, K))
        for g in range(G):
            block = x[group_start[g] : group_start[g + 1]]
            for i in range(block.shape[0]):
                group_sum[g] += block[i]
            group_scatter[g] = np.dot(block.T, block)
        class_sum = np.zeros((C, K))
        class_scatter = np.zeros((C, K, K))
        for c in range(C):
            for g in range(G):
                if in_class[c, g]:
                    class_sum[c] += group_sum[g]
                    _add_lower(class_scatter[c], group_scatter[g], 1.0)
        for f in range(F):
            means = np.empty((C, K))
            within = np.zeros((K, K))
            prior = counts[f] / counts[f].sum()
            for c in range(C):
                scatter = class_scatter[c].copy()
                means[c] = class_sum[c]
                for g in range(G):
                    if in_class[c, g] and not membership[f, c, g]:
                        means[c] -= group_sum[g]
                        _add_lower(scatter, group_scatter[g], -1.0)
                means[c] /= counts[f, c]
                _add_shrunk(within, scatter, means[c], powers, group_start, membership[f, c], counts[f, c], prior[c])
            # LAPACK's potrf reads only within's lower triangle (numba hands it the C array as
            # Fortran's upper one).
            lower = np.linalg.cholesky(within)
            rows_f = test[test_start[f] : test_start[f + 1]]
            if C == 2:
                # sklearn's binary decision: x.(coef_1 - coef_0) + intercept_1 - intercept_0,
                # coef_c = within^-1 mean_c, intercept_c = log prior_c - mean_c.coef_c / 2.
                whitened = means.copy()  # L^-1 mean_c: mean_c.coef_c = |L^-1 mean_c|^2
                _forward(lower, whitened[0])
                _forward(lower, whitened[1])
                coef = whitened[1] - whitened[0]
                _backward(lower, coef)
                intercept = np.log(prior[1] / prior[0]) - 0.5 * (
                    np.dot(whitened[1], whitened[1]) - np.dot(whitened[0], whitened[0])
                )
                decisions = np.dot(x[rows_f], coef)
                for j in range(rows_f.size):
                    predicted[s, test_start[f] + j] = 1 if decisions[j] + intercept > 0 else 0
            else:
                coef = means.copy()
                intercept = np.log(prior)
                for c in range(C):
                    _forward(lower, coef[c])
                    intercept[c] -= 0.5 * np.dot(coef[c], coef[c])
                    _backward(lower, coef[c])
                decisions = np.dot(x[rows_f], coef.T)  # (n_test, C)
                for j in range(rows_f.size):
                    predicted[s, test_start[f] + j] = np.argmax(decisions[j] + intercept)
    return predicted


@njit(cache=True, nogil=True, error_model="numpy")
def _add_lower(out, a, factor):
    """out += factor * a on the lower triangle of (K, K) ``out``."""
    for k in range(out.shape[0]):
        out_row, a_row = out[k, : k + 1], a[k, : k + 1]
        for h in range(k + 1):
            out_row[h] += factor * a_row[h]


@njit(cache=True, nogil=True, error_model="numpy")
def _add_shrunk(within, scatter, mean, powers, group_start, in_class, n, prior):
    """Add to ``within``'s lower triangle (K, K) ``prior`` times one class's covariance
    cov = scatter / n - mean mean^T (``scatter``, lower triangle: the class's sum of x x^T
    over its ``n`` training samples; ``mean`` (K,)), shrunk with its Ledoit-Wolf coefficient
    (sklearn.covariance.ledoit_wolf_shrinkage of the standardised class data z, whose
    covariance is cov_ij / (scale_i scale_j)) and scaled back. ``powers`` (n_samples, 2K):
    each sample's squares, then its values; the class's training samples: the groups g
    (``group_start``) where ``in_class``. ``scatter`` is overwritten with cov."""
    K = mean.size
    for k in range(K):
        row, mean_k = scatter[k, : k + 1], mean[k]
        for h in range(k + 1):
            row[h] = row[h] / n - mean_k * mean[h]
    cov = scatter
    scale2 = np.empty(K)
    for k in range(K):  # StandardScaler leaves constant features unscaled
        scale2[k] = cov[k, k] if cov[k, k] > 0 else 1.0
    inverse = 1 / scale2
    trace = 0.0
    total = 0.0  # sum_kh cov_kh^2 / (scale2_k scale2_h), from the lower triangle
    for k in range(K):
        trace += cov[k, k] * inverse[k]
        off_diagonal = _weighted_squares(cov[k, :k], inverse[:k])
        total += (2 * off_diagonal + cov[k, k] * cov[k, k] * inverse[k]) * inverse[k]
    # sum over the class's samples of |z_i|^4, |z_i|^2 = sum_k (x_ik^2 - 2 mean_k x_ik) / scale2_k + offset
    weights = np.empty(2 * K)
    weights[:K] = inverse
    weights[K:] = -2 * mean * inverse
    offset = np.sum(mean * mean * inverse)
    fourth = 0.0
    for g in range(in_class.size):
        if in_class[g]:
            norms = np.dot(powers[group_start[g] : group_start[g + 1]], weights)
            for norm in norms:
                fourth += (norm + offset) * (norm + offset)
    mu = trace / K
    delta = (total - 2 * mu * trace + K * mu**2) / K
    beta = min((fourth / n - total) / (K * n), delta)
    shrinkage = 0.0 if beta == 0 else beta / (delta if delta != 0 else 1.0)
    kept = prior * (1 - shrinkage)
    for k in range(K):
        within_row, cov_row = within[k, : k + 1], cov[k, : k + 1]
        for h in range(k + 1):
            within_row[h] += kept * cov_row[h]
        within[k, k] += prior * shrinkage * mu * scale2[k]


# Reassociated: the sums run in vector lanes, in an order of their own (roundings only).
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _weighted_squares(values, weights):
    """sum_h values_h^2 weights_h over (k,) ``values`` and ``weights``."""
    total = 0.0
    for h in range(values.size):
        total += values[h] * values[h] * weights[h]
    return total


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _dot(a, b):
    """sum_h a_h b_h over (k,) ``a`` and ``b`` (0 when k is 0)."""
    total = 0.0
    for h in range(a.size):
        total += a[h] * b[h]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _forward(lower, r):
    """Solve L z = r in place, L = ``lower`` (K, K) lower triangular, r (K,)."""
    for k in range(r.size):
        r[k] = (r[k] - _dot(lower[k, :k], r[:k])) / lower[k, k]


@njit(cache=True, nogil=True, error_model="numpy")
def _backward(lower, r):
    """Solve L^T x = r in place, L = ``lower`` (K, K) lower triangular, r (K,)."""
    for k in range(r.size - 1, -1, -1):
        r[k] /= lower[k, k]
        solved, row = r[k], lower[k]
        for h in range(k):
            r[h] -= solved * row[h]
