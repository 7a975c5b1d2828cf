"""Threshold-free cluster enhancement computed exactly, without height steps, and the largest
cluster above a threshold, for many maps at once.

A map is given over the process mask's voxels, in its C order: (V,) for one map, (M, V) for M
maps (as in :mod:`snakelight.inference.clusters`); voxels outside the process mask are in no
cluster. One-sided: only values above 0 are enhanced.

TFCE (Smith & Nichols 2009) of voxel v with value x_v > 0 is the integral

    TFCE(v) = integral from 0 to x_v of e(h, v)^E h^H dh,      E = 0.5, H = 2,

e(h, v) being the size of v's cluster among the voxels whose value is at least h. As h falls,
e(h, v) changes only where a voxel joins: at the map's values. So voxels are sorted once,
highest first; each joins at its own value and merges its neighbours' clusters with a
union-find; between two merge heights a cluster's size is constant and its integral is
size^E (h_top^(H+1) - h_bottom^(H+1)) / (H+1), added to the cluster's root lazily (when it
next changes). A voxel's TFCE is the sum of what its roots gathered, kept as offsets along
the union-find's paths. Cost per map: one sort and about V near-constant-time unions.

nilearn's ``calculate_tfce`` (and fslmaths) sum e(h_j)^E h_j^H at 100 heights h_j = j dh
instead, leaving out dh; theirs x dh converges to this integral as dh falls.
"""

import numpy as np
from numba import njit

from snakelight.inference.clusters import structure

TFCE_E, TFCE_H = 0.5, 2.0  # extent and height exponents, as nilearn and FSL


def neighbours(process_mask, connectivity=6):
    """Each process-mask voxel's neighbours in the process mask: (V, K) intp voxel indices
    (C order), padded with -1; K = 6, 18 or 26 (``connectivity``)."""
    process_mask = np.asarray(process_mask, dtype=bool)
    index = np.full(np.add(process_mask.shape, 2), -1, dtype=np.intp)
    inner = tuple(slice(1, -1) for _ in range(3))
    index[inner][process_mask] = np.arange(np.count_nonzero(process_mask))
    offsets = np.argwhere(structure(connectivity)) - 1
    offsets = offsets[np.any(offsets != 0, axis=1)]
    ijk = np.argwhere(process_mask) + 1
    found = np.stack([index[tuple((ijk + offset).T)] for offset in offsets], axis=1)
    # Neighbours first, -1 last: the kernel stops at the first -1.
    return np.take_along_axis(found, np.argsort(found < 0, axis=1, kind="stable"), axis=1)


def tfce(maps, process_mask, *, connectivity=6, E=TFCE_E, H=TFCE_H):
    """Exact TFCE of ``maps`` (V,) or (M, V) over the 3-D bool ``process_mask``: float64 of
    the same shape, 0 where a value is at most 0."""
    maps = np.asarray(maps, dtype=np.float64)
    stacked = np.ascontiguousarray(maps.reshape(-1, maps.shape[-1]))
    out = np.zeros(stacked.shape)
    _tfce_maps(stacked, *_orders(stacked), neighbours(process_mask, connectivity), float(E), float(H), out)
    return out.reshape(maps.shape)


def maxima(maps, neighbour_index, *, threshold=np.inf, E=TFCE_E, H=TFCE_H):
    """Per map of ``maps`` (M, V): its largest TFCE, and its largest cluster's size and mass
    (sum of value - threshold) among the voxels above ``threshold`` (0 without any; inf: no
    clusters): three (M,) float64. ``neighbour_index``: :func:`neighbours` of the process mask."""
    maps = np.ascontiguousarray(maps, dtype=np.float64)
    result = np.zeros((3, len(maps)))
    _maxima(maps, *_orders(maps), neighbour_index, float(threshold), float(E), float(H), result)
    return result


def _orders(maps):
    """Each map's voxels above 0, highest first, one map after another: (n,) intp, and where
    each map's start: (M + 1,) intp. numpy sorts these several times faster than numba."""
    orders = []
    for values in maps:
        positive = np.flatnonzero(values > 0)
        orders.append(positive[np.argsort(-values[positive])])
    starts = np.zeros(len(maps) + 1, dtype=np.intp)
    np.cumsum([order.size for order in orders], out=starts[1:])
    return np.concatenate(orders, dtype=np.intp) if orders else np.zeros(0, np.intp), starts


