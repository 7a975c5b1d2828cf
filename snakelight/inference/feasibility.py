"""Can a test reach alpha? One place decides, from counts and settings alone, before any job.

Every permutation-type p-value has a floor: the observed statistic is one of the M maps
compared, so p >= 1 / M. When that floor is above alpha nothing can ever be significant,
whatever the data; each rule below refuses such settings with one line (an
:class:`snakelight.io.InputError`) naming the key and saying what would work.

What each test compares with (M), and what it therefore needs to reach alpha
(docs/explanation/exact-tests.md):

- subject permutations: the distinct null maps of the design, relabellings within runs
  counted modulo the renamings of the labels (:func:`distinct_null_maps`; two conditions:
  2^(R-1) for R runs of one block per condition), all of them (the real one and the M - 1
  others: an exact test) when at most P + 1, else the observed and P drawn ones
  (:func:`snakelight.inference.permutations.null_permutations`): needs
  min(P + 1, distinct) >= 1 / alpha, so the two checks, P + 1 >= 1 / alpha before any job
  and distinct >= 1 / alpha at the first permutation job, are the whole rule: an
  enumerated test reaches alpha iff 1 / M <= alpha;
- sign flips: the 2^N sign patterns of N subjects (all when 2^N <= n_perm): needs
  2^N >= 1 / alpha and n_perm + 1 >= 1 / alpha;
- prevalence: the prevalence p is at least gamma0^N, and the second-level permutations
  number min(permutations, (P + 1)^N): needs gamma0^N <= alpha and that count >= 1 / alpha;
- Stelzer: min(bootstraps, P^N) bootstrap maps (all P^N combinations when at most
  bootstraps): needs that count + 1 >= 1 / alpha and p_voxel at least 1 / that count;
- for both, subjects whose designs enumerate fewer null maps (n_s = M_s - 1 < P) count with
  their own: the product of the (n_s + 1) or of the n_s replaces (P + 1)^N or P^N;
- cluster-forming thresholds: a voxel p of the subject level's permutations is at least
  1 / (P + 1), so ``cluster_threshold`` must be at least that; an enumerated design's, at
  least 1 / M, so a lower threshold is raised to it (:func:`cluster_forming_threshold`).
"""

import math

import numpy as np

from snakelight.io import InputError

INFERENCE = "config key inference"


def needed(alpha):
    """The fewest maps a permutation test must compare with for p = 1 / M to reach alpha."""
    return math.ceil(1 / alpha * (1 - 1e-12))


def default_permutations_per_job(n_permutations):
    """inference.permutations_per_job when not set: min(100, P) (100 without inference, P = 0,
    as before: a config without inference keeps its filled-in values)."""
    return min(100, n_permutations) if n_permutations > 0 else 100


def default_cluster_threshold(n_permutations):
    """inference.cluster_threshold when not set: 0.001, or the smallest voxel p that P
    permutations resolve, 1 / (P + 1), when that is larger (0.0099 for P = 100; 0.001 when P = 0)."""
    return max(0.001, 1 / (n_permutations + 1)) if n_permutations > 0 else 0.001


def check_subject_settings(n_permutations, permutations_per_job, alpha, cluster_threshold):
    """The subject level's settings, before any job: P >= 0 (0: no inference), P + 1 >=
    1 / alpha, cluster_threshold >= 1 / (P + 1), 1 <= permutations_per_job <= P."""
    if n_permutations < 0:
        raise InputError(f"{INFERENCE}.permutations: {n_permutations} is negative")
    if n_permutations == 0:
        return
    smallest_p = 1 / (n_permutations + 1)  # Phipson & Smyth: no p-value is below 1 / (P + 1)
    if smallest_p > alpha:
        raise InputError(
            f"{INFERENCE}.permutations: {n_permutations} permutations give p-values of at least "
            f"1/{n_permutations + 1} = {smallest_p:.3g}, which cannot reach inference.alpha = {alpha}; "
            f"use at least {needed(alpha) - 1}"
        )
    if cluster_threshold < smallest_p * (1 - 1e-12):
        raise InputError(
            f"{INFERENCE}.cluster_threshold: {cluster_threshold} is below the smallest voxel p-value "
            f"1/{n_permutations + 1} = {smallest_p:.3g} of {n_permutations} permutations, so no voxel "
            f"could form a cluster; use at least {smallest_p:.3g}, or leave it out"
        )
    if not 1 <= permutations_per_job <= n_permutations:
        raise InputError(
            f"{INFERENCE}.permutations_per_job: {permutations_per_job} is not between 1 and "
            f"inference.permutations = {n_permutations}"
        )


