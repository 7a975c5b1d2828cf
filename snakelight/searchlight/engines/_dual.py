"""liblinear's dual coordinate-descent solver for LinearSVC, compiled with numba, operation
for operation, so that its coefficients equal liblinear's bit for bit.

``LinearSVC(dual="auto")`` solves the dual problem when a fold has fewer training samples
than features: at 2 mm, spheres of 8 mm (~270 voxels) against ~160 training samples.
liblinear (``solve_l2r_l1l2_svc`` in scikit-learn 1.9's ``linear.cpp``, Algorithm 3 of
Hsieh et al., ICML 2008; LIBLINEAR, Copyright (c) 2007-2014 The LIBLINEAR Project,
BSD-3-Clause) visits the samples in a random order each pass, drawn from scikit-learn's
``bounded_rand_int`` (``newrand.h``: a 32-bit Mersenne twister seeded per fit, and
Lemire's bounded integers), and shrinks the samples whose bound is active. This module
repeats the generator, the order and every sum: the same coefficients, without
liblinear's sparse feature nodes and the Python around each fit.

``tests/test_engines.py`` compares the generator with scikit-learn's and the
coefficients with liblinear's.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

_N, _M = 624, 397  # the Mersenne twister's state size and shift
_MASK32 = 0xFFFFFFFF


@njit(cache=True)
def seed_twister(state, seed):
    """std::mt19937::seed(seed) into ``state`` (625,) int64: the 624 words, then the
    position of the next one (624: twist first)."""
    state[0] = seed & _MASK32
    for i in range(1, _N):
        previous = state[i - 1]
        state[i] = (1812433253 * (previous ^ (previous >> 30)) + i) & _MASK32
    state[_N] = _N


@njit(cache=True)
def _next(state):
    """std::mt19937's next 32-bit output."""
    if state[_N] >= _N:
        for i in range(_N):
            y = (state[i] & 0x80000000) | (state[(i + 1) % _N] & 0x7FFFFFFF)
            state[i] = state[(i + _M) % _N] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        state[_N] = 0
    y = state[state[_N]]
    state[_N] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@njit(cache=True)
def bounded_rand_int(state, bound):
    """scikit-learn's bounded_rand_int(bound): uniform in [0, bound) for 0 < bound < 2^31."""
    m = _next(state) * bound  # < 2^63: bound is a sample count
    low = m & _MASK32
    if low < bound:
        t = (-bound) & _MASK32
        if t >= bound:
            t -= bound
            if t >= bound:
                t %= bound
        while low < t:
            m = _next(state) * bound
            low = m & _MASK32
    return m >> 32


@njit(cache=True)
def _min(x, y):
    return x if x < y else y  # liblinear's min template: ties give y


@njit(cache=True)
def _max(x, y):
    return x if x > y else y


# Folds solved together, one per lane: liblinear's sums run in order within a fold, so a
# fold's dot product is a chain of dependent additions (latency-bound); four folds' chains
# interleaved keep the floating-point units busy (about 3x one chain's throughput).
LANES = 4


class _Lanes(NamedTuple):
    """Each lane's solver state: liblinear's locals for the fold it runs, one entry (or
    row) per lane."""

    twister: np.ndarray  # (LANES, 625) int64
    index: np.ndarray  # (LANES, m) intp: the visiting order; its first ``active`` are unshrunk
    alpha: np.ndarray  # (LANES, m)
    QD: np.ndarray  # (LANES, m): x_i.x_i + the dual's diagonal
    diag: np.ndarray  # (LANES, m): 0.5 / C_i
    position: np.ndarray  # (LANES,) intp: s, the visit within the pass
    active: np.ndarray  # (LANES,) intp: active_size
    passes: np.ndarray  # (LANES,) intp: iter
    live: np.ndarray  # (LANES,) bool: still iterating
    PG: np.ndarray  # (LANES, 4): PGmax_old, PGmin_old, PGmax_new, PGmin_new
    fold: np.ndarray  # (LANES,) intp: the fold each lane runs (past the last: idle)


