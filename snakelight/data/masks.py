"""The process mask: which voxels get a searchlight sphere centred on them."""

import nibabel as nib
import numpy as np

from snakelight.io import InputError, write_nifti

AXES = "xyz"


def process_mask(mask_img, *, slices=None, box=None, roi_img=None):
    """Brain-mask voxels kept by every given selection.

    ``slices`` maps an axis name to the voxel indices to keep along it (e.g.
    ``{"z": [29]}``, ``None`` for the whole axis); ``box`` maps an axis name to a half-open range
    ``[start, stop)`` with ``None`` for an open end (the seed: ``{"y": [None, 30]}``);
    ``roi_img`` is an image on the same grid whose nonzero voxels are kept. A slice
    index outside the volume raises InputError naming its config key.
    """
    keep = np.asarray(mask_img.dataobj) != 0
    for axis, indices in (slices or {}).items():
        if indices is None:
            continue
        along = np.zeros(keep.shape[AXES.index(axis)], dtype=bool)
        outside = [i for i in indices if i >= along.size]
        if outside:
            raise InputError(
                f"config key process_mask.slices.{axis}: index {outside[0]} is outside the volume "
                f"({axis} has {along.size} voxels: 0 to {along.size - 1})"
            )
        along[indices] = True
        keep &= _expand(along, AXES.index(axis))
    for axis, (start, stop) in (box or {}).items():
        along = np.zeros(keep.shape[AXES.index(axis)], dtype=bool)
        along[slice(start, stop)] = True
        keep &= _expand(along, AXES.index(axis))
    if roi_img is not None:
        if roi_img.shape[:3] != keep.shape or not np.allclose(roi_img.affine, mask_img.affine):
            raise InputError(
                f"ROI image {roi_img.get_filename()} is not on the brain mask's grid "
                f"(shape {roi_img.shape} vs {keep.shape}, or a different affine)"
            )
        keep &= np.asarray(roi_img.dataobj).reshape(keep.shape) != 0
    return nib.Nifti1Image(keep.astype(np.uint8), mask_img.affine)


def _expand(along, axis):
    shape = [1, 1, 1]
    shape[axis] = along.size
    return along.reshape(shape)


def write_process_mask(manifest, output_path, *, slices, box, roi):
    """Write the process mask; an empty one raises InputError (no sphere to score)."""
    mask_img = nib.load(manifest["mask"])
    roi_img = nib.load(roi) if roi else None
    img = process_mask(mask_img, slices=slices, box=box, roi_img=roi_img)
    if not np.asarray(img.dataobj).any():
        selections = {"slices": slices, "box": box, "roi": roi}
        chosen = ", ".join(f"{key} {value}" for key, value in selections.items() if value)
        raise InputError(
            f"config key process_mask: no voxel of the brain mask {manifest['mask']} is selected "
            f"({chosen or 'no selection'}); nothing to score"
        )
    write_nifti(output_path, img)
    return img
