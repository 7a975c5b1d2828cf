"""Condition selection: keep the volumes of the conditions to decode."""

import nibabel as nib
from nilearn.image import index_img
from nilearn.masking import apply_mask_fmri

from snakelight.io import atomic_path, read_json, read_labels, write_masked_samples, write_samples_table

__all__ = ["read_labels", "select_conditions"]


def select_conditions(manifest_path, conditions, samples_img_path, samples_table_path,
                      masked_samples_path):
    """Write the volumes whose label is in ``conditions``, in acquisition order, with
    a table of their label, run and original volume index, and the volumes' brain-mask
    voxels as a matrix."""
    manifest = read_json(manifest_path)
    labels = read_labels(manifest["labels"])
    keep = labels["label"].isin(conditions).to_numpy()
    table = labels[keep].assign(volume=keep.nonzero()[0])
    samples = index_img(nib.load(manifest["bold"]), keep)
    with atomic_path(samples_img_path) as tmp:
        samples.to_filename(tmp)
    # Masked from the file as written: the values every later step reads.
    write_masked_samples(masked_samples_path, apply_mask_fmri(samples_img_path, manifest["mask"]))
    write_samples_table(samples_table_path, table)
    return table
