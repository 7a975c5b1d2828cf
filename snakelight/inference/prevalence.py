"""Permutation-based prevalence inference (Allefeld, Görgen & Haynes 2016, NeuroImage 141:378-392).

Per subject n, P1 = P + 1 first-level maps a_n,i(v) over V voxels: i = 0 the observed
map, i = 1..P permutation maps. A second-level permutation k picks one first-level map
per subject; k = 1 (row 0 here) picks the observed ones. With K second-level permutations
(all P1^N combinations when P1^N <= the number asked for, else K random ones after the
first), N subjects and the prevalence bound gamma0 (0.5: the majority null):

- minimum statistic            m_k(v) = min_n a_n,i_kn(v);  M_k = max_v m_k(v)
- global null, uncorrected     p_N(v)  = #{k: m_k(v) >= m_1(v)} / K          (eq. 24)
- global null, FWE             p*_N(v) = #{k: M_k >= m_1(v)} / K             (eq. 26)
- prevalence null, uncorrected p_g(v)  = ((1 - gamma0) p_N^(1/N) + gamma0)^N (eq. 19)
- prevalence null, FWE         p*_g(v) = p*_N + (1 - p*_N) p_g               (eq. 21)
- largest bound, uncorrected   g_u(v)  = (alpha^(1/N) - p_N^(1/N)) / (1 - p_N^(1/N)),
                                          where p_N <= alpha                  (eq. 20)
- largest bound, FWE           alpha* = (alpha - p*_N) / (1 - p*_N)           (eq. 22)
                               g_c(v)  = (alpha*^(1/N) - p_N^(1/N)) / (1 - p_N^(1/N)),
                                          where p_N <= alpha*                 (eq. 23)
- the largest bounds K permutations allow: the same with p_N = p*_N = 1/K     (eq. 27)

Counts include k = 1 itself, so no p is below 1/K.

Subjects whose designs give fewer null maps (their distinct relabellings enumerated, P_n < P)
contribute their own P1_n = P_n + 1 maps: a second-level permutation picks subject n's map
among its own P1_n, the combinations are the product of the subjects' sets (prod_n P1_n,
enumerated when at most the number asked for, else drawn uniformly), and p_N stays valid:
under the global null each subject's observed map is exchangeable with its own null maps,
whatever their count, so the observed combination is exchangeable with the others. The
paper's derivation of eqs. 19-23 needs only that p_N be a valid global-null p, so they
apply unchanged (Allefeld et al. give every subject the same P1; this is the same test on
the product set). The bounds are NaN where undefined
(no prevalence bound is supported). These are the paper's equations as in Allefeld's
reference code (prevalenceCore.m): the FWE versions combine p*_N with the uncorrected
p_N (eqs. 21-23) rather than applying eq. 19 to p*_N.
"""

from dataclasses import dataclass

import numpy as np

from snakelight.inference import feasibility
from snakelight.inference.group import check_group_settings, combine_subjects, stack_null_maps
from snakelight.io import InputError


@dataclass(frozen=True)
class PrevalenceResult:
    """Maps over the V voxels (module docstring's symbols), and what they came from."""

    minimum: np.ndarray  # (V,) m_1: the minimum over subjects of the observed maps
    p_global: np.ndarray  # (V,) p_N
    p_global_fwe: np.ndarray  # (V,) p*_N
    p_prevalence: np.ndarray  # (V,) p_g for gamma0
    p_prevalence_fwe: np.ndarray  # (V,) p*_g for gamma0
    bound: np.ndarray  # (V,) g_u, NaN where p_N > alpha
    bound_fwe: np.ndarray  # (V,) g_c, NaN where undefined
    bound_max: float  # the largest g_u K permutations allow
    bound_fwe_max: float  # the largest g_c K permutations allow (eq. 27)
    gamma0: float
    alpha: float
    max_null: np.ndarray  # (K,) M_k; M_1 (index 0) is the observed maps'
    combinations: np.ndarray  # (K, N) int: the first-level map of each subject in each permutation
    enumerated: bool  # all P1^N combinations were used


def second_level_combinations(n_subjects, n_first_level, permutations, seed):
    """(K, N) int: the first-level map each second-level permutation takes of each subject,
    from ``n_first_level`` maps per subject (one count, or one per subject).

    Row 0 is all zeros (the observed maps). All combinations (n_first_level^N, or the
    product of the counts), in lexicographic order, when there are no more than
    ``permutations``; otherwise ``permutations`` rows, those after the first drawn uniformly
    with replacement, each subject's among its own maps.
    """
    counts = np.broadcast_to(n_first_level, (n_subjects,))
    if feasibility.combinations(counts, n_subjects) <= permutations:
        return np.indices(tuple(counts)).reshape(n_subjects, -1).T
    combinations = np.random.default_rng(seed).integers(0, counts, size=(permutations, n_subjects))
    combinations[0] = 0
    return combinations


