"""The user's own data: a table of each subject's files (``config/subjects.tsv``) turned
into the layout every later step reads (one 4D series, a labels table, a brain mask).

The table has one row per run (or one row for a series holding every run):

- ``subject`` (integer), ``bold`` (a 4D NIfTI image): required;
- ``events`` (a BIDS ``*_events.tsv``: onset, duration, trial_type) or ``labels`` (a
  table with a ``label`` column, one row per volume, and a ``run`` column when the
  image holds several runs): exactly one of the two per row;
- ``run``: the run's number (default: the row's position among the subject's rows);
- ``mask``: a brain mask on the BOLD grid, the same for all of a subject's rows; left
  empty, it is computed from the series (nilearn's ``compute_epi_mask``).

Relative paths are relative to the table's folder; :mod:`snakelight.workflow.subjects_table`
reads and checks the table. Events become volume labels as :func:`volume_labels`
documents.
"""

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.image import concat_imgs, mean_img
from nilearn.masking import compute_epi_mask
from pandas.api.types import is_numeric_dtype

from snakelight.data.checks import check_bold_and_mask, check_finite, check_same_grid, check_subject
from snakelight.io import InputError, uncompressed_bold, write_labels, write_manifest, write_nifti

EVENT_COLUMNS = ("onset", "duration", "trial_type")


def repetition_time(img, where):
    """The TR in seconds from the header, or an error naming the image."""
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not zooms[3] > 0:
        raise InputError(
            f"{where}: no repetition time in the header (pixdim[4] is "
            f"{zooms[3] if len(zooms) > 3 else 'missing'}); events need it to label volumes"
        )
    return header_tr(img)


def header_tr(img):
    """The header's TR in seconds (pixdim[4], in seconds or milliseconds as the header's
    units say), 0 where the header has none."""
    zooms = img.header.get_zooms()
    t_r = float(zooms[3]) if len(zooms) > 3 else 0.0
    return t_r / 1000 if img.header.get_xyzt_units()[1] == "msec" else t_r


