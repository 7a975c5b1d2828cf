"""Your own data: the subjects table, BIDS events turned into volume labels, and the
workflow on a small BIDS-like dataset."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from snakelight.data import synthetic
from snakelight.data.table import read_events, repetition_time, volume_labels
from snakelight.io import InputError, read_labels, read_samples_table
from snakelight.workflow.subjects_table import read_subjects_table

from .conftest import REPO, TINY, TINY_CONFIG, job_counts, run_snakemake, write_config

T_R = 2.5
SUBJECTS_SCHEMA = REPO / "workflow" / "schemas" / "subjects.schema.yaml"


def events_table(rows):
    return pd.DataFrame(rows, columns=["onset", "duration", "trial_type"])


def test_events_label_the_volumes_acquired_during_them():
    events = events_table([(2, 4, "face"), (10, 3, "house")])
    # TR 2 s: volumes at 0, 2, 4, ...; face covers [2, 6), house [10, 13).
    assert list(volume_labels(events, 8, 2.0)) == ["rest", "face", "face", "rest", "rest", "house", "house", "rest"]
    # A 4 s hemodynamic shift: a volume at t shows the event at t - 4.
    assert list(volume_labels(events, 9, 2.0, shift=4, baseline="none")) == [
        "none",
        "none",
        "none",
        "face",
        "face",
        "none",
        "none",
        "house",
        "house",
    ]


def test_an_event_past_the_run_end_names_file_row_and_column():
    with pytest.raises(
        InputError,
        match=r"^run1_events.tsv row 2, column duration: the event ends at 21 s, "
        r"after the run's end \(10 volumes x 2 s = 20 s\)$",
    ):
        volume_labels(events_table([(0, 2, "a"), (18, 3, "b")]), 10, 2.0, source="run1_events.tsv")


def test_overlapping_events_are_refused():
    with pytest.raises(InputError, match=r"^e.tsv row 2, column onset: the event overlaps row 1 on volume 2$"):
        volume_labels(events_table([(0, 6, "a"), (4, 2, "b")]), 10, 2.0, source="e.tsv")


def test_events_need_their_bids_columns_and_numbers(tmp_path):
    path = tmp_path / "events.tsv"
    path.write_text("onset\tduration\tcondition\n0\t2\tface\n")
    with pytest.raises(InputError, match=r"events.tsv: no column 'trial_type'; BIDS events have onset, duration"):
        read_events(path)
    path.write_text("onset\tduration\ttrial_type\n0\t2\tface\nsoon\t2\thouse\n")
    with pytest.raises(InputError, match=r"events.tsv row 2, column onset: 'soon' is not a number of seconds"):
        read_events(path)


def test_a_missing_repetition_time_names_the_image():
    img = nib.Nifti1Image(np.zeros((2, 2, 2, 3), dtype=np.float32), np.eye(4))
    img.header.set_zooms((1, 1, 1, 0))
    with pytest.raises(InputError, match=r"^b.nii.gz: no repetition time in the header \(pixdim\[4\] is 0"):
        repetition_time(img, "b.nii.gz")
    img.header.set_zooms((1, 1, 1, 2500))
    img.header.set_xyzt_units("mm", "msec")
    assert repetition_time(img, "b.nii.gz") == 2.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("subject\tevents\n1\te.tsv\n", r"subjects.tsv: no column 'bold'"),
        ("subject\tbold\tevents\tsession\n1\tb.nii.gz\te.tsv\t1\n", r"subjects.tsv: unknown column 'session'"),
        (
            "subject\tbold\tevents\n1\tmissing.nii.gz\te.tsv\n",
            r"subjects.tsv row 1, column bold: file not found: 'missing.nii.gz'",
        ),
        (
            "subject\tbold\tevents\tlabels\n1\tb.nii.gz\te.tsv\tl.tsv\n",
            r"subjects.tsv row 1, columns events and labels: give exactly one",
        ),
        (
            "subject\tbold\tevents\nS1\tb.nii.gz\te.tsv\n",
            r"subjects.tsv row 1, column subject: 'S1' is not a positive integer$",
        ),
        (
            "subject\tbold\tevents\n1\tb.nii.gz\te.tsv\n2\tb.nii.gz\tnowhere.tsv\n",
            r"subjects.tsv row 2, column events: file not found",
        ),
    ],
)
def test_a_wrong_subjects_table_names_file_row_and_column(tmp_path, content, message):
    for name in ("b.nii.gz", "e.tsv", "l.tsv"):
        (tmp_path / name).write_text("")
    (tmp_path / "subjects.tsv").write_text(content)
    with pytest.raises(InputError, match=message):
        read_subjects_table(tmp_path / "subjects.tsv", SUBJECTS_SCHEMA)


def write_bids_like(root, subjects=(1, 2), n_runs=TINY["n_runs"]):
    """Tiny generated subjects as a BIDS-like study: one 4D image and one events.tsv per
    run (each block of the generated labels is one event; rest is the baseline), a mask
    for subject 1 only. Returns the subjects table's path and each subject's true labels."""
    haxby = root / "generated"
    synthetic.write_mask(haxby, TINY["shape"], TINY["voxel_size"])
    rows, truth = [], {}
    for subject in subjects:
        synthetic.write_subject(haxby, subject, n_runs=n_runs, effect_size=1.5, seed=subject)
        labels = read_labels(haxby / f"subj{subject}" / "labels.txt")
        bold = nib.load(haxby / f"subj{subject}" / "bold.nii.gz")
        data = np.asarray(bold.dataobj)
        func = root / f"sub-{subject:02d}" / "func"
        func.mkdir(parents=True)
        for run in sorted(labels["run"].unique()):
            volumes = np.flatnonzero(labels["run"] == run)
            img = nib.Nifti1Image(data[..., volumes], bold.affine)
            img.header.set_zooms((*bold.header.get_zooms()[:3], T_R))
            img.header.set_xyzt_units("mm", "sec")
            name = f"sub-{subject:02d}_task-objects_run-{run + 1}"
            img.to_filename(func / f"{name}_bold.nii.gz")
            run_labels = labels["label"].to_numpy()[volumes]
            starts = np.flatnonzero(np.r_[True, run_labels[1:] != run_labels[:-1]])
            stops = np.r_[starts[1:], run_labels.size]
            events = [
                (start * T_R, (stop - start) * T_R, run_labels[start])
                for start, stop in zip(starts, stops)
                if run_labels[start] != "rest"
            ]
            events_table(events).to_csv(func / f"{name}_events.tsv", sep="\t", index=False)
            rows.append(
                {
                    "subject": subject,
                    "run": run,
                    "bold": f"sub-{subject:02d}/func/{name}_bold.nii.gz",
                    "events": f"sub-{subject:02d}/func/{name}_events.tsv",
                    "mask": "generated/mask.nii.gz" if subject == 1 else "",
                }
            )
        truth[subject] = labels
    table = root / "subjects.tsv"
    pd.DataFrame(rows).to_csv(table, sep="\t", index=False)
    return table, truth


def table_config(table):
    """The tiny configuration on the study of ``table``: its subjects are the table's."""
    config = {key: value for key, value in TINY_CONFIG.items() if key != "subjects"}
    return {**config, "dataset": {"source": "table", "subjects_table": str(table)}}