@njit(cache=True, nogil=True)
def _root(parent, offset, voxel):
    """The root of ``voxel``'s cluster; compresses the path, keeping each voxel's sum of
    offsets up to (and without) the root."""
    root = voxel
    below_root = 0.0
    while parent[root] != root:
        below_root += offset[root]
        root = parent[root]
    node = voxel
    while parent[node] != root and node != root:
        up = parent[node]
        own = offset[node]
        offset[node] = below_root
        parent[node] = root
        below_root -= own
        node = up
    return root


@njit(cache=True, nogil=True)
def _settle(root, height, size, offset, last, E, H):
    """Add the integral of size^E h^H from height up to the root's last settled height."""
    if E == 0.5 and H == 2.0:  # the usual exponents, without pow
        top, bottom = last[root], height
        offset[root] += np.sqrt(size[root]) * (top * top * top - bottom * bottom * bottom) / 3.0
    else:
        offset[root] += size[root] ** E * (last[root] ** (H + 1) - height ** (H + 1)) / (H + 1)
    last[root] = height


@njit(cache=True, nogil=True)
def _enhance(values, order, neighbour_index, threshold, E, H, scratch, out):
    """TFCE of one map ``values`` (V,) into ``out`` (V,), ``order`` (n,) being its voxels above
    0, highest first; ``scratch``: :func:`_scratch`'s (V,) arrays (``entered`` all False on entry
    and on return). Returns the largest TFCE and the largest cluster size and mass above
    ``threshold``."""
    parent, offset, size, last, mass, entered = scratch
    n_positive = order.size
    largest_size = 0.0
    largest_mass = 0.0
    for rank in range(n_positive):
        voxel = order[rank]
        height = values[voxel]
        parent[voxel] = voxel
        offset[voxel] = 0.0
        size[voxel] = 1.0
        last[voxel] = height
        mass[voxel] = height - threshold
        entered[voxel] = True
        root = voxel
        for k in range(neighbour_index.shape[1]):
            other = neighbour_index[voxel, k]
            if other < 0:
                break
            if not entered[other]:
                continue
            other_root = _root(parent, offset, other)
            if other_root == root:
                continue
            _settle(other_root, height, size, offset, last, E, H)
            _settle(root, height, size, offset, last, E, H)
            big, small = (other_root, root) if size[other_root] >= size[root] else (root, other_root)
            parent[small] = big
            offset[small] -= offset[big]
            size[big] += size[small]
            mass[big] += mass[small]
            root = big
        if height > threshold:
            largest_size = max(largest_size, size[root])
            largest_mass = max(largest_mass, mass[root])
    largest_tfce = 0.0
    for rank in range(n_positive):
        voxel = order[rank]
        if parent[voxel] == voxel:
            _settle(voxel, 0.0, size, offset, last, E, H)
    for rank in range(n_positive):
        voxel = order[rank]
        root = _root(parent, offset, voxel)
        total = offset[voxel] if root == voxel else offset[voxel] + offset[root]
        out[voxel] = total
        largest_tfce = max(largest_tfce, total)
        entered[voxel] = False
    return largest_tfce, largest_size, largest_mass


@njit(cache=True, nogil=True)
def _scratch(n_voxels):
    """A map's union-find: parent (intp), offset, size, last settled height, mass, entered (bool)."""
    return (
        np.empty(n_voxels, dtype=np.intp),
        np.empty(n_voxels),
        np.empty(n_voxels),
        np.empty(n_voxels),
        np.empty(n_voxels),
        np.zeros(n_voxels, dtype=np.bool_),
    )


@njit(cache=True, nogil=True)
def _tfce_maps(maps, orders, starts, neighbour_index, E, H, out):
    scratch = _scratch(maps.shape[1])
    for m in range(maps.shape[0]):
        _enhance(maps[m], orders[starts[m] : starts[m + 1]], neighbour_index, np.inf, E, H, scratch, out[m])


@njit(cache=True, nogil=True)
def _maxima(maps, orders, starts, neighbour_index, threshold, E, H, result):
    scratch = _scratch(maps.shape[1])
    out = np.zeros(maps.shape[1])
    for m in range(maps.shape[0]):
        order = orders[starts[m] : starts[m + 1]]
        result[:, m] = _enhance(maps[m], order, neighbour_index, threshold, E, H, scratch, out)