_PGMAX_OLD, _PGMIN_OLD, _PGMAX_NEW, _PGMIN_NEW = 0, 1, 2, 3


@njit(cache=True)
def _begin_pass(lanes, lane, max_iter):
    """The top of liblinear's ``while (iter < max_iter)``: a fresh pass in a new random order."""
    if lanes.passes[lane] >= max_iter:
        lanes.live[lane] = False
        return
    lanes.PG[lane, _PGMAX_NEW], lanes.PG[lane, _PGMIN_NEW] = -np.inf, np.inf
    index, twister = lanes.index[lane], lanes.twister[lane]
    active = lanes.active[lane]
    for i in range(active):
        j = i + bounded_rand_int(twister, active - i)
        index[i], index[j] = index[j], index[i]
    lanes.position[lane] = 0


@njit(cache=True)
def _end_pass(lanes, lane, m, eps):
    """The bottom of liblinear's loop: stop, or unshrink, or carry the gradient's range."""
    PG = lanes.PG[lane]
    lanes.passes[lane] += 1
    if PG[_PGMAX_NEW] - PG[_PGMIN_NEW] <= eps:
        if lanes.active[lane] == m:
            lanes.live[lane] = False
            return
        lanes.active[lane] = m
        PG[_PGMAX_OLD], PG[_PGMIN_OLD] = np.inf, -np.inf
        return
    PG[_PGMAX_OLD], PG[_PGMIN_OLD] = PG[_PGMAX_NEW], PG[_PGMIN_NEW]
    if PG[_PGMAX_OLD] <= 0:
        PG[_PGMAX_OLD] = np.inf
    if PG[_PGMIN_OLD] >= 0:
        PG[_PGMIN_OLD] = -np.inf


@njit(cache=True)
def _visit(lanes, lane, G, X, sign, w):
    """One visit of the sample ``index[s]`` whose w.x_i is G: shrink it, or step its alpha
    and update w (n,) with its row of X (m, n)."""
    s = lanes.position[lane]
    index, alpha, PG = lanes.index[lane], lanes.alpha[lane], lanes.PG[lane]
    i = index[s]
    yi = sign[i]
    G = G * yi - 1
    C = np.inf  # the squared hinge's alphas are unbounded above
    G += alpha[i] * lanes.diag[lane, i]
    gradient = 0.0
    if alpha[i] == 0:
        if G > PG[_PGMAX_OLD]:  # shrunk: the last active sample takes its place
            lanes.active[lane] -= 1
            active = lanes.active[lane]
            index[s], index[active] = index[active], index[s]
            return
        elif G < 0:
            gradient = G
    elif alpha[i] == C:
        if G < PG[_PGMIN_OLD]:
            lanes.active[lane] -= 1
            active = lanes.active[lane]
            index[s], index[active] = index[active], index[s]
            return
        elif G > 0:
            gradient = G
    else:
        gradient = G
    PG[_PGMAX_NEW] = _max(PG[_PGMAX_NEW], gradient)
    PG[_PGMIN_NEW] = _min(PG[_PGMIN_NEW], gradient)
    if abs(gradient) > 1.0e-12:
        alpha_old = alpha[i]
        alpha[i] = _min(_max(alpha[i] - G / lanes.QD[lane, i], 0.0), C)
        d = (alpha[i] - alpha_old) * yi
        row = X[i]
        for j in range(w.size):
            w[j] += d * row[j]
    lanes.position[lane] = s + 1


