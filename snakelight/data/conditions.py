"""Condition selection: keep the volumes of the conditions to decode, after checking
that the cross-validation can run on them."""

import nibabel as nib
import numpy as np

from snakelight.io import (
    InputError,
    one_line,
    read_json,
    read_labels,
    write_masked_samples,
    write_nifti,
    write_samples_table,
)
from snakelight.searchlight.cv import class_missing_from_training, config_folds


def select_conditions(manifest_path, conditions, cv, samples_img_path, samples_table_path, masked_samples_path):
    """Write the volumes whose label is in ``conditions``, in acquisition order, with
    a table of their label, run and original volume index, and the volumes' brain-mask
    voxels as a matrix. ``cv`` is the searchlight.cv config: its folds are checked
    first (:func:`check_folds`), so that no chunk job starts on a contrast it cannot
    cross-validate."""
    manifest = read_json(manifest_path)
    labels = read_labels(manifest["labels"])
    present = set(labels["label"])
    absent = [c for c in conditions if c not in present]
    if absent:
        raise InputError(
            f"{manifest['labels']}: no volume is labelled {absent[0]!r}; the labels are {', '.join(sorted(present))}"
        )
    keep = labels["label"].isin(conditions).to_numpy()
    table = labels[keep].assign(volume=keep.nonzero()[0])
    check_folds(table, cv, manifest["labels"])
    # The image as fetch read and checked it, memory-mapped: only the kept volumes are read.
    samples = index_img(nib.load(manifest["uncompressed"]), keep)
    write_nifti(samples_img_path, samples)
    # Masked as written (the values every later step reads): the file's bytes before
    # gzip, made again in memory rather than decompressed.
    written = nib.Nifti1Image.from_bytes(samples.to_bytes())
    write_masked_samples(masked_samples_path, apply_mask_fmri(written, nib.load(manifest["mask"])))
    write_samples_table(samples_table_path, table)
    return table


# nilearn's index_img and apply_mask_fmri, as they act on these images (tests/test_data.py
# checks both to the bit): importing nilearn.image, and with it scikit-learn, took 2 of the
# step's 3.5 s. Images whose data nilearn would recast (bool, int64) are left to nilearn.
def index_img(img, keep):
    """``nilearn.image.index_img(img, keep)`` of a 4D image and a boolean index."""
    data = np.asanyarray(img.dataobj)
    if data.dtype in (bool, np.int64) or type(img) is not nib.Nifti1Image:
        from nilearn.image import index_img

        return index_img(img, keep)
    data = data[..., keep]
    # new_img_like's copy of the header: unscaled, with the data's range.
    header = img.header.copy()
    header["scl_slope"] = header["scl_inter"] = header["glmax"] = 0.0
    header["cal_max"], header["cal_min"] = (np.max(data), np.min(data)) if data.size > 0 else (0.0, 0.0)
    return nib.Nifti1Image(data, img.affine, header=header)


def apply_mask_fmri(img, mask_img):
    """``nilearn.masking.apply_mask_fmri(img, mask_img)``: (volumes, mask voxels), float32
    unless the data are floats, non-finite values set to 0."""
    mask = np.asanyarray(mask_img.dataobj).astype(bool)
    if mask.shape != img.shape[:3] or not np.allclose(mask_img.affine, img.affine):
        from nilearn.masking import apply_mask_fmri

        return apply_mask_fmri(img, mask_img)  # raises its error
    # The mask's voxels first, then the conversion: the same values as converting the
    # whole 4D image, without a float copy of it in C order (0.9 s for Haxby's samples).
    series = np.asanyarray(img.dataobj)[mask]
    series = series.astype(series.dtype if series.dtype.kind == "f" else np.float32)
    series[~np.isfinite(series)] = 0
    return series.T


def check_folds(table, cv, labels_path):
    """Build the cross-validation folds the chunk jobs will use on ``table`` (label and
    run per sample) and check that every training fold holds every condition and every
    test fold a sample. Raises InputError naming the config key or the labels file."""
    y, runs = table["label"].to_numpy(), table["run"].to_numpy()
    classes = list(dict.fromkeys(y))
    conditions = ", ".join(classes)
    scheme = _describe(cv)
    try:
        folds = config_folds(cv, y, runs)
    except ValueError as error:  # scikit-learn: more splits than samples, or one run
        key = "n_splits" if cv["method"] == "kfold" else "method"
        raise InputError(
            f"config key searchlight.cv.{key}: {scheme} cannot split the {len(y)} volumes of "
            f"{conditions} in {labels_path} ({one_line(error)})"
        ) from None
    missing = class_missing_from_training(y, folds)
    if missing is not None:
        fold, label = missing
        raise InputError(
            f"{labels_path}: too few volumes of {label!r} ({(y == label).sum()} in "
            f"all) for {scheme}: training fold {fold + 1} of {len(folds)} holds none"
        )
    for number, (_, test) in enumerate(folds, start=1):
        if test.size == 0:
            raise InputError(f"{labels_path}: test fold {number} of {len(folds)} of {scheme} is empty")
    return folds


def _describe(cv):
    if cv["method"] == "kfold":
        return f"kfold with {cv['n_splits']} splits"
    return cv["method"]
