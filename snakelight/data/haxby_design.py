"""Haxby et al. (2001)'s design, and the files ``nilearn.datasets.fetch_haxby`` lays out:
the one home of these facts, for the fetcher, the generated dataset and the workflow
(which imports this module while it parses, so it imports nothing heavier than numpy)."""

import numpy as np

SUBJECTS = tuple(range(1, 7))
CATEGORIES = ("face", "house", "cat", "bottle", "scissors", "shoe", "chair", "scrambledpix")
CONDITIONS = ("rest", *CATEGORIES)
T_R = 2.5
RUN_VOLUMES = 121
# Volumes of each category's block in a run.
BLOCK_VOLUMES = 9
# The generated datasets' numeric column (dataset.synthetic.rating_effect, and the
# synthetic BIDS events' parametric_effect): a continuous target.
RATING_COLUMN = "rating"
# The ROI masks fetch_haxby lists for each subject.
SUBJECT_MASKS = ("mask4_vt", "mask8b_face_vt", "mask8b_house_vt", "mask8_face_vt", "mask8_house_vt")
# The files fetch_haxby looks for in each subject's folder ``subj<N>/``.
SUBJECT_FILES = ("bold.nii.gz", "labels.txt", *(f"{mask}.nii.gz" for mask in SUBJECT_MASKS), "anat.nii.gz")
# A subject's BOLD series: 12 runs of 121 volumes on a 40 x 64 x 64 grid.
BOLD_SHAPE = (40, 64, 64, 12 * RUN_VOLUMES)


def bold_shape(shape, n_runs):
    """Shape of a BOLD series of ``n_runs`` Haxby runs on a grid of ``shape``."""
    return (*shape, n_runs * RUN_VOLUMES)


def haxby_affine(shape, voxel_size):
    """Haxby's orientation (x flipped), with the volume centred on the origin."""
    zooms = np.array([-voxel_size[0], voxel_size[1], voxel_size[2]], dtype=float)
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = -zooms * (np.array(shape) - 1) / 2
    return affine
