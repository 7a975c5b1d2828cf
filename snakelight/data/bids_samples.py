"""The ``bids`` source's steps, from discovery to the subject's ``dataset.json``
(:mod:`snakelight.io`), after which the steps of every source run unchanged.

- discovery (:func:`discover_runs`): the runs table of :mod:`snakelight.data.bids`,
  with each run's events checked before any later job (the label column exists,
  ``include``/``exclude`` leave labels); :func:`check_cv`, a step of its own (a new
  cross-validation reruns it, not the GLMs), checks leave-one-run-out's two runs;
- ``samples.mode: volumes`` (:func:`collect_volumes`): the ``table`` source's
  :func:`snakelight.data.table.collect_subject` on the discovered runs: the runs
  concatenated, each z-scored per voxel over its volumes (:func:`standardized_run`),
  each volume labelled by the events (hemodynamic shift, baseline), the TR from the
  bold JSON, the mask the intersection of the runs' brain masks;
- ``samples.mode: glm`` (:func:`write_betas_manifest`): the beta series
  :func:`snakelight.data.glm.write_beta_series` wrote stands in for the bold series:
  one "volume" per beta, labelled by its trial type, its run the cross-validation
  group. Condition selection then keeps a contrast's labels among the betas.

``samples_config`` holds the labelling keys of the workflow's ``samples`` section
(``label_column``, ``include``, ``exclude``).
"""

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.data.bids import check_leave_one_run_out, discover, read_events, read_runs_table, write_runs_table
from snakelight.data.checks import check_subject
from snakelight.data.glm import kept_labels, subject_mask
from snakelight.data.table import collect_subject
from snakelight.io import uncompressed_bold, write_json, write_labels, write_manifest
from snakelight.workflow.config import check_contrast_labels


def discover_runs(bids_config, samples_config, contrasts, database_dir, runs_path, check_subjects=None):
    """Discover the runs (:func:`snakelight.data.bids.discover`), check each subject's
    events (:func:`labelled_events`) and that they label every condition of the
    ``contrasts``, call ``check_subjects(subjects)`` (the group settings, which depend on
    how many there are), and write the runs table to ``runs_path``; return it."""
    table = discover(bids_config, database_dir)
    for subject, runs in table.groupby("subject"):
        _, kept = labelled_events(runs, samples_config)
        check_contrast_labels(
            contrasts,
            kept,
            f"sub-{subject} (column {samples_config['label_column']!r} of {runs['events'].iloc[0]}"
            f"{f' and {len(runs) - 1} other events file(s)' if len(runs) > 1 else ''}, "
            "less samples.exclude)",
        )
    if check_subjects is not None:
        check_subjects(list(dict.fromkeys(table["subject"])))
    write_runs_table(runs_path, table)
    return table


def check_cv(runs_path, cv_method, checked_path):
    """Check the runs table at ``runs_path`` allows the cross-validation (leave-one-run-out:
    two runs per subject); record what was checked at ``checked_path`` (JSON)."""
    table = read_runs_table(runs_path)
    if cv_method == "leave_one_run_out":
        check_leave_one_run_out(table)
    write_json(checked_path, {"cv_method": cv_method, "runs_per_subject": table.groupby("subject").size().to_dict()})


def labelled_events(runs, samples_config):
    """Each run's events (:func:`snakelight.data.bids.read_events`, n/a rows dropped)
    and the kept labels (:func:`snakelight.data.glm.kept_labels`)."""
    events = [read_events(path, samples_config["label_column"]) for path in runs["events"]]
    return events, kept_labels(events, samples_config, list(runs["events"]))


def collect_volumes(runs, samples_config, events_config, data_dir, manifest_path):
    """``samples.mode: volumes``: one subject's series, volume labels and mask under
    ``data_dir`` and its manifest, as the module docstring says. Events whose label is
    not kept (n/a, or left out by include/exclude) label no volume. ``runs``: the
    subject's rows of the runs table."""
    events, kept = labelled_events(runs, samples_config)
    kept_events = {path: run[run["trial_type"].isin(kept)] for path, run in zip(runs["events"], events)}
    rows = pd.DataFrame(
        {
            "subject": runs["subject"],
            "bold": runs["bold"],
            "run": range(1, len(runs) + 1),  # the cross-validation groups, across sessions
            "events": runs["events"],
            "mask": runs["mask"],  # each run's brain mask, as the checks name the intersection
            "labels": "",
            "t_r": runs["t_r"],
            "row": range(1, len(runs) + 1),
        }
    )
    return collect_subject(
        rows,
        data_dir,
        manifest_path,
        shift=events_config["hemodynamic_shift"],
        baseline=events_config["baseline"],
        source="bids",
        events_reader=kept_events.__getitem__,
        load_run=standardized_run,
        mask_img=subject_mask(runs["mask"]),
    )


def standardized_run(path):
    """A run's 4D image with each voxel's series z-scored over the run's volumes (float32;
    a constant voxel becomes 0): fMRIPrep's runs differ in intensity from run to run,
    which would swamp the conditions' differences across runs."""
    img = nib.load(path)
    data = img.get_fdata(dtype=np.float32)
    mean, std = data.mean(axis=-1, keepdims=True), data.std(axis=-1, keepdims=True)
    standardized = np.divide(data - mean, std, out=np.zeros_like(data), where=std > 0)
    standardized_img = nib.Nifti1Image(standardized, img.affine, img.header)
    standardized_img.set_data_dtype(np.float32)
    return standardized_img


def write_betas_manifest(runs, betas_path, table_path, mask_path, labels_path, manifest_path, residuals_path=None):
    """``samples.mode: glm``: the subject's manifest naming the beta series as its
    series (one label row per beta: its label and run, from the samples table at
    ``table_path``) and the GLMs' residuals if given, after checking them against each
    other."""
    write_labels(labels_path, pd.read_csv(table_path, sep="\t", dtype={"label": str}))
    uncompressed = uncompressed_bold(manifest_path)
    check_subject(betas_path, mask_path, labels_path, uncompressed)
    return write_manifest(
        manifest_path,
        source="bids",
        subject=runs["subject"].iloc[0],
        t_r=float(runs["t_r"].iloc[0]),
        uncompressed=uncompressed,
        bold=Path(betas_path),
        mask=Path(mask_path),
        labels=Path(labels_path),
        residuals=residuals_path,
    )
