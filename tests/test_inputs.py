"""Bad input stops the step that can first see it, with one line naming the file (or
config key) and the problem, and no output (docs: Reference, "Error messages").

Each case damages a copy of the tiny dataset and runs the step's function; the
workflow-level tests (tests/test_reliability.py) show the same lines in Snakemake's
output and that no chunk job ran.
"""

import logging
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from snakelight.data.conditions import check_folds, select_conditions
from snakelight.data.haxby import fetch_subject
from snakelight.data.masks import process_mask, write_process_mask
from snakelight.io import InputError

from . import damage
from .conftest import copy_haxby

KFOLD4 = {"method": "kfold", "n_splits": 4}

# name -> (how the copy of haxby2001 (d) is damaged, the message; {d} is the copy)
FETCH_CASES = {
    "truncated bold": (
        lambda d: damage.truncate(d / "subj2/bold.nii.gz"),
        "{d}/subj2/bold.nii.gz: truncated or corrupt (Compressed file ended before the end-of-stream marker "
        "was reached); delete {d}/subj2 and rerun to fetch it again",
    ),
    "truncated mask": (
        lambda d: damage.truncate(d / "mask.nii.gz", keep=0.9),
        "{d}/mask.nii.gz: truncated or corrupt (Compressed file ended before the end-of-stream marker "
        "was reached); delete {d}/mask.nii.gz and rerun to fetch it again",
    ),
    "labels without chunks": (
        lambda d: damage.edit_labels(d / "subj2", lambda t: t.rename(columns={"chunks": "run"})),
        "{d}/subj2/labels.txt: no column 'chunks'; a labels file has space-separated columns 'labels' and "
        "'chunks' (this one has 'labels', 'run')",
    ),
    "labels count": (
        lambda d: damage.edit_labels(d / "subj2", lambda t: t.iloc[:-1]),
        "{d}/subj2/labels.txt: 483 label rows, but {d}/subj2/bold.nii.gz has 484 volumes; there must be one "
        "row per volume (if the file is damaged, delete {d}/subj2 and rerun to fetch it again)",
    ),
    "3D BOLD": (
        lambda d: damage.edit_image(d / "subj2/bold.nii.gz", lambda data, affine: (data[..., 0], affine)),
        "{d}/subj2/bold.nii.gz: the BOLD image is 3D (shape 12x14x12); it must be 4D (x, y, z, volumes)",
    ),
    "mask shape": (
        lambda d: damage.edit_image(d / "mask.nii.gz", lambda data, affine: (data[:, :, :11], affine)),
        "{d}/mask.nii.gz: the brain mask's shape 12x14x11 differs from the BOLD image's 12x14x12 "
        "({d}/subj2/bold.nii.gz); they must share one grid",
    ),
    "mask affine": (
        lambda d: damage.edit_image(d / "mask.nii.gz", lambda data, affine: (data, affine + np.diag([0, 0, 2, 0]))),
        "{d}/mask.nii.gz: the brain mask's affine differs from the BOLD image's ({d}/subj2/bold.nii.gz) "
        "by up to 2; they must share one grid",
    ),
    "empty mask": (
        lambda d: damage.edit_image(d / "mask.nii.gz", lambda data, affine: (0 * data, affine)),
        "{d}/mask.nii.gz: the brain mask is empty (no nonzero voxel)",
    ),
    "NaN voxels": (
        lambda d: damage.set_voxels(d / "subj2", damage.mask_voxels(d, 2), np.nan, dtype=np.float32),
        "{d}/subj2/bold.nii.gz: 2 brain-mask voxels hold NaN or infinite values (the first at voxel (1, 4, 5)); "
        "fix the image or leave those voxels out of the brain mask",
    ),
    "every voxel constant": (
        lambda d: damage.edit_image(d / "subj2/bold.nii.gz", lambda data, affine: (0 * data + 700, affine)),
        "{d}/subj2/bold.nii.gz: every brain-mask voxel is constant over time; there is nothing to decode",
    ),
}


@pytest.mark.parametrize("case", FETCH_CASES)
def test_fetch_names_the_bad_file(haxby_dir, offline, tmp_path, case):
    damage_it, message = FETCH_CASES[case]
    copy = copy_haxby(haxby_dir, tmp_path / "data")
    damage_it(copy)
    with pytest.raises(InputError) as error:
        fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=tmp_path / "data")
    assert str(error.value) == message.format(d=copy)
    assert not (tmp_path / "dataset.json").exists()


def test_damaged_gzip_stream_is_caught_by_its_checksum(haxby_dir, offline, tmp_path):
    copy = copy_haxby(haxby_dir, tmp_path / "data")
    damage.flip_byte(copy / "subj2/bold.nii.gz")
    with pytest.raises(InputError) as error:
        fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=tmp_path / "data")
    assert re.fullmatch(
        rf"{copy}/subj2/bold.nii.gz: truncated or corrupt \((CRC check failed|Error -3) .+\); "
        rf"delete {copy}/subj2 and rerun to fetch it again",
        str(error.value),
    )


