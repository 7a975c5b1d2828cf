"""Generated samples with a planted representational geometry, so recovery is testable.

Haxby's 8 categories on a small box of voxels: in region 1 the category patterns follow
``ANIMACY`` (animate categories share one random pattern, inanimate ones another), in
region 2 they follow ``SHAPE`` (three groups, nearly unrelated to animacy); elsewhere the
samples are noise alone. Each sample is its category's pattern plus independent Gaussian
noise, ``per_cell`` samples per category and run.
"""

from typing import NamedTuple

import numpy as np

from snakelight.data.haxby_design import CATEGORIES
from snakelight.searchlight.spheres import process_seeds, sphere_members

ANIMACY = {"animate": ["face", "cat"], "inanimate": ["house", "bottle", "scissors", "shoe", "chair", "scrambledpix"]}
SHAPE = {
    "elongated": ["bottle", "scissors", "cat"],
    "boxy": ["house", "chair", "shoe"],
    "other": ["face", "scrambledpix"],
}


class PlantedGeometry(NamedTuple):
    """``X`` (N, V) samples of the mask's voxels (C order); ``labels``, ``runs`` (N,);
    ``mask`` (x, y, z) bool; ``truth`` (V,) 0 outside the regions, 1 animacy, 2 shape;
    ``models`` name -> grouping (``animacy``, ``shape``)."""

    X: np.ndarray
    labels: np.ndarray
    runs: np.ndarray
    mask: np.ndarray
    truth: np.ndarray
    models: dict


def planted_geometry(seed=0, shape=(20, 12, 10), n_runs=6, per_cell=2, region_radius=3.0, amplitude=0.8):
    """Samples over a box mask of ``shape`` with the two regions centred a quarter and three
    quarters along x (radius ``region_radius`` voxels)."""
    rng = np.random.default_rng(seed)
    mask = np.ones(shape, dtype=bool)
    ijk = np.argwhere(mask)
    centres = [np.array([fraction * shape[0], shape[1] / 2, shape[2] / 2]) for fraction in (0.25, 0.75)]
    truth = np.zeros(len(ijk), dtype=int)
    signal = np.zeros((len(CATEGORIES), len(ijk)))
    for region, (centre, groups) in enumerate(zip(centres, (ANIMACY, SHAPE)), start=1):
        inside = np.linalg.norm(ijk - centre + 0.5, axis=1) <= region_radius
        truth[inside] = region
        for members in groups.values():
            pattern = rng.normal(size=inside.sum())
            for category in members:
                signal[CATEGORIES.index(category), inside] = amplitude * pattern
    labels = np.tile(np.repeat(CATEGORIES, per_cell), n_runs)
    runs = np.repeat(np.arange(n_runs), len(CATEGORIES) * per_cell)
    condition = np.array([CATEGORIES.index(label) for label in labels])
    X = signal[condition] + rng.normal(size=(len(labels), len(ijk)))
    return PlantedGeometry(X, labels, runs, mask, truth, {"animacy": ANIMACY, "shape": SHAPE})


def box_spheres(mask, radius):
    """The spheres (mask columns) of every mask voxel, on a 1 mm grid (radius in voxels)."""
    return sphere_members(mask, np.eye(4), process_seeds(mask), radius)
