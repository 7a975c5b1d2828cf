"""Ways to damage a copy of a fetch_haxby-style folder, for the bad-input tests.

Each function takes a subject folder (``haxby2001/subj<N>``) or the dataset folder,
changes one thing in place, and returns nothing.
"""

import nibabel as nib
import numpy as np
import pandas as pd


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def flip_byte(path):
    """Damage the compressed stream in the middle: gzip's CRC (or inflate) catches it."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_labels(subject_dir, edit):
    """Replace labels.txt by ``edit(table)``, a table with Haxby's columns."""
    path = subject_dir / "labels.txt"
    edit(pd.read_csv(path, sep=" ")).to_csv(path, sep=" ", index=False)


def relabel(table, condition, keep=()):
    """Label ``condition``'s volumes 'rest', except those at the positions ``keep``
    (positions counted from the end of the file when negative); returns the table."""
    table = table.copy()
    table.loc[table["labels"] == condition, "labels"] = "rest"
    table.loc[table.index[list(keep)], "labels"] = condition
    return table


def edit_image(path, edit):
    """Replace the image at ``path`` by ``edit(data, affine)`` -> (data, affine)."""
    img = nib.load(path)
    data, affine = edit(np.asarray(img.dataobj), img.affine.copy())
    nib.Nifti1Image(data, affine).to_filename(path)


def mask_voxels(dataset_dir, count):
    """The first ``count`` brain-mask voxels, in C order."""
    return [tuple(v) for v in np.argwhere(np.asarray(nib.load(dataset_dir / "mask.nii.gz").dataobj))[:count]]


def set_voxels(subject_dir, voxels, value, dtype=None):
    """Give the BOLD series of ``voxels`` the constant ``value`` (NaN needs a float dtype)."""

    def edit(data, affine):
        data = data.astype(dtype or data.dtype)
        for voxel in voxels:
            data[voxel] = value
        return data, affine

    edit_image(subject_dir / "bold.nii.gz", edit)
