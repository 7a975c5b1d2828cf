"""Stelzer, Chen & Turner (2013, NeuroImage 65:69-82) group inference, with a cluster-level FWE.

Per subject n: the observed accuracy map a_n and P permutation (null) maps, over the V
voxels of a shared mask. With B bootstrap draws d (B, N), each picking one null map per
subject (one shared set, from a seeded rng):

- bootstrap map b: g_b(v) = mean_n null_n[d_bn](v); observed group map g(v) = mean_n a_n(v),
  both summed in subject order and divided by N (bit-identical wherever computed);
- voxel threshold t(v): the (B - floor(p_voxel B))-th smallest of g_1(v) ... g_B(v), i.e.
  the ceil((1 - p_voxel) B)-th order statistic. A voxel is supra-threshold when its value
  is strictly above t(v): at most floor(p_voxel B) bootstrap values at each voxel are;
- uncorrected voxel p of the observed map: (1 + #{b: g_b(v) >= g(v)}) / (1 + B);
- clusters: connected supra-threshold voxels (face, edge or vertex neighbours) of g and of
  every g_b. The null is the size of the largest cluster of each g_b (0 when it has none):
  a cluster of size s has the FWE p (1 + #{b: largest_b >= s}) / (1 + B).

Stelzer et al. pooled every cluster of every bootstrap map (and then used FDR), as
PyMVPA's GroupClusterThreshold does; pooled sizes do not control the family-wise error
(PyMVPA PR #392), so the largest cluster per map is used here.

The bootstrap samples each subject's P null maps, not the population they come from, so
the thresholds inherit the pool's sampling error and the test is liberal with few null
maps: in simulated no-effect studies (tests/test_inference_group.py: N = 6, 1,000 voxels,
smooth maps, B = 2,000, p_voxel = 0.01) the cluster FWE rate at 0.05 was 10.4% with
P = 20 (240 studies) and 6% with P = 100 (200 studies). Use P >= 100, as Stelzer et al.

The B x V bootstrap is never held: it is computed a block of voxels at a time (each block
generating its voxels' B values from the one set of draws), which gives each voxel's
threshold and the bootstrap values above it. Those are all the cluster null needs, so no
bootstrap map is computed twice. The result does not depend on the block size.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from snakelight.inference.feasibility import combinations
from snakelight.inference.group import (
    CONNECTIVITY,
    bootstraps_above_threshold,
    check_group_settings,
    check_maps,
    check_mask,
    combine_subjects,
    stack_null_maps,
)
from snakelight.io import InputError

_STRUCTURES = {c: ndimage.generate_binary_structure(3, c) for c in CONNECTIVITY}
CLUSTER_COLUMNS = ("cluster", "size", "peak_i", "peak_j", "peak_k", "peak_accuracy", "p_fwe")


@dataclass(frozen=True)
class StelzerResult:
    """Maps over the V mask voxels, a cluster table and the cluster null."""

    group_mean: np.ndarray  # (V,) mean over subjects of the observed maps
    thresholds: np.ndarray  # (V,) voxel thresholds t(v)
    p_uncorrected: np.ndarray  # (V,) voxel p of the group mean against its B bootstrap values
    cluster_labels: np.ndarray  # (V,) int: 0 = in no cluster, 1 = the largest cluster, ...
    cluster_p_fwe: np.ndarray  # (V,) FWE p of the voxel's cluster, 1 outside clusters
    significant: np.ndarray  # (V,) bool: in a cluster with p_fwe <= alpha
    clusters: pd.DataFrame  # one row per cluster, CLUSTER_COLUMNS; peak i, j, k index the mask's grid
    largest_null: np.ndarray  # (B,) int: largest cluster of each bootstrap map


def bootstrap_draws(n_bootstraps, n_subjects, n_null, seed):
    """(B, N) int: the null map of each subject that goes into each bootstrap map, from
    ``n_null`` maps per subject (one count, or one per subject): every one of the
    combinations (P^N, or the product of the counts; in order) when there are at most
    ``n_bootstraps`` of them, else ``n_bootstraps`` random ones, each subject's drawn among
    its own maps (with one count, the same draws as a shared count)."""
    counts = np.broadcast_to(n_null, (n_subjects,))
    if combinations(counts, n_subjects) <= n_bootstraps:
        return np.array(list(itertools.product(*map(range, counts))), dtype=np.int64).reshape(-1, n_subjects)
    return np.random.default_rng(seed).integers(0, counts, size=(n_bootstraps, n_subjects))


def stelzer_inference(
    observed,
    null,
    mask,
    *,
    bootstraps=100_000,
    p_voxel=0.001,
    connectivity=1,
    alpha=0.05,
    seed=0,
    draws=None,
    voxel_block=256,
):
    """Stelzer group inference with a cluster-level FWE (see the module docstring).

    observed: (N, V) accuracy maps; null: (N, P, V) permutation maps, or N arrays (P_n, V)
    whose counts differ (designs whose distinct relabellings were enumerated); mask: 3-D
    bool with V voxels (the maps' voxel order is C order, ``volume[mask]``). draws: (B, N)
    int, subject n's in [0, P_n), to use instead of ``bootstraps`` draws from ``seed``. Memory besides the inputs:
    one copy of ``null``, 16 x B x voxel_block bytes for a block of bootstrap values and
    8 bytes per supra-threshold bootstrap value (at most floor(p_voxel B) x V of them).
    """
    mask = check_mask(mask)
    observed = check_maps("observed", observed, 2, np.count_nonzero(mask))
    null, n_null = stack_null_maps("null", null, np.count_nonzero(mask))
    n_subjects = len(null)
    if observed.shape[0] != n_subjects:
        raise InputError(f"null: maps of {n_subjects} subjects, but observed has {observed.shape[0]}")
    check_group_settings(
        {
            "alpha": alpha,
            "stelzer": {
                "bootstraps": bootstraps if draws is None else len(draws),
                "p_voxel": p_voxel,
                "connectivity": connectivity,
            },
        },
        n_subjects,
        n_null + 1 if draws is None else None,
    )
    if draws is None:
        draws = bootstrap_draws(bootstraps, n_subjects, n_null, seed)
    elif draws.shape[1:] != (n_subjects,) or draws.min() < 0 or np.any(draws >= n_null):
        raise ValueError(
            f"draws: shape {draws.shape}, values {draws.min()}..{draws.max()}; expected "
            f"(B, {n_subjects}), subject n's in 0..P_n - 1 (P_n: {', '.join(map(str, n_null))})"
        )
    n_bootstraps = len(draws)
    group_mean = _subject_mean(observed[:, None], np.zeros((n_subjects, 1), dtype=np.intp))[0]
    thresholds, n_at_least, supra = bootstrap_thresholds(null, draws, group_mean, p_voxel, voxel_block)
    largest_null = largest_null_clusters(*supra, n_bootstraps, mask, connectivity)
    cluster_labels = _observed_clusters(group_mean > thresholds, mask, connectivity)
    clusters = _cluster_table(cluster_labels, group_mean, mask, largest_null)
    cluster_p_fwe = np.concatenate([[1.0], clusters["p_fwe"].to_numpy(dtype=float)])[cluster_labels]
    return StelzerResult(
        group_mean=group_mean,
        thresholds=thresholds,
        p_uncorrected=(1 + n_at_least) / (1 + n_bootstraps),
        cluster_labels=cluster_labels,
        cluster_p_fwe=cluster_p_fwe,
        significant=cluster_p_fwe <= alpha,
        clusters=clusters,
        largest_null=largest_null,
    )


def bootstrap_thresholds(null, draws, group_mean, p_voxel, voxel_block=256):
    """The bootstrap maps draws (B, N) make of null (N, P, V), a block of voxels at a time.

    Returns thresholds t(v) (V,), #{b: g_b(v) >= g(v)} (V,) for the group mean g (V,), and
    every bootstrap value above its voxel's threshold as index arrays (bootstraps, voxels),
    int32, in voxel order: at most floor(p_voxel B) per voxel.
    """
    n_subjects, _, n_voxels = null.shape
    n_bootstraps = len(draws)
    rank = n_bootstraps - bootstraps_above_threshold(p_voxel, n_bootstraps) - 1  # 0-based
    picks = np.ascontiguousarray(draws.T)
    # Each voxel's (N, P) null values contiguous: one-dimensional takes are numpy's fast ones.
    by_voxel = np.ascontiguousarray(null.transpose(2, 0, 1))
    thresholds = np.empty(n_voxels)
    n_at_least = np.empty(n_voxels, dtype=np.int64)
    supra_bootstraps, supra_voxels = [], []
    buffers = np.empty((2, min(voxel_block, n_voxels), n_bootstraps))
    for start in range(0, n_voxels, voxel_block):
        stop = min(start + voxel_block, n_voxels)
        values, scratch = buffers[:, : stop - start]
        for row, voxel in enumerate(range(start, stop)):
            combine_subjects(by_voxel[voxel], picks, np.add, values[row], scratch[row])
        values /= n_subjects
        n_at_least[start:stop] = np.count_nonzero(values >= group_mean[start:stop, None], axis=1)
        np.copyto(scratch, values)
        scratch.partition(rank, axis=1)
        thresholds[start:stop] = scratch[:, rank]
        rows, bootstraps = np.nonzero(values > thresholds[start:stop, None])
        supra_bootstraps.append(bootstraps.astype(np.int32))
        supra_voxels.append((rows + start).astype(np.int32))
    return thresholds, n_at_least, (np.concatenate(supra_bootstraps), np.concatenate(supra_voxels))


def _subject_mean(maps, picks):
    """(b, V): the mean over subjects of the maps (N, M, V) that the picks (N, b) choose,
    computed as the bootstrap values are."""
    out, scratch = np.empty((2, picks.shape[1], maps.shape[2]))
    combine_subjects(maps, picks, np.add, out, scratch)
    out /= len(maps)
    return out


def largest_null_clusters(supra_bootstraps, supra_voxels, n_bootstraps, mask, connectivity):
    """(B,) int: the largest cluster of each bootstrap map, 0 where none, from its
    supra-threshold voxels: the pairs (supra_bootstraps, supra_voxels) of voxel indices."""
    # Label only the mask's bounding box: outside it no voxel is supra-threshold.
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    positions = np.flatnonzero(mask[box])
    volume = np.zeros(mask[box].shape, dtype=bool)
    order = np.argsort(supra_bootstraps, kind="stable")
    flat_positions = positions[supra_voxels[order]]
    bounds = np.searchsorted(supra_bootstraps[order], np.arange(n_bootstraps + 1))
    return np.array(
        [
            _largest_cluster(flat_positions[first:last], volume, connectivity)
            for first, last in itertools.pairwise(bounds)
        ],
        dtype=np.int64,
    )


def _largest_cluster(voxels, volume, connectivity):
    """Size of the largest cluster the flat positions ``voxels`` form in ``volume`` (all
    False, and left so)."""
    if len(voxels) < 2:
        return len(voxels)
    flat = volume.reshape(-1)
    flat[voxels] = True
    labels, _ = _label_clusters(volume, connectivity)
    flat[voxels] = False
    return np.bincount(labels.reshape(-1)[voxels]).max()


def _label_clusters(volume, connectivity):
    """scipy.ndimage.label of a 3-D bool volume with 1 face, 2 edge or 3 vertex connectivity:
    (int32 labels, 0 = background; number of clusters)."""
    return ndimage.label(volume, structure=_STRUCTURES[connectivity])


def _observed_clusters(supra, mask, connectivity):
    """(V,) int cluster labels of the supra-threshold voxels (V,) bool, numbered by
    decreasing size; equal sizes keep ndimage's order (first voxel in C order)."""
    volume = np.zeros(mask.shape, dtype=bool)
    volume[mask] = supra
    labels, count = _label_clusters(volume, connectivity)
    labels = labels[mask]
    sizes = np.bincount(labels, minlength=count + 1)[1:]
    renumber = np.zeros(count + 1, dtype=np.int64)
    renumber[np.argsort(-sizes, kind="stable") + 1] = np.arange(1, count + 1)
    return renumber[labels]


def _cluster_table(cluster_labels, group_mean, mask, largest_null):
    """One row per cluster (CLUSTER_COLUMNS): size, peak voxel (first maximum of the group
    mean, as grid indices), peak accuracy, FWE p from the largest-cluster null."""
    grid_index = np.argwhere(mask)
    sorted_null = np.sort(largest_null)
    rows = []
    for cluster in range(1, cluster_labels.max(initial=0) + 1):
        members = np.flatnonzero(cluster_labels == cluster)
        peak = members[np.argmax(group_mean[members])]
        n_at_least = len(sorted_null) - np.searchsorted(sorted_null, len(members))
        rows.append(
            (
                cluster,
                len(members),
                *map(int, grid_index[peak]),
                group_mean[peak],
                (1 + n_at_least) / (1 + len(sorted_null)),
            )
        )
    return pd.DataFrame(rows, columns=CLUSTER_COLUMNS)