def prevalence_inference(maps, *, permutations=100_000, alpha=0.05, gamma0=0.5, seed=0, block=256):
    """Prevalence inference on maps (N, P1, V), maps[:, 0] the observed accuracy maps and
    maps[:, 1:] the P1 - 1 permutation maps of each subject, or N arrays (P1_n, V) whose
    counts differ (see the module docstring). ``block`` second-level permutations are
    computed at a time (16 x block x V bytes)."""
    maps, n_first_level = stack_null_maps("maps", maps, np.shape(maps[0])[-1])
    n_subjects = len(maps)
    if n_first_level.min() < 2:
        raise InputError(
            f"maps: {n_first_level.min()} first-level map per subject; prevalence inference needs the "
            "observed map and at least one permutation map"
        )
    check_group_settings(
        {"alpha": alpha, "prevalence": {"permutations": permutations, "gamma0": gamma0}}, n_subjects, n_first_level
    )
    combinations = second_level_combinations(n_subjects, n_first_level, permutations, seed)
    minimum, n_at_least, max_null = minimum_statistic_null(maps, combinations, block)
    n_permutations = len(combinations)
    sorted_max = np.sort(max_null)
    p_global = n_at_least / n_permutations
    p_global_fwe = (n_permutations - np.searchsorted(sorted_max, minimum)) / n_permutations
    p_prevalence = prevalence_p(p_global, gamma0, n_subjects)
    smallest_p = 1 / n_permutations
    return PrevalenceResult(
        minimum=minimum,
        p_global=p_global,
        p_global_fwe=p_global_fwe,
        p_prevalence=p_prevalence,
        p_prevalence_fwe=p_global_fwe + (1 - p_global_fwe) * p_prevalence,
        bound=prevalence_bound(alpha, p_global, n_subjects),
        bound_fwe=prevalence_bound(_corrected_alpha(alpha, p_global_fwe), p_global, n_subjects),
        bound_max=float(prevalence_bound(alpha, smallest_p, n_subjects)),
        bound_fwe_max=float(prevalence_bound(_corrected_alpha(alpha, smallest_p), smallest_p, n_subjects)),
        gamma0=gamma0,
        alpha=alpha,
        max_null=max_null,
        combinations=combinations,
        enumerated=n_permutations == feasibility.combinations(n_first_level, n_subjects),
    )


def minimum_statistic_null(maps, combinations, block=256):
    """From maps (N, P1, V) and combinations (K, N): m_1 (V,), #{k: m_k(v) >= m_1(v)} (V,)
    and M_k (K,), ``block`` permutations at a time."""
    picks = np.ascontiguousarray(combinations.T)
    minimum = maps[:, 0].min(axis=0)  # exact, like every minimum: equal to m_k for k = 1
    n_at_least = np.zeros(maps.shape[2], dtype=np.int64)
    max_null = np.empty(len(combinations))
    buffers = np.empty((2, min(block, len(combinations)), maps.shape[2]))
    for start in range(0, len(combinations), block):
        stop = min(start + block, len(combinations))
        values, scratch = buffers[:, : stop - start]
        combine_subjects(maps, picks[:, start:stop], np.minimum, values, scratch)
        n_at_least += np.count_nonzero(values >= minimum, axis=0)
        max_null[start:stop] = values.max(axis=1)
    return minimum, n_at_least, max_null


def prevalence_p(p_global, gamma0, n_subjects):
    """Eq. 19: p of the prevalence null (prevalence <= gamma0) from the global-null p."""
    return ((1 - gamma0) * p_global ** (1 / n_subjects) + gamma0) ** n_subjects


def prevalence_bound(alpha, p_global, n_subjects):
    """Eqs. 20 and 23: the largest gamma0 whose prevalence null is rejected at ``alpha``
    given the global-null p; NaN where p_global > alpha (none is)."""
    alpha, p_global = np.asarray(alpha, dtype=float), np.asarray(p_global, dtype=float)
    defined = p_global <= alpha
    root = p_global ** (1 / n_subjects)
    # Where undefined, alpha may be negative or root 1: keep numpy quiet, the value is dropped.
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (alpha ** (1 / n_subjects) - root) / (1 - root)
    return np.where(defined, bound, np.nan)


def _corrected_alpha(alpha, p_global_fwe):
    """Eq. 22: alpha* = (alpha - p*_N) / (1 - p*_N); -inf where p*_N = 1."""
    with np.errstate(divide="ignore"):
        return (alpha - p_global_fwe) / (1 - np.asarray(p_global_fwe, dtype=float))