def cluster_forming_threshold(cluster_threshold, n_null):
    """The cluster-forming voxel p a subject's statistics use: ``inference.cluster_threshold``,
    or 1 / (n + 1), the smallest voxel p its n null maps resolve, when larger (below it no
    voxel of any map could form a cluster). Only an enumerated design, whose n + 1 = M
    distinct maps are fewer than P + 1, can need it: :func:`check_subject_settings` holds the
    threshold to at least 1 / (P + 1). The sidecars state the one used."""
    return max(cluster_threshold, 1 / (n_null + 1))


def condition_orders(n_conditions):
    """The orders of an RSA contrast's conditions, C!, the identity among them: the
    relabellings its randomization test draws from (snakelight.rsa.models)."""
    return math.factorial(n_conditions)


def enumerates_every_order(n_conditions, n_permutations):
    """Whether ``n_permutations`` relabellings are every order of the conditions but the
    identity (C! - 1: the randomization test enumerates them, an exact test)."""
    return n_permutations == condition_orders(n_conditions) - 1


def distinct_null_maps(n_relabellings, n_renamings):
    """The null maps a design's relabellings can give: relabellings that differ only by a
    renaming of the labels (the same split of the samples) give the same map, so
    n_relabellings / n_renamings (each renaming maps a relabelling to a different one)."""
    return n_relabellings // n_renamings


def check_relabellings(n_distinct, alpha, what):
    """The design's distinct null maps (the real one among them) against alpha: p >= 1 /
    n_distinct. ``what`` describes the design ("the 10 blocks of ... (5 runs)")."""
    if n_distinct * alpha >= 1 * (1 - 1e-12):
        return
    raise InputError(
        f"{INFERENCE}.permute: {what} have only {n_distinct} distinct relabellings within runs (counted "
        f"modulo renaming the labels), so no p-value can reach inference.alpha = {alpha}; it needs "
        f"{needed(alpha)}: use more runs (two conditions, one block each per run: "
        f"{_runs_for(alpha)} runs), or a larger alpha"
    )


def _runs_for(alpha):
    """Runs of one block per condition (two conditions) whose 2^(R - 1) distinct maps reach alpha."""
    return 1 + math.ceil(math.log2(needed(alpha)))


def check_samples_permutable(permute, block_design, samples_mode):
    """``permute: samples`` on a block design's volumes is refused: consecutive volumes of
    one label are not exchangeable (the docs' calibration: 85-98% false positives). Beta
    series (``samples.mode: glm``) and tables of single trials (no label spans consecutive
    volumes) may move single samples."""
    if permute == "samples" and block_design and samples_mode != "glm":
        raise InputError(
            f"{INFERENCE}.permute: samples moves single volumes, but this design's labels come in blocks "
            "of consecutive volumes, which are not exchangeable (calibrated in the docs' statistics page: 85-98% "
            "false positives); use permute: blocks, or beta series (samples.mode: glm)"
        )


def check_sign_flip(n_subjects, n_perm, alpha):
    """Sign flips: 2^N patterns, all of them when 2^N <= n_perm, else n_perm random ones
    and the observed: p >= max(1 / 2^N, 1 / (n_perm + 1))."""
    if 2.0**n_subjects * alpha < 1 * (1 - 1e-12):
        raise InputError(
            f"group.min_subjects: the sign-flip test needs N >= {math.ceil(math.log2(needed(alpha)))} subjects "
            f"at group.alpha {alpha} ({n_subjects} give {2**n_subjects} sign patterns, p >= "
            f"{1 / 2**n_subjects:.3g})"
        )
    if min(n_perm + 1, 2**n_subjects) * alpha < 1 * (1 - 1e-12):
        raise InputError(
            f"group.signflip.n_perm: {n_perm} sign flips give p >= {1 / (n_perm + 1):.3g}, above group.alpha "
            f"{alpha}; use n_perm >= {min(needed(alpha) - 1, 2**n_subjects)}"
        )


