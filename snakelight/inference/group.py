"""Group-level searchlight inference: settings, input checks and what the three methods share.

The methods (each in its own module) take per-subject accuracy maps over the V voxels of
one shared 3-D ``mask`` (C order, as ``map_3d[mask]`` gives them):

- :func:`snakelight.inference.stelzer.stelzer_inference`: Stelzer, Chen & Turner (2013)
  bootstrap of subjects' permutation maps, cluster-level FWE on the largest cluster;
- :func:`snakelight.inference.prevalence.prevalence_inference`: Allefeld, Görgen &
  Haynes (2016) permutation-based prevalence inference with the minimum statistic;
- :func:`snakelight.inference.signflip.sign_flip_inference`: the sign-flip one-sample
  test of accuracy - chance (max-t, exact TFCE and cluster FWE; every sign pattern when
  2^N <= n_perm).

Settings are checked by :func:`check_group_settings`, shaped as the config's ``group``
section; a bad one raises :class:`snakelight.io.InputError` naming the config key.
"""

import math
from numbers import Integral, Real

import nibabel as nib
import numpy as np

from snakelight.inference import feasibility
from snakelight.io import InputError

# Group statistics need a spread over subjects; sign-flip tests need more (_check_sign_flip).
MIN_SUBJECTS = 2
CONNECTIVITY = {1: "face", 2: "edge", 3: "vertex"}


def method_maps(method, settings):
    """The maps (file names without ``.nii.gz``) that group ``method`` writes, for the
    config's ``group`` section ``settings``."""
    if method == "stelzer":
        return ("group_mean", "threshold", "logp_uncorrected", "logp_cluster_fwe", "cluster_labels")
    if method == "prevalence":
        return (
            "minimum",
            "logp_global",
            "logp_global_fwe",
            "logp_prevalence",
            "logp_prevalence_fwe",
            "gamma_bound_fwe",
        )
    # The sign-flip test's maps (nilearn's non_parametric_inference names); the cluster ones only with a threshold.
    clusters = ("size", "logp_max_size", "mass", "logp_max_mass") if settings["signflip"]["threshold"] else ()
    return ("t", "logp_max_t", "tfce", "logp_max_tfce", *clusters)


def check_group_settings(settings, n_subjects, n_first_level=None):
    """Check the config's ``group`` section for a study of ``n_subjects``.

    ``settings`` holds ``alpha`` and optionally ``min_subjects`` and one section per
    method to run: ``stelzer`` (``bootstraps``, ``p_voxel``, ``connectivity``),
    ``prevalence`` (``permutations``, ``gamma0``), ``signflip`` (``n_perm``,
    ``threshold``). ``n_first_level``: maps per subject the prevalence test combines
    (observed + null maps), when known: one count for all, or one per subject (designs whose
    distinct relabellings were enumerated have fewer); it caps the second-level permutations
    and Stelzer's bootstraps. Whether each test can reach alpha is
    :mod:`snakelight.inference.feasibility`'s. Raises InputError naming the first bad key.
    """
    alpha = settings["alpha"]
    _check_fraction("group.alpha", alpha)
    min_subjects = settings.get("min_subjects", MIN_SUBJECTS)
    _check_count("group.min_subjects", min_subjects, MIN_SUBJECTS)
    if n_subjects < min_subjects:
        raise InputError(f"group.min_subjects: {n_subjects} subject(s), fewer than the {min_subjects} required")
    n_null = None if n_first_level is None else np.asarray(n_first_level) - 1
    if "stelzer" in settings:
        _check_stelzer(settings["stelzer"], alpha, n_subjects, n_null)
    if "prevalence" in settings:
        _check_prevalence(settings["prevalence"], alpha, n_subjects, n_first_level)
    if "signflip" in settings:
        _check_sign_flip(settings["signflip"], alpha, n_subjects)


def check_group_subjects(subjects, settings, n_first_level=None):
    """:func:`check_group_settings` for the analysis's ``subjects`` (their labels), its
    message naming the config key as the workflow's config errors do: called at parse
    time, or for bids at discovery, where the subjects are first known."""
    try:
        check_group_settings(settings, len(subjects), n_first_level)
    except InputError as error:
        raise InputError(f"config key {error}") from None


def _check_stelzer(stelzer, alpha, n_subjects, n_null):
    bootstraps = stelzer["bootstraps"]
    _check_count("group.stelzer.bootstraps", bootstraps, 1)
    _check_fraction("group.stelzer.p_voxel", stelzer["p_voxel"])
    if stelzer["connectivity"] not in CONNECTIVITY:
        raise InputError(
            f"group.stelzer.connectivity: {stelzer['connectivity']!r} is not one of 1 (face), 2 (edge), 3 (vertex)"
        )
    # Without the subject-level count (P unknown yet) the bootstraps alone bound it.
    feasibility.check_stelzer(bootstraps, stelzer["p_voxel"], alpha, n_null, n_subjects)


def _check_prevalence(prevalence, alpha, n_subjects, n_first_level):
    permutations = prevalence["permutations"]
    _check_count("group.prevalence.permutations", permutations, 1)
    gamma0 = prevalence.get("gamma0", 0.5)
    _check_fraction("group.prevalence.gamma0", gamma0)
    feasibility.check_prevalence(n_subjects, gamma0, alpha, permutations, n_first_level)


