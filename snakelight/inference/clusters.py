"""Connected clusters of supra-threshold voxels, for many maps at once.

A map is given over the process mask's voxels, in its C order: (V,) for one map, (M, V) for M
maps, as chunk outputs and ``masked_samples.npy`` are. Voxels outside the process mask are
never in a cluster, so clusters do not connect through them. Clusters are connected in 3-D
with ``connectivity`` neighbours: 6 (faces, the default), 18 (faces and edges) or 26 (faces,
edges and corners).

Labels are numbered 1..n over all maps together (a map's clusters consecutive, maps in order,
0 = in no cluster), so one ``np.bincount`` gives every cluster's size or mass:

    labels, n = label_clusters(values > threshold, process_mask)
    sizes, masses = cluster_sizes(labels, n), cluster_masses(labels, n, values - threshold)
    largest_size = largest_per_map(labels, sizes)  # (M,), 0 for a map without a cluster

``cluster_peaks`` lists one map's clusters and their peaks as nilearn's ``get_clusters_table``
does, for the report's cluster table (snakelight.report.summary).
"""

import numpy as np
from nibabel.affines import apply_affine
from scipy import ndimage

CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}  # neighbours -> scipy's generate_binary_structure rank


def structure(connectivity):
    """The (3, 3, 3) bool neighbourhood of ``connectivity`` (6, 18 or 26) neighbours."""
    if connectivity not in CONNECTIVITY_RANK:
        raise ValueError(f"connectivity {connectivity!r} is not one of {', '.join(map(str, CONNECTIVITY_RANK))}")
    return ndimage.generate_binary_structure(3, CONNECTIVITY_RANK[connectivity])


def label_clusters(supra, process_mask, connectivity=6):
    """Clusters of ``supra`` (V,) or (M, V) bool, within the 3-D bool ``process_mask``: labels
    of the same shape (int32, numbered 1..n over all maps, 0 = in no cluster) and n.

    Memory: M x the voxels of the process mask's bounding box, as bool and as int32; label many maps in batches.
    """
    supra, process_mask = np.asarray(supra, dtype=bool), np.asarray(process_mask, dtype=bool)
    box = _bounding_box(process_mask)
    inside = process_mask[box]
    grid = np.zeros((*supra.shape[:-1], *inside.shape), dtype=bool)
    grid[..., inside] = supra
    # A stack of maps is labelled at once, along an axis that the structure does not connect.
    neighbours = structure(connectivity).reshape((1,) * (supra.ndim - 1) + (3, 3, 3))
    neighbours = np.pad(neighbours, [(1, 1)] * (supra.ndim - 1) + [(0, 0)] * 3)
    grid_labels, n = ndimage.label(grid, neighbours)
    return grid_labels[..., inside], n


def _bounding_box(process_mask):
    """Slices of the smallest box holding the process mask (cropping keeps its C order)."""
    corners = np.argwhere(process_mask)
    if corners.size == 0:
        return tuple(slice(0, 0) for _ in range(process_mask.ndim))
    return tuple(slice(low, high + 1) for low, high in zip(corners.min(axis=0), corners.max(axis=0)))


def cluster_sizes(labels, n):
    """Voxels in each cluster 1..n: (n,) int."""
    return np.bincount(labels.ravel(), minlength=n + 1)[1:]


def cluster_masses(labels, n, weights):
    """Sum of ``weights`` (the shape of ``labels``) over each cluster 1..n: (n,) float."""
    in_cluster = np.flatnonzero(labels)  # bincount would copy every weight to float64
    return np.bincount(labels.ravel()[in_cluster], weights=np.ravel(weights)[in_cluster], minlength=n + 1)[1:]


def largest_per_map(labels, cluster_values):
    """The largest of ``cluster_values`` (n,) over each map's clusters, for ``labels`` (M, V):
    (M,), and 0 for a map without a cluster (or whose values are all below 0)."""
    owner = np.zeros(len(cluster_values) + 1, dtype=np.intp)
    rows, columns = np.nonzero(labels)
    owner[labels[rows, columns]] = rows
    largest = np.zeros(len(labels), dtype=np.asarray(cluster_values).dtype)
    np.maximum.at(largest, owner[1:], cluster_values)
    return largest


