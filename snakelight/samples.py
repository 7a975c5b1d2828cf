"""Condition selection: keep the volumes of the conditions to decode."""

import nibabel as nib
import pandas as pd
from nilearn.image import index_img

from snakelight.io import atomic_path, read_json, write_samples_table


def read_labels(path):
    """Haxby's labels.txt as a table with columns label and run."""
    labels = pd.read_csv(path, sep=" ", dtype={"labels": str})
    return pd.DataFrame({"label": labels["labels"], "run": labels["chunks"]})


def select_conditions(manifest_path, conditions, samples_img_path, samples_table_path):
    """Write the volumes whose label is in ``conditions``, in acquisition order, with
    a table of their label, run and original volume index."""
    manifest = read_json(manifest_path)
    labels = read_labels(manifest["labels"])
    keep = labels["label"].isin(conditions).to_numpy()
    table = labels[keep].assign(volume=keep.nonzero()[0])
    samples = index_img(nib.load(manifest["bold"]), keep)
    with atomic_path(samples_img_path) as tmp:
        samples.to_filename(tmp)
    write_samples_table(samples_table_path, table)
    return table