@pytest.mark.workflow
def test_workflow_on_a_bids_like_study_labels_volumes_as_expected(tmp_path):
    table, truth = write_bids_like(tmp_path / "study")
    config = table_config(table)
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    counts = job_counts(result.stdout)
    assert counts["collect_subject"] == 2 and counts["searchlight_chunk"] == 6
    for subject, labels in truth.items():
        out = tmp_path / f"results/config/sub-{subject:02d}/face_vs_house"
        samples = read_samples_table(out / "samples.tsv")
        expected = labels[labels["label"].isin(["face", "house"])]
        assert list(samples["label"]) == list(expected["label"])
        assert list(samples["run"]) == list(expected["run"])
        assert list(samples["volume"]) == list(expected.index)
        scores = np.asarray(nib.load(out / "searchlight.nii.gz").dataobj)
        assert scores.shape == TINY["shape"] and scores.max() > 0.6


@pytest.mark.workflow
def test_an_event_past_the_run_end_stops_the_workflow_before_any_chunk(tmp_path):
    table, _ = write_bids_like(tmp_path / "study")
    events = tmp_path / "study/sub-02/func/sub-02_task-objects_run-1_events.tsv"
    with events.open("a") as f:
        f.write(f"{1000 * T_R}\t{T_R}\tface\n")
    config = table_config(table)
    result = run_snakemake(tmp_path, "--cores", "1", "--configfile", write_config(tmp_path, config), check=False)
    assert result.returncode != 0
    assert f"error: {events} row " in result.stdout
    assert "column duration: the event ends at 2502.5 s, after the run's end" in result.stdout
    assert not (tmp_path / "results/config/sub-02/dataset.json").exists()
    assert not (tmp_path / "results/config/sub-02/face_vs_house/chunks").exists()


def test_a_contrast_label_missing_from_the_table_is_refused_before_any_job(tmp_path):
    from snakelight.workflow.config import ConfigError, validate_config

    table, _ = write_bids_like(tmp_path / "study")
    config = {**table_config(table), "contrasts": {"face_vs_house": ["face", "House"]}}
    with pytest.raises(ConfigError) as error:
        validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
    first = tmp_path / "study/sub-01/func/sub-01_task-objects_run-1_events.tsv"
    assert str(error.value) == (
        f"config key contrasts.face_vs_house: unknown condition 'House'; subject 1 (from {first} and 3 other "
        "file(s)) has bottle, cat, chair, face, house, scissors, scrambledpix, shoe"
    )


@pytest.mark.parametrize("source", ["table", "bids"])
def test_the_subjects_key_is_refused_where_the_source_has_its_own(tmp_path, source):
    from snakelight.workflow.config import ConfigError, validate_config

    dataset = {"source": source, "bids": {"bids_dir": str(tmp_path)}}
    config = {"dataset": dataset, "subjects": [1, 2], "contrasts": {"fh": ["face", "house"]}}
    with pytest.raises(ConfigError, match=rf"^config key subjects: the {source} source's subjects are .*; remove it$"):
        validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
