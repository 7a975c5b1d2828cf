"""Subject-level permutation inference on a searchlight map: voxel, cluster and TFCE FWE.

Inputs are maps over the process mask's voxels (C order): ``observed`` (V,), the real labels'
map, and ``null`` (P, V), the maps of permutations 1..P (:mod:`snakelight.inference.permutations`;
float32 is fine). The observed map is one of P + 1 maps that are exchangeable under the null,
so every p-value is (1 + #{null statistics >= observed}) / (1 + P) (Phipson & Smyth 2010): never
0, and at most alpha for a true null at most alpha of the time. Tests are one-sided: only scores
above chance are evidence.

Observed values are compared in the lower precision of the two arrays, so that a null score
equal to the observed one ties (float32(0.7) < 0.7 would otherwise make it smaller).
"""

from typing import NamedTuple

import numpy as np
import pandas as pd
from nibabel.affines import apply_affine
from scipy.stats import rankdata

from snakelight.inference import clusters
from snakelight.inference import tfce as exact_tfce

VOXELS_PER_BATCH = 2**22  # maps (voxels, for ranks) are taken a batch at a time, to bound memory
CLUSTER_COLUMNS = ["cluster", "size", "mass", "peak_i", "peak_j", "peak_k", "peak_score", "p_fwe_size", "p_fwe_mass"]


def _comparable(observed, null):
    """``observed`` (V,) and ``null`` (P, V) as arrays of the less precise of their float types."""
    observed, null = np.asarray(observed), np.asarray(null)
    dtype = min(observed.dtype, null.dtype, key=lambda dtype: dtype.itemsize)
    return observed.astype(dtype, copy=False), null.astype(dtype, copy=False)


def exceedance_p(observed, null):
    """(1 + #{k: null[k] >= observed}) / (1 + P), for ``observed`` (...) and ``null`` (P, ...)."""
    return (1 + np.count_nonzero(null >= observed, axis=0)) / (1 + len(null))


def max_statistic_p(observed, null_maxima):
    """FWE p of each ``observed`` value (...) against the maxima (P,) of the null maps:
    (1 + #{k: null_maxima[k] >= observed}) / (1 + P)."""
    sorted_maxima = np.sort(null_maxima)
    at_least = len(sorted_maxima) - np.searchsorted(sorted_maxima, observed, side="left")
    return (1 + at_least) / (1 + len(sorted_maxima))


def voxel_p_values(observed, null):
    """Uncorrected p of each voxel, and -log10 p: two (V,) arrays."""
    p = exceedance_p(*_comparable(observed, null))
    return p, -np.log10(p)


def voxel_fwe(observed, null):
    """FWE-corrected p of each voxel (V,), from the null distribution of the maximum over the
    process mask: (1 + #{k: max over v' of null[k, v'] >= observed[v]}) / (1 + P)."""
    observed, null = _comparable(observed, null)
    return max_statistic_p(observed, null.max(axis=1))


