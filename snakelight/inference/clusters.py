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
"""

import numpy as np
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
