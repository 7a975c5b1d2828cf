"""liblinear's solver for LinearSVC's primal problem, compiled with numba, operation for
operation, so that its coefficients equal liblinear's bit for bit.

LinearSVC (nilearn's 'svc') fits min_w 1/2 |w|^2 + sum_i C_i max(0, 1 - y_i w.x_i)^2 with
liblinear's trust-region Newton method (TRON), which stops at a tolerance: its answer
depends on every rounding on the way, so only the same operations in the same order give
nilearn's accuracies. This module repeats scikit-learn 1.9's liblinear (``tron.cpp``, and
``l2r_l2_svc_fun``, ``train`` and ``train_one`` in ``linear.cpp``; LIBLINEAR, Copyright
(c) 2007-2014 The LIBLINEAR Project, BSD-3-Clause): the same sums in the same order, with
the same BLAS functions (scipy's, which scikit-learn calls) for the vector operations.
What it saves is liblinear's per-element indirection through sparse feature nodes, the
Python around each fit, and all allocations; one call scores a sphere's every fold.

``tests/test_engines.py`` compares its coefficients with liblinear's on thousands of
problems and fails the day scikit-learn's liblinear changes.
"""

import math

import llvmlite.binding
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

# scipy's BLAS, bound by symbol name rather than by address so that numba can cache the
# compiled code on disk (an address baked into it would change from process to process).
_VOID = types.voidptr
_BLAS = {
    "ddot": types.float64(_VOID, _VOID, _VOID, _VOID, _VOID),
    "dnrm2": types.float64(_VOID, _VOID, _VOID),
    "daxpy": types.void(_VOID, _VOID, _VOID, _VOID, _VOID, _VOID),
    "dscal": types.void(_VOID, _VOID, _VOID, _VOID),
}
for _name in _BLAS:
    llvmlite.binding.add_symbol(f"snakelight_{_name}", get_cython_function_address("scipy.linalg.cython_blas", _name))
_ddot, _dnrm2, _daxpy, _dscal = (
    types.ExternalFunction(f"snakelight_{name}", signature) for name, signature in _BLAS.items()
)

# TRON's constants: step acceptance (eta) and trust-region updates (sigma).
_ETA0, _ETA1, _ETA2 = 1e-4, 0.25, 0.75
_SIGMA1, _SIGMA2, _SIGMA3 = 0.25, 0.5, 4.0


@njit(cache=True)
def _min(x, y):
    return x if x < y else y  # C's min template: ties give y


@njit(cache=True)
def _max(x, y):
    return x if x > y else y