def cluster_peaks(values, process_mask, affine, *, threshold, min_voxels, min_distance=8.0):
    """The clusters and peaks in nilearn's ``get_clusters_table(img, stat_threshold=threshold,
    cluster_threshold=min_voxels, min_distance=min_distance)`` (one-sided), ``img`` being the map
    ``values`` (V,) over the 3-D bool ``process_mask`` and 0 outside it, with the (4, 4)
    ``affine``; ``threshold`` >= 0.

    Returns, highest peak first, one (voxels, ijk (P, 3) int, peak values (P,)) per cluster: its
    size in voxels and its peaks, highest first (the first is the cluster's peak).

    nilearn's rules, kept to list the same rows: non-finite values count as 0; clusters of voxels
    at least ``threshold`` with fewer than ``min_voxels`` are dropped, and those listed are the
    6-connected voxels above it among the others (so a small cluster above the threshold stays
    when voxels at the threshold join it to a large one); a cluster filling the volume is not
    listed; a cluster's peaks are its :func:`_plateau_peaks`, each kept if more than
    ``min_distance`` mm from the last one kept.
    """
    if threshold < 0:
        raise ValueError(f"threshold {threshold!r} is negative: nilearn would list clusters below it")
    values = np.where(np.isfinite(values), values, 0)
    process_mask = np.asarray(process_mask, dtype=bool)
    # nilearn's threshold_img compares with float(threshold) (so in the map's dtype), its table
    # with the threshold as given.
    kept, n_kept = label_clusters((values >= float(threshold)) & (values > 0), process_mask)
    # nilearn skips the first label, meant to be 0; in a volume its clusters fill, that is its
    # one cluster: the size filter keeps it and the table leaves it out.
    fills_volume = process_mask.all()
    large_enough = cluster_sizes(kept, n_kept) >= min_voxels
    large_enough[:1] |= fills_volume and kept.all()
    labels, n = label_clusters((values > threshold) & np.r_[False, large_enough][kept], process_mask)
    if n == 0 or (fills_volume and labels.all()):
        return []
    sizes = cluster_sizes(labels, n)
    # Ties are ordered by the same (unstable) argsort of the same array as nilearn's.
    order = (-ndimage.maximum(values, labels, np.arange(1, n + 1))).argsort()
    grid_labels = np.zeros(process_mask.shape, dtype=labels.dtype)
    grid_labels[process_mask] = labels
    grid_values = np.zeros(process_mask.shape, dtype=values.dtype)
    grid_values[process_mask] = values
    boxes = ndimage.find_objects(grid_labels)
    clusters = []
    for index in order:
        # One voxel around the cluster is all that its maxima's 3 x 3 x 3 filters see.
        box = tuple(slice(max(side.start - 1, 0), side.stop + 1) for side in boxes[index])
        cluster_values = np.where(grid_labels[box] == index + 1, grid_values[box], 0)
        ijk, peak_values = _plateau_peaks(cluster_values, [side.start for side in box])
        by_value = (-peak_values).argsort()
        ijk, peak_values = ijk[by_value], peak_values[by_value]
        far_enough = _far_from_last_kept(apply_affine(affine, ijk), min_distance)
        clusters.append((sizes[index], ijk[far_enough], peak_values[far_enough]))
    return clusters


def _plateau_peaks(cluster_values, origin):
    """nilearn's local maxima of one cluster, ``cluster_values`` (X, Y, Z) (0 outside it) at
    voxel ``origin`` of the map: ijk (P, 3) int in the map and values (P,), one per 6-connected
    plateau of voxels equal to the maximum of their 3 x 3 x 3 neighbourhood and, unless the
    whole cluster is flat (np.isclose), not inside a flat one. A plateau's peak is its
    value-weighted centre rounded to a voxel, or the plateau's voxel nearest it if outside it.
    """
    in_cluster = cluster_values != 0
    neighbourhood_max = ndimage.maximum_filter(cluster_values, 3)
    maxima = in_cluster & (cluster_values == neighbourhood_max)
    if not np.isclose(cluster_values[in_cluster].max(), cluster_values[in_cluster].min()):
        maxima &= neighbourhood_max > ndimage.minimum_filter(cluster_values, 3)
    plateaus, n = ndimage.label(maxima)
    index = np.arange(1, n + 1)
    # Centres from coordinates in the map, so that they round as nilearn's full-map ones do.
    weights = ndimage.sum_labels(cluster_values, plateaus, index)
    coordinates = np.ogrid[tuple(slice(start, start + size) for start, size in zip(origin, cluster_values.shape))]
    centres = np.stack(
        [ndimage.sum_labels(cluster_values * axis.astype(float), plateaus, index) / weights for axis in coordinates],
        axis=1,
    )
    ijk = np.round(centres).astype(int) - origin
    for plateau in np.flatnonzero(plateaus[tuple(ijk.T)] != index):
        voxels = np.argwhere(plateaus == plateau + 1)
        ijk[plateau] = voxels[np.argmin(np.linalg.norm(voxels - ijk[plateau], axis=1))]
    return ijk + origin, cluster_values[tuple(ijk.T)]


def _far_from_last_kept(xyz, min_distance):
    """Which of the peaks at ``xyz`` (P, 3) mm, highest first, nilearn keeps: the first, and each
    more than ``min_distance`` from the last one kept (not from every one kept): (P,) bool."""
    keep = np.ones(len(xyz), dtype=bool)
    last_kept = 0
    for peak in range(1, len(xyz)):
        keep[peak] = np.linalg.norm(xyz[last_kept] - xyz[peak]) > min_distance
        if keep[peak]:
            last_kept = peak
    return keep