def test_constant_voxels_warn_with_their_count(haxby_dir, offline, tmp_path, caplog):
    copy = copy_haxby(haxby_dir, tmp_path / "data")
    damage.set_voxels(copy / "subj2", damage.mask_voxels(copy, 3), 700)
    with caplog.at_level(logging.WARNING, logger="snakelight"):
        fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=tmp_path / "data")
    assert caplog.messages == [
        f"{copy}/subj2/bold.nii.gz: 3 of 550 brain-mask voxels are constant over time "
        "(the first at voxel (1, 4, 5)); they carry no information"
    ]
    assert (tmp_path / "dataset.json").exists()


def test_condition_missing_from_the_labels_lists_those_present(haxby_dir, offline, tmp_path):
    copy = copy_haxby(haxby_dir, tmp_path / "data")
    damage.edit_labels(copy / "subj2", lambda t: damage.relabel(t, "cat"))
    fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=tmp_path / "data")
    outputs = [tmp_path / name for name in ("samples.nii.gz", "samples.tsv", "masked_samples.npy")]
    with pytest.raises(InputError) as error:
        select_conditions(tmp_path / "dataset.json", ["face", "cat"], KFOLD4, *outputs)
    assert str(error.value) == (
        f"{copy}/subj2/labels.txt: no volume is labelled 'cat'; the labels are bottle, "
        "chair, face, house, rest, scissors, scrambledpix, shoe"
    )
    assert not any(path.exists() for path in outputs)


def samples(runs):
    """A samples table: ``runs`` is a list of lists of labels, one per run."""
    return pd.DataFrame([{"label": label, "run": run} for run, labels in enumerate(runs) for label in labels])


@pytest.mark.parametrize(
    ("table", "cv", "message"),
    [
        # Acquisition order: 'bottle' only at the end, so the last KFold test fold takes all of it.
        (
            samples([["face"] * 9] * 3 + [["face"] * 9 + ["bottle"] * 9]),
            KFOLD4,
            "labels.txt: too few volumes of 'bottle' (9 in all) for kfold with 4 splits: training fold 4 of 4 "
            "holds none",
        ),
        (
            samples([["chair"], ["scissors", "scissors"]]),
            KFOLD4,
            "config key searchlight.cv.n_splits: kfold with 4 splits cannot split the 3 volumes of chair, scissors "
            "in labels.txt (Cannot have number of splits n_splits=4 greater than the number of samples: "
            "n_samples=3.)",
        ),
        (
            samples([["face", "house"] * 5]),
            {"method": "leave_one_run_out", "n_splits": 4},
            "config key searchlight.cv.method: leave_one_run_out cannot split the 10 volumes of face, house in "
            "labels.txt (The groups parameter contains fewer than 2 unique groups ([0]). LeaveOneGroupOut "
            "expects at least 2.)",
        ),
        (
            samples([["face", "house"], ["face"]]),
            {"method": "leave_one_run_out", "n_splits": 4},
            "labels.txt: too few volumes of 'house' (1 in all) for leave_one_run_out: training fold 1 of 2 holds none",
        ),
    ],
)
def test_folds_that_cannot_cross_validate_are_refused(table, cv, message):
    with pytest.raises(InputError) as error:
        check_folds(table, cv, "labels.txt")
    assert str(error.value) == message


def test_enough_samples_give_the_chunk_jobs_folds():
    folds = check_folds(samples([["face", "house"] * 3] * 4), KFOLD4, "labels.txt")
    assert [test.tolist() for _, test in folds] == [list(range(i, i + 6)) for i in range(0, 24, 6)]


def test_slice_outside_the_volume_names_its_key(face_house):
    with pytest.raises(InputError) as error:
        process_mask(face_house["mask"], slices={"z": [5, 50]})
    assert (
        str(error.value) == "config key process_mask.slices.z: index 50 is outside the volume "
        "(z has 12 voxels: 0 to 11)"
    )


def test_empty_process_mask_stops_with_no_output(face_house, tmp_path):
    face_house["mask"].to_filename(tmp_path / "mask.nii.gz")
    with pytest.raises(InputError) as error:  # the lowest slices lie below the brain
        write_process_mask(
            {"mask": str(tmp_path / "mask.nii.gz")},
            tmp_path / "pm.nii.gz",
            slices={"z": [1]},
            box={"y": [None, 8]},
            roi=None,
        )
    assert str(error.value) == (
        f"config key process_mask: no voxel of the brain mask {tmp_path}/mask.nii.gz is "
        "selected (slices {'z': [1]}, box {'y': [None, 8]}); nothing to score"
    )
    assert not (tmp_path / "pm.nii.gz").exists()


@pytest.mark.parametrize(
    ("error", "stderr"),
    [
        ("InputError('data/bold.nii.gz: the BOLD image is 3D')", "error: data/bold.nii.gz: the BOLD image is 3D\n"),
        ("ZeroDivisionError('a bug')", None),
    ],
)
def test_steps_report_input_errors_in_one_line_and_bugs_with_a_traceback(tmp_path, error, stderr):
    log = tmp_path / "step.log"
    script = (
        f"from snakelight.io import InputError\nfrom snakelight.logs import to_file\n"
        f"to_file({str(log)!r})\nraise {error}\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    if stderr is not None:
        assert result.stderr == stderr
        assert log.read_text().endswith(f" ERROR {stderr[len('error: ') :]}")
    else:
        assert "Traceback" in result.stderr and result.stderr.endswith("ZeroDivisionError: a bug\n")
        assert "Traceback" in log.read_text()