# Fortran BLAS takes every argument by pointer: ``ints`` holds (n, 1), ``scalar`` the
# scalar of an axpy or scal.
@njit(cache=True)
def _dot(ints, x, y):
    return _ddot(ints[0:].ctypes, x.ctypes, ints[1:].ctypes, y.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _nrm2(ints, x):
    return _dnrm2(ints[0:].ctypes, x.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _axpy(ints, scalar, alpha, x, y):
    """y += alpha x"""
    scalar[0] = alpha
    _daxpy(ints[0:].ctypes, scalar.ctypes, x.ctypes, ints[1:].ctypes, y.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _scal(ints, scalar, alpha, x):
    """x *= alpha"""
    scalar[0] = alpha
    _dscal(ints[0:].ctypes, scalar.ctypes, x.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _objective(w, X_by_column, sign, cost, margin):
    """l2r_l2_svc_fun::fun; leaves y_i w.x_i in ``margin`` for the gradient."""
    m, n = X_by_column.shape
    margin[:] = 0.0
    for j in range(n):  # liblinear sums each sample's features in order
        wj = w[j]
        for i in range(m):
            margin[i] += wj * X_by_column[i, j]
    f = 0.0
    for j in range(n):
        f += w[j] * w[j]
    f /= 2.0
    for i in range(m):
        margin[i] = sign[i] * margin[i]
        d = 1 - margin[i]
        if d > 0:
            f += cost[i] * d * d
    return f


@njit(cache=True)
def _add_twice_transposed_product(base, weights, size, X_active, out):
    """out = base + 2 X_active[:size]^T weights[:size]: liblinear's subXTv, then its
    ``g = w + 2*g`` in the gradient or ``Hs = s + 2*Hs`` in the Hessian product."""
    out[:] = 0.0
    for k in range(size):
        weight = weights[k]
        for j in range(out.size):
            out[j] += weight * X_active[k, j]
    for j in range(out.size):
        out[j] = base[j] + 2 * out[j]


@njit(cache=True)
def _gradient(w, g, X, sign, cost, margin, X_active, X_active_by_column, cost_active):
    """l2r_l2_svc_fun::grad; copies the samples inside their margin (liblinear's index
    set I) into ``X_active`` for the Hessian products. Returns their number."""
    size = 0
    for i in range(X.shape[0]):
        if margin[i] < 1:
            margin[size] = cost[i] * sign[i] * (margin[i] - 1)
            cost_active[size] = cost[i]
            X_active[size] = X[i]
            size += 1
    X_active_by_column[:size] = X_active[:size]
    _add_twice_transposed_product(w, margin, size, X_active, g)
    return size


@njit(cache=True)
def _hessian_product(s, Hs, size, X_active, X_active_by_column, cost_active, work):
    """l2r_l2_svc_fun::Hv over the first ``size`` active samples."""
    n = X_active.shape[1]
    work[:size] = 0.0
    for j in range(n):
        sj = s[j]
        for k in range(size):
            work[k] += sj * X_active_by_column[k, j]
    for k in range(size):
        work[k] = cost_active[k] * work[k]
    _add_twice_transposed_product(s, work, size, X_active, Hs)


@njit(cache=True)
def _conjugate_gradient(delta, g, s, r, d, Hd, ints, scalar, size, X_active, X_active_by_column, cost_active, work):
    """TRON::trcg: the step s within the trust region of radius delta."""
    n = g.size
    for i in range(n):
        s[i] = 0
        r[i] = -g[i]
        d[i] = r[i]
    cgtol = 0.1 * _nrm2(ints, g)
    rTr = _dot(ints, r, r)
    while True:
        if _nrm2(ints, r) <= cgtol:
            break
        _hessian_product(d, Hd, size, X_active, X_active_by_column, cost_active, work)
        alpha = rTr / _dot(ints, d, Hd)
        _axpy(ints, scalar, alpha, d, s)
        if _nrm2(ints, s) > delta:  # back to the boundary along d
            _axpy(ints, scalar, -alpha, d, s)
            std = _dot(ints, s, d)
            sts = _dot(ints, s, s)
            dtd = _dot(ints, d, d)
            dsq = delta * delta
            rad = math.sqrt(std * std + dtd * (dsq - sts))
            if std >= 0:
                alpha = (dsq - sts) / (std + rad)
            else:
                alpha = (rad - std) / dtd
            _axpy(ints, scalar, alpha, d, s)
            _axpy(ints, scalar, -alpha, Hd, r)
            break
        _axpy(ints, scalar, -alpha, Hd, r)
        rnewTrnew = _dot(ints, r, r)
        _scal(ints, scalar, rnewTrnew / rTr, d)
        _axpy(ints, scalar, 1.0, r, d)
        rTr = rnewTrnew


@njit(cache=True)
def _tron(X, X_by_column, sign, cost, tolerance, max_iter, w):
    """TRON::tron from w = 0, as train_one runs it for L2R_L2LOSS_SVC."""
    m, n = X.shape
    s, r, w_new, g, d, Hd = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    margin, cost_active, work = np.empty(m), np.empty(m), np.empty(m)
    X_active, X_active_by_column = np.empty((m, n)), np.empty((n, m)).T
    ints = np.array([n, 1], dtype=np.int32)
    scalar = np.empty(1)

    w[:] = 0
    f = _objective(w, X_by_column, sign, cost, margin)
    size = _gradient(w, g, X, sign, cost, margin, X_active, X_active_by_column, cost_active)
    delta = _nrm2(ints, g)
    gnorm1 = delta
    search = not delta <= tolerance * gnorm1
    iteration = 1
    while iteration <= max_iter and search:
        _conjugate_gradient(delta, g, s, r, d, Hd, ints, scalar, size, X_active, X_active_by_column, cost_active, work)
        w_new[:] = w
        _axpy(ints, scalar, 1.0, s, w_new)
        gs = _dot(ints, g, s)
        prered = -0.5 * (gs - _dot(ints, s, r))
        fnew = _objective(w_new, X_by_column, sign, cost, margin)
        actred = f - fnew
        snorm = _nrm2(ints, s)
        if iteration == 1:
            delta = _min(delta, snorm)
        if fnew - f - gs <= 0:
            alpha = _SIGMA3
        else:
            alpha = _max(_SIGMA1, -0.5 * (gs / (fnew - f - gs)))
        if actred < _ETA0 * prered:
            delta = _min(_max(alpha, _SIGMA1) * snorm, _SIGMA2 * delta)
        elif actred < _ETA1 * prered:
            delta = _max(_SIGMA1 * delta, _min(alpha * snorm, _SIGMA2 * delta))
        elif actred < _ETA2 * prered:
            delta = _max(_SIGMA1 * delta, _min(alpha * snorm, _SIGMA3 * delta))
        else:
            delta = _max(delta, _min(alpha * snorm, _SIGMA3 * delta))
        if actred > _ETA0 * prered:
            iteration += 1
            w[:] = w_new
            f = fnew
            size = _gradient(w, g, X, sign, cost, margin, X_active, X_active_by_column, cost_active)
            if _nrm2(ints, g) <= tolerance * gnorm1:
                break
        if f < -1.0e32:
            break
        if abs(actred) <= 0 and prered <= 0:
            break
        if abs(actred) <= 1.0e-12 * abs(f) and abs(prered) <= 1.0e-12 * abs(f):
            break


# A decision this close to zero, relative to the size of its terms, could round to the
# other side in numpy's product (which LinearSVC.decision_function uses): scored there.
_TIE = 1e-9


@njit(cache=True)
def sphere_scores(
    X,
    columns,
    train_rows,
    train_start,
    sign,
    cost,
    tolerance,
    test_rows,
    test_start,
    test_codes,
    bias,
    intercept_scaling,
    max_iter,
    coef,
    tied,
):
    """Accuracy per fold of LinearSVC on the columns ``columns`` of ``X`` (samples, voxels).

    Fold f trains on the rows ``train_rows[train_start[f]:train_start[f + 1]]`` (in
    liblinear's order: grouped by class), with labels ``sign`` (+1/-1), per-sample
    ``cost`` and TRON's ``tolerance[f]``, and tests on ``test_rows`` (same layout, with
    ``test_codes``: 1 for the positive class, 0 the negative, -1 neither). A ``bias`` > 0
    appends liblinear's bias feature. Writes each fold's coefficients to ``coef[f]`` and
    flags in ``tied[f]`` a fold with a test decision too close to zero to call here.
    """
    n_folds = train_start.size - 1
    k = columns.size
    n = k + 1 if bias > 0 else k
    scores = np.empty(n_folds)
    for f in range(n_folds):
        rows = train_rows[train_start[f] : train_start[f + 1]]
        X_fold = np.empty((rows.size, n))
        for i in range(rows.size):
            for j in range(k):
                X_fold[i, j] = X[rows[i], columns[j]]
            if n > k:
                X_fold[i, k] = bias
        X_by_column = np.empty((n, rows.size)).T
        X_by_column[:] = X_fold
        w = coef[f, :n]
        _tron(
            X_fold,
            X_by_column,
            sign[train_start[f] : train_start[f + 1]],
            cost[train_start[f] : train_start[f + 1]],
            tolerance[f],
            max_iter,
            w,
        )
        intercept = intercept_scaling * w[k] if n > k else 0.0
        correct = 0
        tied[f] = False
        for t in range(test_start[f], test_start[f + 1]):
            decision, size = 0.0, abs(intercept)
            for j in range(k):
                term = X[test_rows[t], columns[j]] * w[j]
                decision += term
                size += abs(term)
            decision += intercept
            if abs(decision) <= _TIE * size:
                tied[f] = True
            correct += (1 if decision > 0 else 0) == test_codes[t]
        scores[f] = correct / (test_start[f + 1] - test_start[f])
    return scores