def bootstraps_above_threshold(p_voxel, n_bootstraps):
    """floor(p_voxel B): how many bootstrap values at a voxel may lie above its threshold,
    forgiving the rounding of p_voxel's decimal (0.29 x 100 = 28.999...)."""
    return math.floor(p_voxel * n_bootstraps * (1 + 1e-12))


def _check_sign_flip(sign_flip, alpha, n_subjects):
    n_perm = sign_flip["n_perm"]
    _check_count("group.signflip.n_perm", n_perm, 1)
    if sign_flip["threshold"] is not None:
        _check_fraction("group.signflip.threshold", sign_flip["threshold"])
    feasibility.check_sign_flip(n_subjects, n_perm, alpha)


def _check_count(key, value, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise InputError(f"{key}: {value!r} is not an integer of at least {minimum}")


def _check_fraction(key, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < 1:
        raise InputError(f"{key}: {value!r} is not a number between 0 and 1 (exclusive)")


def stack_subject_maps(maps, names):
    """One array from per-subject arrays of one shape: N arrays of shape S -> (N, *S) float64.

    ``names`` (one per subject, e.g. the files read) name the culprit when shapes differ
    or a value is not finite.
    """
    first = np.shape(maps[0])
    for subject_maps, name in zip(maps, names, strict=True):
        if np.shape(subject_maps) != first:
            raise InputError(
                f"{name}: maps of shape {_shape(np.shape(subject_maps))} differ from "
                f"{names[0]}'s {_shape(first)}; every subject's maps must share one grid"
            )
        if not np.all(np.isfinite(subject_maps)):
            raise InputError(f"{name}: {np.count_nonzero(~np.isfinite(subject_maps))} map values are NaN or infinite")
    return np.stack(maps).astype(np.float64, copy=False)


def stack_null_maps(name, null, n_voxels):
    """The subjects' null maps, (N, P, V) or N arrays (P_n, V) whose counts P_n may differ (a
    design whose distinct relabellings were enumerated has fewer), checked as
    :func:`check_maps`: one (N, max P_n, V) float64 array, a subject's rows past its count
    zero (no draw picks them), and the counts (N,) int."""
    counts = np.array([len(maps) for maps in null], dtype=np.int64)
    if isinstance(null, np.ndarray) or len(set(counts.tolist())) == 1:
        return check_maps(name, null, 3, n_voxels), counts
    padded = np.zeros((len(null), counts.max(), n_voxels))
    for subject, maps in enumerate(null):
        if np.ndim(maps) != 2 or np.shape(maps)[1] != n_voxels:
            raise InputError(f"{name}: subject {subject + 1}'s maps have shape {np.shape(maps)}, not (P, {n_voxels})")
        padded[subject, : counts[subject]] = maps
    return check_maps(name, padded, 3, n_voxels), counts


def check_maps(name, maps, ndim, n_voxels=None):
    """``maps`` as float64, checked: ``ndim`` axes, subjects first (at least MIN_SUBJECTS),
    ``n_voxels`` (when given) along the last, every value finite."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != ndim:
        raise InputError(f"{name}: {maps.ndim} axes (shape {_shape(maps.shape)}), expected {ndim}")
    if n_voxels is not None and maps.shape[-1] != n_voxels:
        raise InputError(f"{name}: {maps.shape[-1]} voxels per map, but the mask has {n_voxels}")
    if maps.shape[0] < MIN_SUBJECTS:
        raise InputError(f"group.min_subjects: {name} holds {maps.shape[0]} subject(s), fewer than {MIN_SUBJECTS}")
    if not np.all(np.isfinite(maps)):
        raise InputError(f"{name}: {np.count_nonzero(~np.isfinite(maps))} values are NaN or infinite")
    return maps


def check_mask(mask):
    """The mask as a 3-D bool array, with at least one voxel."""
    mask = np.asarray(mask)
    if mask.ndim != 3 or not np.any(mask):
        raise InputError(
            f"mask: shape {_shape(mask.shape)} with {np.count_nonzero(mask)} voxels; it must be 3-D and non-empty"
        )
    return mask.astype(bool, copy=False)


def combine_subjects(maps, picks, combine, out, scratch):
    """Per draw, combine (a ufunc: np.add, np.minimum) the one map per subject it picks,
    subject after subject: each result is the same float64 number whatever the block that
    computes it.

    maps: (N, M, ...) with picks (N, b) int in [0, M) -> out (b, ...); scratch: out's shape.
    """
    np.take(maps[0], picks[0], axis=0, mode="clip", out=out)
    for subject in range(1, len(maps)):
        combine(out, np.take(maps[subject], picks[subject], axis=0, mode="clip", out=scratch), out=out)
    return out


def _shape(shape):
    return "x".join(map(str, shape)) or "scalar"


def to_images(values, mask, affine):
    """Put in-mask values back on the grid: (V,) -> one 3-D image, (N, V) -> N of them; zeros
    outside. Bool values become uint8 (NIfTI has no bool)."""
    values = np.asarray(values)
    if values.dtype == bool:
        values = values.astype(np.uint8)
    if values.ndim == 2:
        return [to_images(row, mask, affine) for row in values]
    volume = np.zeros(mask.shape, dtype=values.dtype)
    volume[mask] = values
    return nib.Nifti1Image(volume, affine)
