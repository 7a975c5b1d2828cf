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
from typing import NamedTuple

import llvmlite.binding
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

from snakelight.searchlight.engines._dual import _max, _min, dual_coordinate_descent

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


class Folds(NamedTuple):
    """Every cross-validation fold of a sphere, as :func:`sphere_scores` takes them. Fold
    f's entries are ``[train_start[f]:train_start[f + 1]]`` of the training arrays and
    ``[test_start[f]:test_start[f + 1]]`` of the test arrays."""

    train_rows: np.ndarray  # (sum of training sizes,) int: rows of X, in liblinear's order (grouped by class)
    train_start: np.ndarray  # (folds + 1,) int
    sign: np.ndarray  # (sum of training sizes,) float64: +1 for the fold's second class, -1 for its first
    cost: np.ndarray  # (sum of training sizes,) float64: liblinear's C_i
    tolerance: np.ndarray  # (folds,) float64: train_one's primal_solver_tol
    test_rows: np.ndarray  # (sum of test sizes,) int: rows of X
    test_start: np.ndarray  # (folds + 1,) int
    test_codes: np.ndarray  # (sum of test sizes,) int: 1 the positive class, 0 the negative, -1 neither


class Settings(NamedTuple):
    """LinearSVC's settings that the solver and the decision use."""

    bias: float  # > 0: liblinear's bias feature (fit_intercept); else no intercept
    intercept_scaling: float
    max_iter: int
    tol: float  # the dual solver's eps
    seed: int  # liblinear's random seed (the dual solver's sample order)


class _Problem(NamedTuple):
    """One fold's training problem: m samples, n features (the bias included). X may be
    float32 where its values are (the masked samples' dtype): each product converts them
    to float64 exactly, and the Hessian products, which stream the active samples from
    the L2 cache, read half the bytes."""

    X: np.ndarray  # (m, n) C order
    X_by_column: np.ndarray  # (m, n) Fortran order: the same values, for column sums
    sign: np.ndarray  # (m,) +1/-1
    cost: np.ndarray  # (m,)


class _Active(NamedTuple):
    """liblinear's index set I: the samples inside their margin, first ``size`` rows."""

    X: np.ndarray  # (m, n) C order
    X_by_column: np.ndarray  # (m, n) Fortran order
    cost: np.ndarray  # (m,)
    work: np.ndarray  # (m,) scratch for the Hessian product


class _Steps(NamedTuple):
    """The conjugate-gradient vectors, each (n,)."""

    step: np.ndarray  # s: the step
    residual: np.ndarray  # r
    direction: np.ndarray  # d
    curvature: np.ndarray  # Hd


class _Blas(NamedTuple):
    """Fortran BLAS takes every argument by pointer: ``ints`` holds (n, 1), ``scalar`` the
    scalar of an axpy or scal."""

    ints: np.ndarray  # (2,) int32
    scalar: np.ndarray  # (1,) float64


