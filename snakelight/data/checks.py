"""Checks of one subject's input files, run by the fetch step before anything else.

Each problem raises :class:`~snakelight.io.InputError` with one line that names the
file and what is wrong; a damaged download also says how to fetch it again. Checks
that need the configuration run later but still before any searchlight chunk:
conditions and cross-validation folds in :mod:`snakelight.data.conditions`, the process mask
in :mod:`snakelight.data.masks`.
"""

import logging
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from isal import isal_zlib
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from snakelight.io import InputError, atomic_path, one_line, read_gzip, read_labels

log = logging.getLogger(__name__)

_READ_ERRORS = (OSError, EOFError, zlib.error, isal_zlib.error, ValueError, ImageFileError, HeaderDataError)


def read_nifti(path, refetch):
    """A NIfTI-1 image, its stored (unscaled) data, and the file's bytes, decompressed,
    all read in full.

    Reading the whole gzip stream checks its CRC and length, so a truncated or damaged
    file fails here rather than deep inside a later step. ``refetch`` is what to
    delete so that the fetch step downloads the file again. The data are a view on
    the bytes read (no second copy: Haxby's BOLD series is 475 MB).
    """
    try:
        raw = read_gzip(path) if str(path).endswith(".gz") else Path(path).read_bytes()
        img = nib.Nifti1Image.from_bytes(raw)
        stored = img.dataobj  # where and how nibabel would read the data
        data = np.frombuffer(raw, dtype=stored.dtype, count=int(np.prod(img.shape)), offset=stored.offset).reshape(
            img.shape, order=stored.order
        )
    except _READ_ERRORS as error:
        raise InputError(
            f"{path}: truncated or corrupt ({one_line(error)}); delete {refetch} and rerun to fetch it again"
        ) from None
    return img, data, raw


def check_subject(bold_path, mask_path, labels_path, uncompressed_path):
    """Check a subject's BOLD series, brain mask and labels against each other (see
    docs: Explanation, "Reliability"), then write the BOLD image as read, uncompressed, to
    ``uncompressed_path``: the later steps read that, rather than decompressing the image
    again. Constant voxels only warn: scikit-learn's estimators accept them, they just
    carry no information."""
    subject_dir = Path(bold_path).parent
    bold, bold_data, bold_bytes = read_nifti(bold_path, refetch=subject_dir)
    mask, mask_data, _ = read_nifti(mask_path, refetch=mask_path)
    check_bold_and_mask(bold, mask, bold_path, mask_path)
    in_mask = mask_data != 0
    if not in_mask.any():
        raise InputError(f"{mask_path}: the brain mask is empty (no nonzero voxel)")

    labels = read_labels(labels_path)
    if len(labels) != bold.shape[3]:
        raise InputError(
            f"{labels_path}: {len(labels)} label rows, but {bold_path} has {bold.shape[3]} volumes; "
            f"there must be one row per volume (if the file is damaged, delete {subject_dir} "
            "and rerun to fetch it again)"
        )

    check_finite(bold_data, in_mask, bold_path)
    voxels = np.argwhere(in_mask)
    # Over time in the whole grid, then the mask's voxels (in C order, as voxels): 15
    # times faster than gathering the mask's time series first.
    constant = (bold_data.min(axis=3) == bold_data.max(axis=3))[in_mask]
    if constant.all():
        raise InputError(f"{bold_path}: every brain-mask voxel is constant over time; there is nothing to decode")
    if constant.any():
        log.warning(
            "%s: %d of %d brain-mask voxels are constant over time (the first at voxel %s); they carry no information",
            bold_path,
            constant.sum(),
            constant.size,
            tuple(map(int, voxels[constant][0])),
        )
    with atomic_path(uncompressed_path) as tmp:
        Path(tmp).write_bytes(bold_bytes)


def check_bold_and_mask(bold, mask, bold_name, mask_name):
    """A 4D BOLD image and a 3D mask on one grid; the names say where each is (a path, and
    for own data its subjects-table row)."""
    if bold.ndim != 4:
        raise InputError(
            f"{bold_name}: the BOLD image is {bold.ndim}D (shape {_shape(bold.shape)}); "
            "it must be 4D (x, y, z, volumes)"
        )
    if mask.ndim != 3:
        raise InputError(f"{mask_name}: the brain mask is {mask.ndim}D (shape {_shape(mask.shape)}); it must be 3D")
    check_same_grid(mask, bold, mask_name, bold_name, what="the brain mask", reference="the BOLD image")


def check_same_grid(img, reference_img, name, reference_name, *, what, reference):
    """``img`` has ``reference_img``'s voxel grid (shape and affine), else an InputError
    naming both."""
    if img.shape[:3] != reference_img.shape[:3]:
        raise InputError(
            f"{name}: {what}'s shape {_shape(img.shape[:3])} differs from {reference}'s "
            f"{_shape(reference_img.shape[:3])} ({reference_name}); they must share one grid"
        )
    if not np.allclose(img.affine, reference_img.affine):
        difference = np.abs(img.affine - reference_img.affine).max()
        raise InputError(
            f"{name}: {what}'s affine differs from {reference}'s ({reference_name}) "
            f"by up to {difference:.3g}; they must share one grid"
        )


def check_finite(bold_data, in_mask, bold_name):
    """No NaN or infinity in the brain-mask voxels of ``bold_data`` (x, y, z, volumes)."""
    if np.issubdtype(bold_data.dtype, np.integer):
        return  # integers are finite
    finite = np.ones(bold_data.shape[:3], dtype=bool)
    for volume in range(bold_data.shape[3]):  # one volume at a time: no 4D temporary
        finite &= np.isfinite(bold_data[..., volume])
    not_finite = ~finite[in_mask]
    if not_finite.any():
        raise InputError(
            f"{bold_name}: {not_finite.sum()} brain-mask voxels hold NaN or infinite values "
            f"(the first at voxel {tuple(map(int, np.argwhere(in_mask)[not_finite][0]))}); "
            "fix the image or leave those voxels out of the brain mask"
        )


def _shape(shape):
    return "x".join(map(str, shape))