def read_events(path):
    events = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in EVENT_COLUMNS:
        if column not in events.columns:
            raise InputError(f"{path}: no column {column!r}; BIDS events have {', '.join(EVENT_COLUMNS)}")
    for column in ("onset", "duration"):
        values = pd.to_numeric(events[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            value = events[column].iloc[row - 1]
            why = (
                "gives no time (BIDS' n/a); events label volumes by their onset and duration, so give both in seconds"
                if value == "n/a"
                else "is not a number of seconds ≥ 0"
            )
            raise InputError(f"{path} row {row}, column {column}: {value!r} {why}")
        events[column] = values
    events["trial_type"] = events["trial_type"].astype(str)
    return events


def volume_labels(events, n_volumes, t_r, *, shift=0.0, baseline="rest", source="events"):
    """One label per volume: volume ``i``, acquired at ``i * t_r`` seconds from the run's
    start, takes the ``trial_type`` of the event with ``onset <= i * t_r - shift <
    onset + duration``; ``shift`` is a hemodynamic delay in seconds. Volumes in no event
    take ``baseline``. Events past the run's end, or overlapping on a volume, are errors.
    """
    return _owner_labels(events, volume_events(events, n_volumes, t_r, shift=shift, source=source), baseline)


def _owner_labels(events, owner, baseline):
    labels = np.full(owner.size, baseline, dtype=object)
    labels[owner > 0] = events["trial_type"].to_numpy()[owner[owner > 0] - 1]
    return labels


def volume_values(events, owner):
    """Each numeric column of ``events`` beside onset and duration (the bids source's
    values, e.g. a rating) per volume: its event's value, NaN for a volume in no event.
    ``owner``: :func:`volume_events`. The table source reads events as text: none."""
    columns = [c for c in events.columns if c not in (*EVENT_COLUMNS, "row") and is_numeric_dtype(events[c])]
    return {c: np.r_[np.nan, events[c].to_numpy(float)][owner] for c in columns}


def volume_events(events, n_volumes, t_r, *, shift=0.0, source="events"):
    """The 1-based row of the event each volume falls in (:func:`volume_labels`), 0 for
    none: (n_volumes,) int."""
    run_end = n_volumes * t_r
    times = np.arange(n_volumes) * t_r - shift
    owner = np.zeros(n_volumes, dtype=int)
    for row, event in enumerate(events.itertuples(index=False), start=1):
        end = event.onset + event.duration
        if end > run_end:
            raise InputError(
                f"{source} row {row}, column duration: the event ends at {end:g} s, after the "
                f"run's end ({n_volumes} volumes x {t_r:g} s = {run_end:g} s)"
            )
        during = (times >= event.onset) & (times < end)
        clash = during & (owner > 0)
        if clash.any():
            raise InputError(
                f"{source} row {row}, column onset: the event overlaps row {owner[clash][0]} "
                f"on volume {int(np.flatnonzero(clash)[0])}"
            )
        owner[during] = row
    return owner


def collect_subject(
    rows,
    data_dir,
    manifest_path,
    *,
    shift,
    baseline,
    source="table",
    events_reader=read_events,
    load_run=nib.load,
    mask_img=None,
):
    """Write one subject's series (runs concatenated in the table's order), labels and
    mask under ``data_dir``, and its manifest (``dataset.json``).

    The ``bids`` source (:mod:`snakelight.data.bids_samples`) gives its own
    ``events_reader`` (path -> events: onset, duration, trial_type), ``load_run``
    (path -> the run's 4D image), the TR in a
    ``t_r`` column (else the header's), a ``mask_img`` (else the first row's mask or
    the series' EPI mask) and subject labels as strings (kept as they are)."""
    data_dir = Path(data_dir)
    runs, labels = [], []
    for position, record in enumerate(rows.itertuples(index=False)):
        img = load_run(record.bold)
        where = _where(record._asdict())
        if img.ndim != 4:
            raise InputError(f"{where}: the BOLD image is {img.ndim}D; it must be 4D (x, y, z, volumes)")
        if runs:
            check_same_grid(img, runs[0], where, _where(rows.iloc[0]), what="this run", reference="the first run")
        run = int(record.run) if record.run else position
        if record.events:
            t_r = getattr(record, "t_r", None) or repetition_time(img, where)
            events = events_reader(record.events)
            owner = volume_events(events, img.shape[3], t_r, shift=shift, source=record.events)
            run_labels = _owner_labels(events, owner, baseline)
            labels.append(pd.DataFrame({"label": run_labels, "run": run, **volume_values(events, owner)}))
        else:
            table = pd.read_csv(record.labels, sep="\t", dtype={"label": str})
            if "label" not in table.columns:
                raise InputError(f"{record.labels}: no column 'label' (columns: {', '.join(table.columns)})")
            if len(table) != img.shape[3]:
                raise InputError(f"{record.labels}: {len(table)} rows, but {record.bold} has {img.shape[3]} volumes")
            # Its numeric columns come along: continuous targets.
            numeric = {c: table[c] for c in table.columns if c not in ("label", "run") and is_numeric_dtype(table[c])}
            labels.append(
                pd.DataFrame(
                    {"label": table["label"], "run": table["run"] if "run" in table.columns else run, **numeric}
                )
            )
        runs.append(img)
    series = runs[0] if len(runs) == 1 else concat_imgs(runs)
    first = rows.iloc[0]
    if mask_img is None:
        mask_img = nib.load(first["mask"]) if first["mask"] else compute_epi_mask(mean_img(series, copy_header=True))
    # The checks of the joined copy below would name the copy: name the user's files first.
    mask_where = f"{first['mask']} (subjects table row {first['row']}, column mask)"
    in_mask = np.asarray(mask_img.dataobj) != 0
    if not first["mask"] and not in_mask.any():
        raise InputError(
            f"{_where(first)}: the brain mask computed from subject {first['subject']}'s runs (nilearn's "
            "compute_epi_mask) is empty; give a brain mask in the subjects table's mask column"
        )
    for record, img in zip(rows.itertuples(index=False), runs):
        check_bold_and_mask(img, mask_img, _where(record._asdict()), mask_where)
        check_finite(np.asarray(img.dataobj), in_mask, _where(record._asdict()))
    paths = {name: data_dir / f"{name}.nii.gz" for name in ("bold", "mask")}
    paths["labels"] = data_dir / "labels.txt"
    for name, img in (("bold", series), ("mask", mask_img)):
        write_nifti(paths[name], img)
    write_labels(paths["labels"], pd.concat(labels, ignore_index=True))
    uncompressed = uncompressed_bold(manifest_path)
    check_subject(paths["bold"], paths["mask"], paths["labels"], uncompressed)
    return write_manifest(
        manifest_path,
        source=source,
        subject=first["subject"] if isinstance(first["subject"], str) else int(first["subject"]),
        t_r=header_tr(runs[0]),
        uncompressed=uncompressed,
        **paths,
    )


def _where(record):
    """A subjects-table row's BOLD image, as messages name it."""
    return f"{record['bold']} (subjects table row {record['row']}, column bold)"
