"""Sign-flip one-sample test of accuracy - chance over subjects: voxel, TFCE and cluster FWE.

Under the null each subject's (accuracy - chance) map is symmetric about 0, so flipping the
sign of whole maps gives maps exchangeable with the real one. Each sign pattern s (N,) of
N subjects gives a one-sample t map; with x (N, V) the differences, S = sum over subjects of
x^2 (V,) (the same for every pattern) and m = s @ x (V,):

    t = m sqrt(N - 1) / sqrt(N S - m^2)      (the one-sample t of the flipped maps)

so all flips' t maps are one matrix product, signs (F, N) x x (N, V). Each flip's maxima
over voxels of its t, of its TFCE (exact, :mod:`snakelight.inference.tfce`) and of its
largest cluster's size and mass above the cluster-forming t are the null distributions of
voxel, TFCE, cluster-size and cluster-mass FWE (one-sided: accuracy above chance; face
connectivity; a cluster's mass is the sum of t - threshold over its voxels, as nilearn's).

Which patterns: N subjects have 2^N of them. When 2^N <= ``n_perm``, all of them (an exact
test: p = #{patterns whose statistic >= the observed} / 2^N, the observed pattern among
them, so p >= 1 / 2^N); otherwise the observed pattern and ``n_perm`` drawn at random (with
replacement, as nilearn's), p = (1 + #{draws >= observed}) / (1 + n_perm).

The maps and their names are nilearn's ``non_parametric_inference`` (intercept-only design,
one-sided), whose t map this equals; its p-values differ only in that nilearn clips cluster
p-values and compares with its random flips alone.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import stats
from threadpoolctl import threadpool_limits

from snakelight.inference import clusters, subject
from snakelight.inference import tfce as exact_tfce
from snakelight.inference.group import check_group_settings

_STREAM = int.from_bytes(b"flip", "big")  # keeps the sign draws off other streams of the same seed
VALUES_PER_BATCH = 2**22  # flips are taken so many t values at a time, to bound memory


class SignFlipResult(NamedTuple):
    maps: dict  # name -> (V,): t, logp_max_t, tfce, logp_max_tfce, size, logp_max_size, mass, logp_max_mass
    n_flips: int  # sign patterns compared with, the observed one included
    exhaustive: bool  # True: all 2^N patterns; False: the observed and n_perm random ones
    cluster_forming_t: float | None  # the t that clusters exceed, or None without a threshold
    null_maxima: dict  # name -> (n_flips,): the maximum t, TFCE, cluster size, mass of each pattern


def sign_patterns(n_subjects, n_perm, seed=0):
    """The sign patterns a test compares with: (F, N) float64 of +-1, the first all +1 (the
    observed maps), and whether they are all 2^N (when 2^N <= ``n_perm``; else the observed
    one and ``n_perm`` random ones, drawn from (seed) alone)."""
    if 2**n_subjects <= n_perm:
        bits = (np.arange(2**n_subjects)[:, None] >> np.arange(n_subjects)) & 1
        return 1.0 - 2.0 * bits, True
    draws = np.random.default_rng([_STREAM, seed]).integers(0, 2, size=(n_perm, n_subjects))
    return np.vstack([np.ones((1, n_subjects)), 1.0 - 2.0 * draws]), False


def flipped_t(signs, differences, sum_squares):
    """One-sample t maps of ``differences`` (N, V) under each of ``signs`` (F, N): (F, V).
    ``sum_squares``: (V,) sum of differences^2 over subjects. A voxel of zeros gets t = 0."""
    sums = signs @ differences  # n x each flip's mean
    _t_in_place(sums, sum_squares, differences.shape[0])
    return sums


@njit(cache=True, nogil=True)
def _t_in_place(sums, sum_squares, n):
    """sums (F, V) -> t = sum sqrt(n - 1) / sqrt(n S - sum^2), in one pass (0 where sum is 0)."""
    factor = np.sqrt(n - 1.0)
    for f in range(sums.shape[0]):
        for v in range(sums.shape[1]):
            total = sums[f, v]
            if total != 0.0:
                spread = max(n * sum_squares[v] - total * total, 0.0)
                sums[f, v] = total * factor / np.sqrt(spread) if spread > 0.0 else np.copysign(np.inf, total)


def sign_flip_inference(differences, mask, *, n_perm=10_000, threshold=0.001, tfce=True, alpha=0.05, seed=0, n_jobs=1):
    """The sign-flip test of ``differences`` (N, V): each subject's accuracy - chance over the
    V voxels of the 3-D bool ``mask`` (C order).

    threshold: the cluster-forming p (one-sided, t with N - 1 degrees of freedom), or None for
    no cluster inference. Returns a :class:`SignFlipResult` whose maps are ``t``,
    ``logp_max_t`` (-log10 voxel-FWE p), with ``tfce`` and ``logp_max_tfce`` when tfce, and
    ``size``, ``logp_max_size``, ``mass``, ``logp_max_mass`` (each voxel its cluster's; 0 outside
    clusters) with a threshold. The same seed gives the same maps; ``n_jobs`` threads share
    the flips.
    """
    differences = np.asarray(differences, dtype=np.float64)
    n_subjects, n_voxels = differences.shape
    check_group_settings({"alpha": alpha, "signflip": {"n_perm": n_perm, "threshold": threshold}}, n_subjects)
    signs, exhaustive = sign_patterns(n_subjects, n_perm, seed)
    threshold_t = None if threshold is None else float(stats.t.isf(threshold, df=n_subjects - 1))
    neighbour_index = exact_tfce.neighbours(mask)
    sum_squares = np.einsum("nv,nv->v", differences, differences)
    step = max(1, VALUES_PER_BATCH // n_voxels)

    def batch_maxima(first):
        t = flipped_t(signs[first : first + step], differences, sum_squares)
        if not (tfce or threshold_t is not None):
            return t.max(axis=1)[None]
        enhanced = exact_tfce.maxima(t, neighbour_index, threshold=np.inf if threshold_t is None else threshold_t)
        return np.vstack([t.max(axis=1)[None], enhanced])

    # The threads share the flips; BLAS threads within each would oversubscribe the cores.
    blas_threads = 1 if n_jobs > 1 else None
    with threadpool_limits(limits=blas_threads, user_api="blas"), ThreadPoolExecutor(max(1, n_jobs)) as pool:
        null = np.hstack(list(pool.map(batch_maxima, range(0, len(signs), step))))
    observed_t = flipped_t(signs[:1], differences, sum_squares)[0]
    maps = {"t": observed_t, "logp_max_t": _logp(observed_t, null[0])}
    null_maxima = {"t": null[0]}
    if tfce:
        enhanced = exact_tfce.tfce(observed_t, mask)
        maps |= {"tfce": enhanced, "logp_max_tfce": _logp(enhanced, null[1])}
        null_maxima["tfce"] = null[1]
    if threshold_t is not None:
        labels, n = clusters.label_clusters(observed_t > threshold_t, mask)
        sizes = np.r_[0.0, clusters.cluster_sizes(labels, n)]
        masses = np.r_[0.0, clusters.cluster_masses(labels, n, observed_t - threshold_t)]
        maps |= {
            "size": sizes[labels],
            "logp_max_size": _logp(sizes[labels], null[2]),
            "mass": masses[labels],
            "logp_max_mass": _logp(masses[labels], null[3]),
        }
        null_maxima |= {"size": null[2], "mass": null[3]}
    return SignFlipResult(maps, len(signs), exhaustive, threshold_t, null_maxima)


def _logp(observed, maxima):
    """-log10 of each observed value's FWE p against the maxima (F,) of every pattern, the
    observed one first: #{patterns whose maximum >= the value} / F."""
    return -np.log10(subject.max_statistic_p(observed, maxima[1:]))
