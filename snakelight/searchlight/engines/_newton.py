"""The fast svc's solver, compiled: LinearSVC's objective (squared hinge, C, regularised
intercept) minimised exactly, sphere by sphere, by a finite Newton method.

For a fixed set V of margin violators the objective is the quadratic
1/2 |w|^2 + C sum_{i in V} (1 - y_i w.x_i)^2, minimised by solving H w = 2C X_V^T y_V with
H = I + 2C X_V^T X_V. Work shared by a sphere's folds is done once: the scatter
matrix x_g^T x_g of each group of samples (FoldDesign's groups), whose sums are the
folds' training Grams. Each fold starts from every training sample violating (a ridge
regression: one Cholesky factorisation of I + 2C Gram); as the violators change, the
factor follows by rank-one updates (a sample that starts violating) and downdates (one
that stops), O(D^2) each, or, when many change at once, is factorised afresh.
"""

import numpy as np
from numba import njit

# Refactorise rather than update when more than D / REFACTOR_SHARE samples change: a
# factorisation with its Hessian costs about as much as D / 3 updates (measured at 124
# features: 0.06 ms for the factorisation, 0.004 ms an update; shares 3 and 6 timed alike).
REFACTOR_SHARE = 3


@njit(cache=True, nogil=True, error_model="numpy")
def svc_predictions(
    rows, index, sizes, sign, group_start, fold_groups, train, train_start, test, test_start, C, tie, max_iter
):
    """Predicted classes (b, n_tests) of the spheres ``index`` (b, K) (sphere s: the rows
    ``index[s, :sizes[s]]`` of ``rows`` (voxels, n), one row per voxel, samples in the
    design's order), fold after fold, and the number of (sphere, fold) problems that did
    not converge in ``max_iter`` Newton steps.

    ``sign`` (n,): +1 / -1 per sample; group g is samples ``group_start[g]:group_start[g + 1]``;
    ``fold_groups`` (F, G) bool: fold f trains on group g; fold f's training samples are
    ``train[train_start[f]:train_start[f + 1]]``, its test samples likewise in ``test``.
    """
    n = rows.shape[1]
    b = index.shape[0]
    F, G = fold_groups.shape
    predicted = np.zeros((b, test.size), dtype=np.intp)
    failed = 0
    for s in range(b):
        D = sizes[s] + 1  # the voxels and the intercept's constant feature
        x = np.ones((n, D))
        for k in range(D - 1):
            x[:, k] = rows[index[s, k]]
        scatter = np.empty((G, D, D))
        target = np.empty((G, D))
        for g in range(G):
            block = x[group_start[g] : group_start[g + 1]]
            scatter[g] = np.dot(block.T, block)
            target[g] = np.dot(sign[group_start[g] : group_start[g + 1]], block)
        for f in range(F):
            gram = np.zeros((D, D))
            rhs = np.zeros(D)
            for g in range(G):
                if fold_groups[f, g]:
                    gram += scatter[g]
                    rhs += target[g]
            rows_f = train[train_start[f] : train_start[f + 1]]
            w, converged = newton(x[rows_f], sign[rows_f], gram, rhs, C, tie, max_iter)
            failed += not converged
            for j in range(test_start[f], test_start[f + 1]):
                predicted[s, j] = 1 if np.dot(x[test[j]], w) > 0 else 0
    return predicted, failed


@njit(cache=True, nogil=True, error_model="numpy")
def newton(x, y, gram, target, C, tie, max_iter):
    """The minimiser (D,) of 1/2 |w|^2 + C sum_i max(0, 1 - y_i w.x_i)^2 over the samples
    ``x`` (m, D) with ``y`` (m,) = +1 / -1, ``gram`` = x^T x and ``target`` = x^T y; and
    whether it converged.

    Each step goes to the minimiser of the current violators' quadratic, shortened by an
    exact line search where that would increase the objective; it stops at a full step
    after which the violators are the same (samples within ``tie`` of their margin may
    count either way: they add nothing to either quadratic).
    """
    m, D = x.shape
    two_c = 2 * C
    hessian = two_c * gram
    for k in range(D):
        hessian[k, k] += 1
    factor = _upper_cholesky(hessian)
    w = two_c * target
    _cholesky_solve(factor, w)
    used = np.ones(m, dtype=np.bool_)  # the violators whose quadratic ``factor`` holds
    minimises = True  # False after a shortened step
    weights = np.empty(m)
    for _ in range(max_iter):
        margin = y * np.dot(x, w)
        violators = margin < 1
        changed = 0
        optimal = minimises
        for i in range(m):
            if violators[i] != used[i]:
                changed += 1
                if abs(margin[i] - 1) >= tie:
                    optimal = False
        if optimal:
            return w, True
        refactor = changed * REFACTOR_SHARE > D
        if not refactor:
            # Samples that start violating first: downdates after them stay further from
            # indefinite.
            changes = np.empty(changed, dtype=np.intp)
            added = 0
            for i in range(m):
                if violators[i] and not used[i]:
                    changes[added] = i
                    added += 1
            at = added
            for i in range(m):
                if used[i] and not violators[i]:
                    changes[at] = i
                    at += 1
            signs = np.where(np.arange(changed) < added, 1.0, -1.0)
            # False: a downdate lost positive definiteness to rounding.
            refactor = not _rank_updates(factor, np.sqrt(two_c) * x[changes], signs)
        if refactor:
            factor = _upper_cholesky(_hessian(x, violators, gram, two_c))
        for i in range(m):
            weights[i] = two_c * y[i] if violators[i] else 0.0
        step = np.dot(weights, x)
        _cholesky_solve(factor, step)
        step -= w
        t = _line_search(1 - margin, y * np.dot(x, step), w, step, C, max_iter)
        w += t * step
        used[:] = violators
        minimises = t == 1
    return w, False


