"""RDMs of many searchlight spheres at once: correlation, Euclidean and crossnobis.

Each distance is rsatoolbox 0.3.2's ``calc_rdm`` on the sphere's voxels (the formulas are
in docs/explanation/rsa.md); RDMs are (n_spheres, n_pairs) with the pairs in rsatoolbox's
order, the upper triangle row by row (:func:`pairs`). Spheres are lists of sorted voxel
columns, as snakelight.searchlight.spheres makes them.

Where a distance is a sum over voxels of per-voxel terms (crossnobis without noise
normalisation or with univariate normalisation) the terms are computed once per voxel and
each sphere's RDM is one row of a sparse product. Correlation and Euclidean RDMs need the
sphere's own pattern means and norms, so a compiled loop computes them sphere by sphere;
multivariate noise normalisation needs each sphere's own precision matrix.
"""

from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import sparse

METHODS = ("correlation", "euclidean", "crossnobis")
NOISE = ("none", "univariate", "shrinkage_diag", "shrinkage_eye")


class Spheres(NamedTuple):
    """Spheres in compressed form: sphere s is ``indices[indptr[s]:indptr[s + 1]]``."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def of(cls, spheres):
        """From a list of column-index arrays (or a Spheres, returned as it is)."""
        if isinstance(spheres, cls):
            return spheres
        sizes = np.array([len(s) for s in spheres], dtype=np.intp)
        if sizes.size == 0 or sizes.min() == 0:
            raise ValueError("spheres must be a non-empty list of non-empty voxel index arrays")
        indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        return cls(indptr, np.concatenate(spheres).astype(np.intp))

    @property
    def sizes(self):
        return np.diff(self.indptr)

    def __len__(self):
        return len(self.indptr) - 1

    def membership(self, n_voxels):
        """(n_spheres, n_voxels) sparse 0/1 matrix: row s marks sphere s's voxels."""
        data = np.ones(len(self.indices))
        return sparse.csr_matrix((data, self.indices, self.indptr), shape=(len(self), n_voxels))


def pairs(n_conditions):
    """(rows, cols) of the condition pairs in rsatoolbox's order (upper triangle, row-major)."""
    return np.triu_indices(n_conditions, 1)


def square(rdm):
    """(..., C, C) symmetric matrices with zero diagonals from (..., n_pairs) vectors."""
    rdm = np.asarray(rdm)
    n = int(round((1 + np.sqrt(1 + 8 * rdm.shape[-1])) / 2))
    rows, cols = pairs(n)
    out = np.zeros((*rdm.shape[:-1], n, n))
    out[..., rows, cols] = rdm
    out[..., cols, rows] = rdm
    return out


