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


@njit(cache=True)
def dual_coordinate_descent(X, sign, cost, eps, max_iter, state, w):
    """solve_l2r_l1l2_svc for the squared hinge (L2R_L2LOSS_SVC_DUAL) on the samples
    X (m, n), C order, of signs ``sign`` (m,) +1/-1 and costs ``cost`` (m,) (liblinear's
    C_i); stops at ``eps`` (LinearSVC's tol) or after ``max_iter`` passes, drawing from
    the seeded twister ``state`` (625,). Leaves the solution in w (n,); returns the
    passes run."""
    m, n = X.shape
    diag = 0.5 / cost
    upper = np.inf  # the squared hinge's alphas are unbounded above
    QD, alpha = np.empty(m), np.empty(m)
    index = np.empty(m, dtype=np.intp)
    for i in range(m):
        alpha[i] = 0.0
        QD[i] = diag[i]
        for j in range(n):
            QD[i] += X[i, j] * X[i, j]
        index[i] = i
    w[:] = 0.0  # liblinear adds y_i alpha_i x_i = 0 to each: +0 stays +0
    active_size = m
    PGmax_old, PGmin_old = np.inf, -np.inf
    iteration = 0
    while iteration < max_iter:
        PGmax_new, PGmin_new = -np.inf, np.inf
        for i in range(active_size):
            j = i + bounded_rand_int(state, active_size - i)
            index[i], index[j] = index[j], index[i]
        s = 0
        while s < active_size:
            i = index[s]
            G = 0.0
            for j in range(n):
                G += w[j] * X[i, j]
            yi = sign[i]
            G = G * yi - 1
            C = upper
            G += alpha[i] * diag[i]
            PG = 0.0
            if alpha[i] == 0:
                if G > PGmax_old:  # shrunk: the sample at the end takes its place
                    active_size -= 1
                    index[s], index[active_size] = index[active_size], index[s]
                    continue
                elif G < 0:
                    PG = G
            elif alpha[i] == C:
                if G < PGmin_old:
                    active_size -= 1
                    index[s], index[active_size] = index[active_size], index[s]
                    continue
                elif G > 0:
                    PG = G
            else:
                PG = G
            PGmax_new = _max(PGmax_new, PG)
            PGmin_new = _min(PGmin_new, PG)
            if abs(PG) > 1.0e-12:
                alpha_old = alpha[i]
                alpha[i] = _min(_max(alpha[i] - G / QD[i], 0.0), C)
                d = (alpha[i] - alpha_old) * yi
                for j in range(n):
                    w[j] += d * X[i, j]
            s += 1
        iteration += 1
        if PGmax_new - PGmin_new <= eps:
            if active_size == m:
                break
            active_size = m
            PGmax_old, PGmin_old = np.inf, -np.inf
            continue
        PGmax_old, PGmin_old = PGmax_new, PGmin_new
        if PGmax_old <= 0:
            PGmax_old = np.inf
        if PGmin_old >= 0:
            PGmin_old = -np.inf
    return iteration