@njit(cache=True, nogil=True, error_model="numpy")
def _hessian(x, violators, gram, two_c):
    """I + 2C x_V^T x_V (D, D) for the rows V of ``x`` (m, D) where ``violators``; from the
    violators' rows, or from ``gram`` (x^T x) less the others', whichever are fewer."""
    count = np.count_nonzero(violators)
    others = count > x.shape[0] // 2
    rows = np.flatnonzero(~violators if others else violators)
    part = x[rows]
    product = np.dot(part.T, part)
    hessian = two_c * (gram - product) if others else two_c * product
    for k in range(x.shape[1]):
        hessian[k, k] += 1
    return hessian


@njit(cache=True, nogil=True, error_model="numpy")
def _upper_cholesky(a):
    """U (D, D), upper triangular, with a = U^T U, rows contiguous (the updates run along them)."""
    return np.ascontiguousarray(np.linalg.cholesky(a).T)


@njit(cache=True, nogil=True, error_model="numpy")
def _rank_updates(factor, vectors, signs):
    """Update U (D, D) in place so that U^T U gains sign_j v_j v_j^T for each row v_j of
    ``vectors`` (k, D; overwritten) and ``signs`` (k,) +1 / -1, in that order; False where
    a downdate would leave it indefinite (U is then spoilt).

    Row by row of U, every vector in turn: the arithmetic of k rank-one updates one after
    the other (rotations, hyperbolic for a downdate), with U's row kept in cache while
    the vectors pass it. Row k's diagonal after vector j is the square root of its square
    plus sign_j' v_j'[k]^2 for j' <= j: a running sum, so the k square roots and
    divisions, the slow operations, do not wait for each other.
    """
    D = factor.shape[0]
    count = vectors.shape[0]
    inverse_c = np.empty(count)  # diagonal before / after, per vector
    s = np.empty(count)  # v_j[k] / diagonal after
    for k in range(D):
        square = factor[k, k] * factor[k, k]
        for j in range(count):
            square += signs[j] * vectors[j, k] * vectors[j, k]
            if square <= 0:
                return False
            inverse_c[j] = square  # the diagonal's square after vector j, for now
        previous = factor[k, k]
        for j in range(count):
            r = np.sqrt(inverse_c[j])
            inverse_c[j] = previous / r
            s[j] = vectors[j, k] / r
            previous = r
        factor[k, k] = previous
        row = factor[k, k + 1 :]
        for j in range(count):
            rest = vectors[j, k + 1 :]
            a, b, sign_b = inverse_c[j], s[j], signs[j] * s[j]
            for i in range(row.size):  # c^2 -/+ s^2 = 1 leaves products only: vectorised
                old = row[i]
                row[i] = a * old + sign_b * rest[i]
                rest[i] = a * rest[i] - b * old
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky_solve(factor, r):
    """Solve U^T U x = r in place, U = ``factor`` (D, D) upper triangular, r (D,)."""
    D = r.size
    for k in range(D):  # U^T z = r, by columns of U^T: rows of U
        r[k] /= factor[k, k]
        for i in range(k + 1, D):
            r[i] -= r[k] * factor[k, i]
    for k in range(D - 1, -1, -1):  # U x = z
        total = r[k]
        for i in range(k + 1, D):
            total -= factor[k, i] * r[i]
        r[k] = total / factor[k, k]


@njit(cache=True, nogil=True, error_model="numpy")
def _line_search(base, slope, w, step, C, max_iter):
    """The step length t: 1 (the full Newton step) unless it increases the objective, else
    argmin_t f(w + t step), found by Newton's method on that convex piecewise quadratic
    until its set of violators stops changing. ``base`` and ``slope`` (m,): 1 - y_i w.x_i
    and y_i step.x_i."""
    two_c = 2 * C
    w_step, step_step = np.dot(w, step), np.dot(step, step)
    start = 0.5 * np.dot(w, w) + C * _squared_hinge(base, slope, 0.0)
    full = 0.5 * (np.dot(w, w) + 2 * w_step + step_step) + C * _squared_hinge(base, slope, 1.0)
    if full <= start + 1e-12 * abs(start):
        return 1.0
    t = 1.0
    active = base - slope > 0
    for _ in range(max_iter):
        gradient, curvature = w_step + t * step_step, step_step
        for i in range(base.size):
            if active[i]:
                gradient -= two_c * (base[i] - t * slope[i]) * slope[i]
                curvature += two_c * slope[i] * slope[i]
        t -= gradient / curvature
        same = True
        for i in range(base.size):
            now = base[i] - t * slope[i] > 0
            if now != active[i]:
                same = False
                active[i] = now
        if same:
            break
    return t


@njit(cache=True, nogil=True, error_model="numpy")
def _squared_hinge(base, slope, t):
    """sum_i max(0, base_i - t slope_i)^2."""
    total = 0.0
    for i in range(base.size):
        z = base[i] - t * slope[i]
        if z > 0:
            total += z * z
    return total