# BLAS level 1 on vectors of n (the features), with the pointers of a _Blas.
@njit(cache=True)
def _dot(blas, x, y):
    ints = blas.ints
    return _ddot(ints[0:].ctypes, x.ctypes, ints[1:].ctypes, y.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _nrm2(blas, x):
    ints = blas.ints
    return _dnrm2(ints[0:].ctypes, x.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _axpy(blas, alpha, x, y):
    """y += alpha x"""
    ints, scalar = blas.ints, blas.scalar
    scalar[0] = alpha
    _daxpy(ints[0:].ctypes, scalar.ctypes, x.ctypes, ints[1:].ctypes, y.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _scal(blas, alpha, x):
    """x *= alpha"""
    ints, scalar = blas.ints, blas.scalar
    scalar[0] = alpha
    _dscal(ints[0:].ctypes, scalar.ctypes, x.ctypes, ints[1:].ctypes)


@njit(cache=True)
def _products(X_by_column, v, size, out):
    """out[i] (size,) = X[i] . v (n,) for the first ``size`` rows of X_by_column (m, n),
    column-major, each sum over the features in order (liblinear's). Vectorised across
    rows, eight features per sweep: an eighth of the loads and stores of ``out``, which
    bound a sweep per feature (llvm-mca on Zen 3: 5.2 against 2.6 products per cycle)."""
    n = v.size
    out[:size] = 0.0
    j = 0
    while j + 8 <= n:
        v0, v1, v2, v3, v4, v5, v6, v7 = v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 7]
        for i in range(size):
            out[i] = (
                out[i]
                + v0 * X_by_column[i, j]
                + v1 * X_by_column[i, j + 1]
                + v2 * X_by_column[i, j + 2]
                + v3 * X_by_column[i, j + 3]
                + v4 * X_by_column[i, j + 4]
                + v5 * X_by_column[i, j + 5]
                + v6 * X_by_column[i, j + 6]
                + v7 * X_by_column[i, j + 7]
            )
        j += 8
    for j in range(8 * (n // 8), n):
        vj = v[j]
        for i in range(size):
            out[i] += vj * X_by_column[i, j]


@njit(cache=True)
def _objective(w, problem, margin):
    """l2r_l2_svc_fun::fun of w (n,); leaves y_i w.x_i in ``margin`` (m,) for the gradient."""
    X_by_column, sign, cost = problem.X_by_column, problem.sign, problem.cost
    m, n = X_by_column.shape
    _products(X_by_column, w, m, margin)
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
    """out (n,) = base (n,) + 2 X_active[:size]^T weights[:size]: liblinear's subXTv, then
    its ``g = w + 2*g`` in the gradient or ``Hs = s + 2*Hs`` in the Hessian product."""
    out[:] = 0.0
    k = 0
    while k + 4 <= size:  # four samples per sweep: a quarter of the loads and stores of out
        w0, w1, w2, w3 = weights[k], weights[k + 1], weights[k + 2], weights[k + 3]
        for j in range(out.size):
            out[j] = (
                out[j]
                + w0 * X_active[k, j]
                + w1 * X_active[k + 1, j]
                + w2 * X_active[k + 2, j]
                + w3 * X_active[k + 3, j]
            )
        k += 4
    for k in range(4 * (size // 4), size):
        weight = weights[k]
        for j in range(out.size):
            out[j] += weight * X_active[k, j]
    for j in range(out.size):
        out[j] = base[j] + 2 * out[j]


@njit(cache=True)
def _gradient(w, g, problem, margin, active):
    """l2r_l2_svc_fun::grad into g (n,), from the margins (m,) :func:`_objective` left;
    copies the samples inside their margin (liblinear's index set I) into ``active`` for
    the Hessian products. Returns their number."""
    X, sign, cost = problem.X, problem.sign, problem.cost
    size = 0
    for i in range(X.shape[0]):
        if margin[i] < 1:
            margin[size] = cost[i] * sign[i] * (margin[i] - 1)
            active.cost[size] = cost[i]
            active.X[size] = X[i]
            size += 1
    active.X_by_column[:size] = active.X[:size]
    _add_twice_transposed_product(w, margin, size, active.X, g)
    return size


@njit(cache=True)
def _hessian_product(s, Hs, size, active):
    """l2r_l2_svc_fun::Hv: Hs (n,) = H s (n,) over the first ``size`` active samples."""
    X_by_column, work = active.X_by_column, active.work
    _products(X_by_column, s, size, work)
    for k in range(size):
        work[k] = active.cost[k] * work[k]
    _add_twice_transposed_product(s, work, size, active.X, Hs)


@njit(cache=True)
def _conjugate_gradient(delta, g, steps, blas, size, active):
    """TRON::trcg: ``steps.step`` (n,) within the trust region of radius delta, for the
    gradient g (n,); leaves the residual in ``steps.residual``."""
    n = g.size
    step, r, d, Hd = steps
    for i in range(n):
        step[i] = 0
        r[i] = -g[i]
        d[i] = r[i]
    cgtol = 0.1 * _nrm2(blas, g)
    rTr = _dot(blas, r, r)
    while True:
        if _nrm2(blas, r) <= cgtol:
            break
        _hessian_product(d, Hd, size, active)
        alpha = rTr / _dot(blas, d, Hd)
        _axpy(blas, alpha, d, step)
        if _nrm2(blas, step) > delta:  # back to the boundary along d
            _axpy(blas, -alpha, d, step)
            std = _dot(blas, step, d)
            sts = _dot(blas, step, step)
            dtd = _dot(blas, d, d)
            dsq = delta * delta
            rad = math.sqrt(std * std + dtd * (dsq - sts))
            if std >= 0:
                alpha = (dsq - sts) / (std + rad)
            else:
                alpha = (rad - std) / dtd
            _axpy(blas, alpha, d, step)
            _axpy(blas, -alpha, Hd, r)
            break
        _axpy(blas, -alpha, Hd, r)
        rnewTrnew = _dot(blas, r, r)
        _scal(blas, rnewTrnew / rTr, d)
        _axpy(blas, 1.0, r, d)
        rTr = rnewTrnew


@njit(cache=True)
def _tron(problem, tolerance, max_iter, w):
    """TRON::tron from w = 0, as train_one runs it for L2R_L2LOSS_SVC: leaves the solution
    in w (n,)."""
    m, n = problem.X.shape
    steps = _Steps(np.empty(n), np.empty(n), np.empty(n), np.empty(n))
    step, r = steps.step, steps.residual
    w_new, g = np.empty(n), np.empty(n)
    margin = np.empty(m)
    dtype = problem.X.dtype
    active = _Active(np.empty((m, n), dtype), np.empty((n, m), dtype).T, np.empty(m), np.empty(m))
    blas = _Blas(np.array([n, 1], dtype=np.int32), np.empty(1))

    w[:] = 0
    f = _objective(w, problem, margin)
    size = _gradient(w, g, problem, margin, active)
    delta = _nrm2(blas, g)
    gnorm1 = delta
    search = not delta <= tolerance * gnorm1
    iteration = 1
    while iteration <= max_iter and search:
        _conjugate_gradient(delta, g, steps, blas, size, active)
        w_new[:] = w
        _axpy(blas, 1.0, step, w_new)
        gs = _dot(blas, g, step)
        prered = -0.5 * (gs - _dot(blas, step, r))
        fnew = _objective(w_new, problem, margin)
        actred = f - fnew
        snorm = _nrm2(blas, step)
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
            size = _gradient(w, g, problem, margin, active)
            if _nrm2(blas, g) <= tolerance * gnorm1:
                break
        if f < -1.0e32:
            break
        if abs(actred) <= 0 and prered <= 0:
            break
        if abs(actred) <= 1.0e-12 * abs(f) and abs(prered) <= 1.0e-12 * abs(f):
            break


@njit(cache=True)
def _gather(X, rows, columns, bias, out):
    """out[:rows.size] (rows, n) = X[rows][:, columns], then liblinear's bias feature in
    the last column where n = columns.size + 1."""
    k = columns.size
    for i in range(rows.size):
        for j in range(k):
            out[i, j] = X[rows[i], columns[j]]
        if out.shape[1] > k:
            out[i, k] = bias


# A decision this close to zero, relative to the size of its terms, could round to the
# other side in numpy's product (which LinearSVC.decision_function uses): scored there.
_TIE = 1e-9


@njit(cache=True)
def sphere_scores(X, columns, folds, settings, dual, coef, tied, decisions):
    """Accuracy per fold (folds,) of LinearSVC on the columns ``columns`` (k,) of ``X``
    (samples, voxels: float64, or float32 where ``settings.bias`` is a float32 too), for
    the :class:`Folds` ``folds`` and the :class:`Settings` ``settings``; a
    ``settings.bias`` > 0 appends liblinear's bias feature. Fold f is
    fitted by TRON (the primal) or, where ``dual[f]`` (folds,) bool, by
    :func:`snakelight.searchlight.engines._dual.dual_coordinate_descent`, several folds at once.

    Writes each fold's coefficients to ``coef[f]`` (folds, >= k + 1), each test sample's
    decision value to ``decisions[t]`` (test samples of every fold, as ``folds.test_rows``)
    and flags in ``tied[f]`` (folds,) a fold with a test decision too close to zero to
    call here.
    """
    n_folds = folds.train_start.size - 1
    k = columns.size
    n = k + 1 if settings.bias > 0 else k
    scores = np.empty(n_folds)
    duals = np.flatnonzero(dual)
    if duals.size:
        m = folds.train_start[duals + 1] - folds.train_start[duals]
        X_folds = np.empty((duals.size, m.max(), n), X.dtype)
        sign, cost = np.empty((duals.size, m.max())), np.empty((duals.size, m.max()))
        for d, f in enumerate(duals):
            start, stop = folds.train_start[f], folds.train_start[f + 1]
            _gather(X, folds.train_rows[start:stop], columns, settings.bias, X_folds[d])
            sign[d, : m[d]] = folds.sign[start:stop]
            cost[d, : m[d]] = folds.cost[start:stop]
        w = np.empty((duals.size, n))
        dual_coordinate_descent(X_folds, m, sign, cost, settings.tol, settings.max_iter, settings.seed, w)
        for d, f in enumerate(duals):
            coef[f, :n] = w[d]
    for f in range(n_folds):
        w = coef[f, :n]
        if not dual[f]:
            start, stop = folds.train_start[f], folds.train_start[f + 1]
            X_fold = np.empty((stop - start, n), X.dtype)
            _gather(X, folds.train_rows[start:stop], columns, settings.bias, X_fold)
            X_by_column = np.empty((n, stop - start), X.dtype).T
            X_by_column[:] = X_fold
            problem = _Problem(X_fold, X_by_column, folds.sign[start:stop], folds.cost[start:stop])
            _tron(problem, folds.tolerance[f], settings.max_iter, w)
        intercept = settings.intercept_scaling * w[k] if n > k else 0.0
        correct = 0
        tied[f] = False
        for t in range(folds.test_start[f], folds.test_start[f + 1]):
            decision, size = 0.0, abs(intercept)
            for j in range(k):
                term = X[folds.test_rows[t], columns[j]] * w[j]
                decision += term
                size += abs(term)
            decision += intercept
            decisions[t] = decision
            if abs(decision) <= _TIE * size:
                tied[f] = True
            correct += (1 if decision > 0 else 0) == folds.test_codes[t]
        scores[f] = correct / (folds.test_start[f + 1] - folds.test_start[f])
    return scores
