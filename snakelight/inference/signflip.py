"""Sign-flip one-sample test of accuracy - chance over subjects, by nilearn.

nilearn's ``non_parametric_inference`` with an intercept-only design flips the sign of
each subject's (accuracy - chance) map at random, ``n_perm`` times, and compares the
one-sample t map with the maximum over voxels of each flip's t (voxel FWE), of its TFCE
(TFCE FWE) and of its largest cluster size and mass above the cluster-forming
``threshold`` (a one-sided p; cluster FWE); clusters and TFCE use face connectivity.
One-sided: accuracy above chance. No null maps are needed, but N subjects have only
2^N sign patterns, so N must satisfy 2^-N <= alpha (5 subjects for alpha = 0.05).
"""

import os
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.second_level import non_parametric_inference

from snakelight.inference.group import check_group_settings
from snakelight.io import InputError


def sign_flip_inference(
    images, chance, mask_img, *, n_perm=10_000, threshold=0.001, tfce=True, alpha=0.05, random_state=0, n_jobs=1
):
    """nilearn's sign-flip test of (accuracy - chance) over N accuracy images.

    images: N 3-D images (nibabel images or paths) on one grid, e.g. from
    :func:`snakelight.inference.group.to_images`; mask_img: the voxels to test.
    threshold: the cluster-forming p, or None for no cluster inference. Returns nilearn's
    images in a dict: ``t``, ``logp_max_t`` (-log10 voxel-FWE p), with ``tfce`` and
    ``logp_max_tfce`` when tfce, and ``size``, ``logp_max_size``, ``mass``,
    ``logp_max_mass`` when a threshold is given. A fixed random_state gives the same maps.
    """
    images = [_load(image) for image in images]
    check_group_settings({"alpha": alpha, "signflip": {"n_perm": n_perm, "threshold": threshold}}, len(images))
    _check_one_grid(images)
    differences = [nib.Nifti1Image(image.get_fdata() - chance, image.affine) for image in images]
    with warnings.catch_warnings():
        # nilearn's own cluster-size maps are int64; its note about converting them says nothing of the data.
        warnings.filterwarnings("ignore", message="Data array used to create a new image contains 64-bit ints")
        maps = non_parametric_inference(
            differences,
            design_matrix=pd.DataFrame({"intercept": np.ones(len(images))}),
            mask=mask_img,
            n_perm=n_perm,
            two_sided_test=False,
            random_state=random_state,
            n_jobs=n_jobs,
            threshold=threshold,
            tfce=tfce,
        )
    # Without TFCE and clusters nilearn returns the bare logp_max_t image.
    return maps if isinstance(maps, dict) else {"logp_max_t": maps}


def _load(image):
    return nib.load(image) if isinstance(image, (str, os.PathLike)) else image


def _check_one_grid(images):
    first = images[0]
    for number, image in enumerate(images[1:], start=2):
        if image.shape != first.shape or not np.allclose(image.affine, first.affine):
            raise InputError(
                f"{_name(image, number)}: shape {image.shape} and affine differ from "
                f"{_name(first, 1)}'s {first.shape}; every subject's map must share one 3-D grid"
            )
    if len(first.shape) != 3:
        raise InputError(f"{_name(first, 1)}: shape {first.shape}; a subject's accuracy map must be 3-D")


def _name(image, number):
    return image.get_filename() or f"subject map {number}"