@njit(cache=True)
def _start(lanes, lane, f, X, m, cost, seed, max_iter, w):
    """Lane ``lane`` takes fold f, or falls idle where f is past the last fold."""
    lanes.fold[lane] = f
    lanes.live[lane] = f < m.size
    if not lanes.live[lane]:
        return
    w[f] = 0.0  # liblinear adds y_i alpha_i x_i = 0 to each: +0 stays +0
    seed_twister(lanes.twister[lane], seed)  # train_wrap seeds each fit
    lanes.PG[lane, _PGMAX_OLD], lanes.PG[lane, _PGMIN_OLD] = np.inf, -np.inf
    lanes.passes[lane] = 0
    lanes.active[lane] = m[f]
    for i in range(m[f]):
        lanes.alpha[lane, i] = 0.0
        lanes.diag[lane, i] = 0.5 / cost[f, i]
        QD = lanes.diag[lane, i]
        for j in range(X.shape[2]):
            x = np.float64(X[f, i, j])  # float32 data: liblinear squares in float64
            QD += x * x
        lanes.QD[lane, i] = QD
        lanes.index[lane, i] = i
    _begin_pass(lanes, lane, max_iter)


@njit(cache=True)
def dual_coordinate_descent(X, m, sign, cost, eps, max_iter, seed, w):
    """solve_l2r_l1l2_svc for the squared hinge (L2R_L2LOSS_SVC_DUAL) on each fold f: the
    first m[f] (folds,) rows of X[f] (folds, rows, n), of signs sign[f] (folds, rows)
    +1/-1 and costs cost[f] (liblinear's C_i). LANES folds run at once; a lane that
    finishes takes the next fold. Each fold stops at ``eps`` (LinearSVC's tol) or after
    ``max_iter`` passes, drawing its order from a twister seeded with ``seed``, and
    leaves its solution in w[f] (folds, n). Returns the passes (folds,) each fold ran."""
    rows, n = X.shape[1], X.shape[2]
    lanes = _Lanes(
        np.empty((LANES, 625), dtype=np.int64),
        np.empty((LANES, rows), dtype=np.intp),
        np.empty((LANES, rows)),
        np.empty((LANES, rows)),
        np.empty((LANES, rows)),
        np.zeros(LANES, dtype=np.intp),
        np.zeros(LANES, dtype=np.intp),
        np.zeros(LANES, dtype=np.intp),
        np.zeros(LANES, dtype=np.bool_),
        np.empty((LANES, 4)),
        np.empty(LANES, dtype=np.intp),
    )
    passes = np.zeros(m.size, dtype=np.intp)
    next_fold = 0
    for lane in range(LANES):
        _start(lanes, lane, next_fold, X, m, cost, seed, max_iter, w)
        next_fold += 1
    fold, row, current = lanes.fold, np.zeros(LANES, dtype=np.intp), np.zeros(LANES, dtype=np.intp)
    while True:
        for lane in range(LANES):  # past a pass's end: the next pass, or the next fold
            while lanes.live[lane] and lanes.position[lane] >= lanes.active[lane]:
                _end_pass(lanes, lane, m[fold[lane]], eps)
                if lanes.live[lane]:
                    _begin_pass(lanes, lane, max_iter)
                if not lanes.live[lane]:
                    passes[fold[lane]] = lanes.passes[lane]
                    _start(lanes, lane, next_fold, X, m, cost, seed, max_iter, w)
                    next_fold += 1
            # An idle lane reads fold 0's first row; its G is not used.
            current[lane] = fold[lane] if lanes.live[lane] else 0
            row[lane] = lanes.index[lane, lanes.position[lane]] if lanes.live[lane] else 0
        if not lanes.live.any():
            return passes
        # G = w.x_i per lane, each in liblinear's order; the lanes' chains interleaved.
        x0, x1, x2, x3 = (X[current[0], row[0]], X[current[1], row[1]], X[current[2], row[2]], X[current[3], row[3]])
        w0, w1, w2, w3 = w[current[0]], w[current[1]], w[current[2]], w[current[3]]
        g0 = g1 = g2 = g3 = 0.0
        for j in range(n):
            g0 += w0[j] * x0[j]
            g1 += w1[j] * x1[j]
            g2 += w2[j] * x2[j]
            g3 += w3[j] * x3[j]
        G = (g0, g1, g2, g3)
        for lane in range(LANES):
            if lanes.live[lane]:
                f = fold[lane]
                _visit(lanes, lane, G[lane], X[f], sign[f], w[f])