def combinations(per_subject, n_subjects):
    """How many ways to pick one map per subject: per_subject^N for one count shared by the
    N subjects, or the product of the subjects' own counts (a sequence)."""
    if np.ndim(per_subject) == 0:
        return int(per_subject) ** n_subjects
    return math.prod(int(count) for count in per_subject)


def check_prevalence(n_subjects, gamma0, alpha, permutations, n_first_level=None):
    """Prevalence inference: the prevalence p is at least gamma0^N, and its second-level
    permutations number min(permutations, n_first_level^N) (all of them when fewer; with a
    count per subject, the product of their counts)."""
    if gamma0**n_subjects > alpha * (1 + 1e-12):
        subjects = math.ceil(math.log(alpha) / math.log(gamma0) - 1e-12)
        raise InputError(
            f"group.prevalence.gamma0: prevalence needs N >= {subjects} subjects at gamma0 {gamma0} and "
            f"alpha {alpha}, or gamma0 <= {alpha ** (1 / n_subjects):.3g} with {n_subjects} subjects "
            f"(p >= gamma0^N = {gamma0**n_subjects:.3g})"
        )
    n_combinations = (
        permutations if n_first_level is None else min(permutations, combinations(n_first_level, n_subjects))
    )
    if n_combinations * alpha < 1 * (1 - 1e-12):
        source = f"{n_combinations} second-level permutations"
        if n_first_level is not None and n_combinations < permutations:
            source += f" (all combinations of {_per_subject(n_first_level)} first-level maps of {n_subjects} subjects)"
        raise InputError(
            f"group.prevalence.permutations: {source} give p >= {1 / n_combinations:.3g}, above group.alpha "
            f"{alpha}; it needs {needed(alpha)}: more permutations, subjects or subject-level null maps"
        )


def _per_subject(counts):
    """A count shared by the subjects, or theirs ("31, 127, 127")."""
    return counts if np.ndim(counts) == 0 else ", ".join(map(str, np.asarray(counts).tolist()))


def stelzer_bootstrap_count(bootstraps, n_null=None, n_subjects=None):
    """Bootstrap maps Stelzer's test draws: min(bootstraps, P^N) (all combinations when fewer;
    ``n_null`` one count for all subjects or one per subject, :func:`combinations`)."""
    if n_null is None or n_subjects is None:
        return bootstraps
    return min(bootstraps, combinations(n_null, n_subjects))


def check_stelzer(bootstraps, p_voxel, alpha, n_null=None, n_subjects=None):
    """Stelzer: B = min(bootstraps, P^N) maps; voxel p >= 1 / (B + 1), and the voxel threshold
    needs p_voxel >= 1 / B."""
    count = stelzer_bootstrap_count(bootstraps, n_null, n_subjects)
    source = f"{count} bootstrap maps" + (
        " (all combinations of one null map per subject)" if count < bootstraps else ""
    )
    if math.floor(p_voxel * count * (1 + 1e-12)) < 1:
        raise InputError(
            f"group.stelzer.p_voxel: {p_voxel} is below 1/{count} = {1 / count:.3g}; {source} cannot resolve "
            f"that voxel threshold: use p_voxel >= {1 / count:.3g}"
        )
    if (count + 1) * alpha < 1 * (1 - 1e-12):
        raise InputError(
            f"group.alpha: {alpha} is below {1 / (count + 1):.3g}, the smallest p that {source} give; "
            f"use at least {needed(alpha) - 1} (group.stelzer.bootstraps, or more subject-level null maps)"
        )
