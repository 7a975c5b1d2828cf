"""Where the figures cut the volume: checked against the image's bounds while Snakemake
parses (for grids known then) and again by the figures step. Imports only numpy."""

import itertools

import numpy as np

from snakelight.io import InputError


def z_bounds(shape, affine):
    """Lowest and highest z (mm) of the voxel centres of a grid of ``shape`` (3 or more
    values; the first three are x, y, z) under the 4x4 ``affine``, as nilearn bounds its cuts."""
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in shape[:3]])), dtype=float)
    z = corners @ np.asarray(affine, dtype=float)[2, :3] + affine[2][3]
    return float(z.min()), float(z.max())


def check_cut_coords(cut_coords, shape, affine, where):
    """Refuse a configured cut (``figures.cut_coords``) outside the image ``where`` names;
    ``None`` (cut through the map's peak) always fits."""
    if cut_coords is None:
        return
    low, high = z_bounds(shape, affine)
    outside = [z for z in cut_coords if not low - 1e-6 <= z <= high + 1e-6]
    if outside:
        raise InputError(
            f"config key figures.cut_coords: z = {outside[0]:g} mm is outside {where} "
            f"(z from {low:g} to {high:g} mm); choose cuts inside it, or null to cut through the map's peak"
        )


def peak_cut(score_img, process_mask=None):
    """The z (mm) of the axial cut through the map's highest voxel inside ``process_mask``
    (the whole map without one; the first such voxel when all score alike), as a one-item
    list of cut_coords."""
    inside = True if process_mask is None else np.asarray(process_mask.dataobj) != 0
    scores = np.where(inside, np.asarray(score_img.dataobj), -np.inf)
    voxel = np.unravel_index(np.argmax(scores), scores.shape)
    return [float(score_img.affine[2, :3] @ voxel + score_img.affine[2, 3])]
