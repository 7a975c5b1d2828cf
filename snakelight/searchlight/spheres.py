"""Searchlight neighbourhoods: the brain-mask voxels of each sphere, exactly as
nilearn's ``apply_mask_and_get_affinity`` defines them, for any subset of seeds.

A sphere holds the mask voxels whose world coordinates lie within ``radius`` mm of
the seed (the same scikit-learn radius query nilearn runs), plus the seed's own
voxel when it is in the mask. nilearn finds those voxels by linear searches in a
list (O(seeds x voxels)); here they are array look-ups, so building the spheres of a
chunk costs about as much as the radius query.
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors


def coord_transform(x, y, z, affine):
    """nilearn.image.coord_transform for arrays of coordinates, the same product (so the
    same roundings), without importing nilearn: the (3, n) transformed coordinates."""
    x, y, z = (np.atleast_1d(axis) for axis in (x, y, z))
    coords = np.c_[x.flat, y.flat, z.flat, np.ones_like(z.flat)].T
    return np.dot(affine, coords)[:3]


def process_seeds(process_mask):
    """Voxel indices (n, 3) of the seeds, in nilearn's order (C order of the mask)."""
    return np.argwhere(process_mask != 0)


def sphere_members(mask, affine, seeds_ijk, radius, seed_affine=None):
    """For each seed, the sorted positions (in the mask's C order) of its sphere.

    ``mask`` is the 3D brain mask on the grid of ``affine``; ``seeds_ijk`` are voxel
    indices on the grid of ``seed_affine`` (the process mask's; default ``affine``).
    """
    seed_affine = affine if seed_affine is None else seed_affine
    mask = mask != 0
    mask_ijk = np.nonzero(mask)
    mask_world = np.asarray(coord_transform(*mask_ijk, affine)).T
    seed_world = np.asarray(coord_transform(*np.asarray(seeds_ijk).T, seed_affine)).T.reshape(-1, 3)

    tree = NearestNeighbors(radius=radius).fit(mask_world)
    neighbours = tree.radius_neighbors(seed_world, return_distance=False)

    position = np.full(mask.shape, -1)
    position[mask_ijk] = np.arange(mask_ijk[0].size)
    # nilearn adds the in-mask voxel nearest to each seed ...
    nearest = np.round(np.asarray(coord_transform(*seed_world.T, np.linalg.inv(affine)))).astype(int).T
    in_grid = np.all((nearest >= 0) & (nearest < mask.shape), axis=1)
    nearest_position = np.full(len(seed_world), -1)
    nearest_position[in_grid] = position[tuple(nearest[in_grid].T)]
    # ... and the first mask voxel whose truncated world coordinates equal the seed's.
    first_with_coords = {}
    for i, key in enumerate(map(tuple, mask_world.astype(int))):
        first_with_coords.setdefault(key, i)
    truncated = [first_with_coords.get(key, -1) for key in map(tuple, seed_world.astype(int))]

    spheres = []
    for members, *extras in zip(neighbours, nearest_position, truncated):
        extras = [e for e in extras if e >= 0]
        sphere = np.union1d(members, extras) if extras else np.sort(members)
        spheres.append(sphere.astype(np.intp))
    empty = [i for i, sphere in enumerate(spheres) if sphere.size == 0]
    if empty:
        raise ValueError(f"{len(empty)} searchlight spheres contain no brain-mask voxel (seeds {empty[:5]})")
    return spheres