def _batches(n_items, values_per_item):
    """Slices of ``n_items`` maps (or voxels) that hold about VOXELS_PER_BATCH values together."""
    step = max(1, VOXELS_PER_BATCH // max(1, values_per_item))
    return [slice(start, start + step) for start in range(0, n_items, step)]


def cluster_forming(maps, threshold):
    """Voxels of ``maps`` (M, V) whose voxel p is at most ``threshold``: (M, V) bool.

    Every map, observed and null alike, gets its p from the same M maps: map m's p at v is
    #{m': maps[m', v] >= maps[m, v]} / M. For the observed map (with the P nulls, M = P + 1)
    this is :func:`voxel_p_values`' p, and the rule treats all maps the same, which keeps the
    null maps' largest clusters exchangeable with the observed ones.
    """
    supra = np.empty(maps.shape, dtype=bool)
    for voxels in _batches(maps.shape[1], len(maps)):  # rankdata's int64 ranks, a block of voxels at a time
        at_least = rankdata(-maps[:, voxels], method="max", axis=0)
        supra[:, voxels] = at_least / len(maps) <= threshold
    return supra


class ClusterInference(NamedTuple):
    labels: np.ndarray  # (V,) int: the observed clusters, numbered as the table's rows; 0 = in none
    table: pd.DataFrame  # one row per observed cluster, largest first, with CLUSTER_COLUMNS
    null_size: np.ndarray  # (P,) the largest cluster's size (voxels) in each null map, 0 when none
    null_mass: np.ndarray  # (P,) the largest cluster mass in each null map, 0 when none


def cluster_fwe(observed, null, process_mask, *, chance, threshold, connectivity=6):
    """Cluster-level FWE inference, by cluster size and by cluster mass.

    Clusters: voxels whose voxel p (rule of :func:`cluster_forming`) is at most ``threshold``,
    connected in the 3-D bool ``process_mask`` with ``connectivity`` neighbours. A cluster's
    mass is the sum of (score - chance) over its voxels: it keeps the scores' heights, which
    -log10 p loses at the smallest p of 1 / (P + 1). An observed cluster's FWE p compares its
    size (mass) with the largest size (mass) of each null map (:func:`max_statistic_p`).
    Memory: a copy of the null, plus (P + 1) x V bool.
    """
    scores = np.asarray(observed, dtype=np.float64)  # as given, for the table's peaks
    observed, null = _comparable(observed, null)
    maps = np.vstack([observed[None], null])
    supra = cluster_forming(maps, threshold)
    largest = np.zeros((2, len(maps)))
    for batch in _batches(len(maps), observed.size):
        labels, n = clusters.label_clusters(supra[batch], process_mask, connectivity)
        sizes = clusters.cluster_sizes(labels, n)
        masses = clusters.cluster_masses(labels, n, maps[batch]) - chance * sizes
        largest[:, batch] = clusters.largest_per_map(labels, sizes), clusters.largest_per_map(labels, masses)
        if batch.start == 0:  # the observed map is the first; its clusters are 1..labels[0].max()
            observed_labels = labels[0]
            observed_sizes, observed_masses = sizes[: labels[0].max()], masses[: labels[0].max()]
    null_size, null_mass = largest[:, 1:]
    order = np.lexsort((-observed_masses, -observed_sizes))  # largest first, then heaviest
    renumbered = np.zeros(order.size + 1, dtype=observed_labels.dtype)
    renumbered[order + 1] = np.arange(1, order.size + 1)
    labels = renumbered[observed_labels]
    sizes, masses = observed_sizes[order], observed_masses[order]
    peaks = _peaks(labels, scores, order.size)
    table = pd.DataFrame(
        {
            "cluster": np.arange(1, order.size + 1),
            "size": sizes,
            "mass": masses,
            **dict(zip(["peak_i", "peak_j", "peak_k"], np.argwhere(process_mask)[peaks].T)),
            "peak_score": scores[peaks],
            "p_fwe_size": max_statistic_p(sizes, null_size),
            "p_fwe_mass": max_statistic_p(masses, null_mass),
        },
        columns=CLUSTER_COLUMNS,
    )
    return ClusterInference(labels, table, null_size.astype(int), null_mass)


def _peaks(labels, scores, n):
    """The highest-scoring voxel of each cluster 1..n of ``labels`` (V,): (n,) voxel indices
    (on a tie, the first in C order)."""
    by_cluster_then_score = np.lexsort((-scores, labels))
    first = np.searchsorted(labels[by_cluster_then_score], np.arange(1, n + 1))
    return by_cluster_then_score[first]


def add_mm_coordinates(table, affine):
    """``table`` with columns x_mm, y_mm, z_mm: each peak voxel (peak_i, peak_j, peak_k) in
    the space of ``affine`` (4, 4)."""
    x, y, z = apply_affine(affine, table[["peak_i", "peak_j", "peak_k"]].to_numpy()).reshape(-1, 3).T
    return table.assign(x_mm=x, y_mm=y, z_mm=z)


def tfce(maps, process_mask, *, connectivity=6):
    """Threshold-free cluster enhancement of ``maps`` (V,) or (M, V) (score - chance): float64
    of the same shape, computed exactly (no height steps) by :func:`snakelight.inference.tfce.tfce`:
    TFCE(v) = integral from 0 to the value of v of e(h, v)^E h^H dh, e(h, v) the size of v's
    cluster among the voxels >= h, E = 0.5, H = 2. One-sided: values at most 0 get 0.
    nilearn's calculate_tfce x dh approximates it at 100 heights (dh = the map's maximum / 100).
    """
    return exact_tfce.tfce(maps, process_mask, connectivity=connectivity)


class TfceInference(NamedTuple):
    tfce: np.ndarray  # (V,) the observed map's TFCE
    p_fwe: np.ndarray  # (V,) its FWE-corrected p
    null_max: np.ndarray  # (P,) the largest TFCE of each null map


def tfce_maxima(null, process_mask, *, chance, connectivity=6):
    """The largest TFCE of (score - chance) in each of the maps ``null`` (P, V): (P,).

    A map's TFCE depends on that map alone, so blocks of permutations can be reduced apart
    (e.g. in the jobs that score them) and their maxima concatenated.
    """
    neighbour_index = exact_tfce.neighbours(process_mask, connectivity)
    return np.concatenate(
        [exact_tfce.maxima(null[batch] - chance, neighbour_index)[0] for batch in _batches(len(null), null.shape[1])]
    )


def tfce_fwe(observed, null, process_mask, *, chance, connectivity=6):
    """TFCE of (score - chance) for the observed map and each null map (:func:`tfce`), and each
    voxel's FWE p from the null distribution of the maximum TFCE (:func:`max_statistic_p`)."""
    observed, null = _comparable(observed, null)
    enhanced = tfce(observed - chance, process_mask, connectivity=connectivity)
    null_max = tfce_maxima(null, process_mask, chance=chance, connectivity=connectivity)
    return TfceInference(enhanced, max_statistic_p(enhanced, null_max), null_max)