@njit(cache=True)
def _pattern_rdms(means, indptr, indices, correlation):
    """Correlation (1 - r) or squared Euclidean / n_voxels RDMs of every sphere.

    means (C, V) condition patterns; indptr (S + 1,), indices (nnz,) the spheres;
    returns (S, C * (C - 1) / 2). Patterns are centred before the inner products (over
    voxels for correlation, as rsatoolbox does; over conditions for Euclidean, which
    leaves distances unchanged and avoids cancellation)."""
    n_cond = means.shape[0]
    n_spheres = len(indptr) - 1
    out = np.empty((n_spheres, n_cond * (n_cond - 1) // 2))
    for s in range(n_spheres):
        voxels = indices[indptr[s] : indptr[s + 1]]
        n = len(voxels)
        sub = np.empty((n_cond, n))
        for c in range(n_cond):
            for k in range(n):
                sub[c, k] = means[c, voxels[k]]
        if correlation:
            for c in range(n_cond):
                sub[c] -= sub[c].mean()
                sub[c] /= np.sqrt(np.dot(sub[c], sub[c]))
        else:
            for k in range(n):
                sub[:, k] -= sub[:, k].mean()
        gram = sub @ sub.T
        p = 0
        for i in range(n_cond):
            for j in range(i + 1, n_cond):
                if correlation:
                    out[s, p] = 1.0 - gram[i, j]
                else:
                    out[s, p] = (gram[i, i] + gram[j, j] - 2.0 * gram[i, j]) / n
                p += 1
    return out


def correlation_rdms(patterns, spheres):
    """(n_spheres, n_pairs) correlation distances (1 - Pearson r over the sphere's
    voxels) between the condition means, as rsatoolbox's ``calc_rdm(method="correlation")``."""
    spheres = Spheres.of(spheres)
    return _pattern_rdms(patterns.condition_means(), spheres.indptr, spheres.indices, True)


def euclidean_rdms(patterns, spheres):
    """(n_spheres, n_pairs) squared Euclidean distances divided by the number of voxels,
    as rsatoolbox's ``calc_rdm(method="euclidean")``."""
    spheres = Spheres.of(spheres)
    return _pattern_rdms(patterns.condition_means(), spheres.indptr, spheres.indices, False)


def _folds(patterns):
    """(train, test), each (R, C, V): fold r tests run r's means against the mean of the
    samples of the other runs (rsatoolbox's leave-one-run-out ``average_dataset_by``)."""
    counts = patterns.counts[:, :, None]
    sums = patterns.means * counts
    train = (sums.sum(axis=0) - sums) / (counts.sum(axis=0) - counts)
    return train, patterns.means


def univariate_precision(patterns, dof=None):
    """(V,) 1 / residual variance per voxel: the diagonal of rsatoolbox's
    ``prec_from_residuals(residuals, dof, method="diag")`` (``dof`` default: the residuals')."""
    residuals = patterns.residuals - patterns.residuals.mean(axis=0)
    return (dof or patterns.dof) / np.einsum("nv,nv->v", residuals, residuals)


def crossnobis_rdms(patterns, spheres, noise="none", dof=None):
    """(n_spheres, n_pairs) crossnobis distances, cross-validated leave one run out, as
    rsatoolbox's ``calc_rdm(method="crossnobis", descriptor=condition, cv_descriptor=run,
    noise=precision)`` with the sphere's precision from ``prec_from_residuals(residuals,
    dof, method)``: ``noise`` is "none" (identity), "univariate" (method "diag"),
    "shrinkage_diag" or "shrinkage_eye"."""
    if noise not in NOISE:
        raise ValueError(f"rsa noise must be one of {', '.join(NOISE)}, got {noise!r}")
    spheres = Spheres.of(spheres)
    train, test = _folds(patterns)
    n_runs, n_cond, n_voxels = test.shape
    if n_runs < 2:
        raise ValueError("crossnobis needs at least 2 runs (it cross-validates over runs)")
    if noise != "none" and (dof or patterns.dof) < 1:
        raise ValueError(
            f"rsa noise {noise!r} needs residuals, but every condition has one sample per run: "
            "use noise 'none', several samples per condition and run, or the residuals of the GLM "
            "that estimated them (the bids source's samples.glm.estimate condition saves them)"
        )
    if noise in ("none", "univariate"):
        rows, cols = pairs(n_cond)
        # Per voxel and pair, the sum over folds of (train_i - train_j) * (test_i - test_j),
        # from the per-voxel (C, C) products q[v, i, j] = sum over folds of train_i * test_j.
        q = np.ascontiguousarray(train.transpose(2, 1, 0)) @ np.ascontiguousarray(test.transpose(2, 0, 1))
        terms = q[:, rows, rows] + q[:, cols, cols] - q[:, rows, cols] - q[:, cols, rows]
        if noise == "univariate":
            terms *= univariate_precision(patterns, dof)[:, None]
        sums = spheres.membership(n_voxels) @ terms
        return sums / (n_runs * spheres.sizes[:, None])
    residuals_t = np.ascontiguousarray((patterns.residuals - patterns.residuals.mean(axis=0)).T)
    train, test = (np.ascontiguousarray(x.transpose(2, 1, 0)) for x in (train, test))
    diagonal_target = noise == "shrinkage_diag"
    dof = float(dof or patterns.dof)
    return _crossnobis_shrinkage(residuals_t, train, test, spheres.indptr, spheres.indices, dof, diagonal_target)


@njit(cache=True)
def _shrunk_covariance(e, n, dof, diagonal_target):
    """rsatoolbox's ``_covariance_diag`` (``diagonal_target``) or ``_covariance_eye`` of the
    column-centred residuals, given transposed: e (p, n); returns the shrunk (p, p) covariance.

    Both need sums of (E*E)'(E*E) alone, and sum over i != j of (E*E)'(E*E)[i, j] w_i w_j
    is sum over samples t of (sum_i e_ti^2 w_i)^2 - sum_i (e_ti^2 w_i)^2: O(n p), not the
    O(n p^2) of the product."""
    p = e.shape[0]
    gram = e @ e.T
    e_sq = e * e
    if diagonal_target:
        s = gram / dof
        var = np.diag(s).copy()
        w = e_sq / var.reshape(-1, 1)
        # off-diagonal sums of s2_mean = (E*E)'(E*E) / (var_i var_j) / (n - 1) and s_mean^2
        s2_off = (np.sum(w.sum(axis=0) ** 2) - np.sum(w * w)) / (n - 1)
        s_mean_sq = gram**2 / np.outer(var, var) / (n - 1) ** 2
        s_mean_sq_off = s_mean_sq.sum() - np.trace(s_mean_sq)
        lamb = n / dof**2 * (s2_off - s_mean_sq_off) / s_mean_sq_off
        lamb = min(max(lamb, 0.0), 1.0)
        out = s * (1.0 - lamb)
        for i in range(p):
            out[i, i] = s[i, i]
        return out
    s = gram / n
    b2 = (np.sum(e_sq.sum(axis=0) ** 2) / n - np.sum(s * s)) / n
    m = np.trace(s) / p
    d2 = np.sum((s - m * np.eye(p)) ** 2)
    b2 = min(d2, b2)
    return (b2 / d2 * m * np.eye(p) + (d2 - b2) / d2 * s) * n / dof


@njit(cache=True)
def _crossnobis_shrinkage(residuals_t, train, test, indptr, indices, dof, diagonal_target):
    """Crossnobis with each sphere's shrunk precision matrix.

    residuals_t (V, N) the column-centred residuals, transposed; train, test (V, C, R) the
    fold patterns, voxel by voxel (a sphere's rows are gathered whole); indptr (S + 1,),
    indices (nnz,) the spheres; returns (S, n_pairs)."""
    n = residuals_t.shape[1]
    _, n_cond, n_runs = train.shape
    out = np.empty((len(indptr) - 1, n_cond * (n_cond - 1) // 2))
    for s in range(len(indptr) - 1):
        voxels = indices[indptr[s] : indptr[s + 1]]
        p = len(voxels)
        e = np.empty((p, n))
        a = np.empty((p, n_cond, n_runs))
        b = np.empty((p, n_cond, n_runs))
        for k in range(p):
            e[k] = residuals_t[voxels[k]]
            a[k] = train[voxels[k]]
            b[k] = test[voxels[k]]
        # precision @ train patterns, by a solve rather than rsatoolbox's inverse
        whitened = np.linalg.solve(_shrunk_covariance(e, n, dof, diagonal_target), a.reshape(p, -1))
        whitened = np.ascontiguousarray(whitened).reshape(p, n_cond, n_runs)
        # kernel[i, j] = sum over folds r of train_r[i] @ precision @ test_r[j]
        kernel = np.zeros((n_cond, n_cond))
        for k in range(p):
            for i in range(n_cond):
                for j in range(n_cond):
                    for r in range(n_runs):
                        kernel[i, j] += whitened[k, i, r] * b[k, j, r]
        q = 0
        for i in range(n_cond):
            for j in range(i + 1, n_cond):
                out[s, q] = (kernel[i, i] + kernel[j, j] - kernel[i, j] - kernel[j, i]) / (n_runs * p)
                q += 1
    return out


def rdms(patterns, spheres, method="correlation", noise="none", dof=None):
    """(n_spheres, n_pairs) RDMs of ``method`` (one of METHODS); ``noise`` and ``dof``
    apply to crossnobis only."""
    if method == "correlation":
        return correlation_rdms(patterns, spheres)
    if method == "euclidean":
        return euclidean_rdms(patterns, spheres)
    if method == "crossnobis":
        return crossnobis_rdms(patterns, spheres, noise, dof)
    raise ValueError(f"rsa method must be one of {', '.join(METHODS)}, got {method!r}")
