"""Bad input stops the step that can first see it, with one line naming the file (or
config key) and the problem, and no output (README, "Reliability").

Each case damages a copy of the tiny dataset and runs the step's function; the
workflow-level tests (tests/test_reliability.py) show the same lines in Snakemake's
output and that no chunk job ran.
"""

import logging
import re
import subprocess
import sys

import numpy as np
import pytest

from snakelight.datasets import fetch_subject
from snakelight.io import InputError

from . import damage
from .conftest import copy_haxby

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
    assert re.fullmatch(rf"{copy}/subj2/bold.nii.gz: truncated or corrupt \((CRC check failed|Error -3) .+\); "
                        rf"delete {copy}/subj2 and rerun to fetch it again", str(error.value))


def test_constant_voxels_warn_with_their_count(haxby_dir, offline, tmp_path, caplog):
    copy = copy_haxby(haxby_dir, tmp_path / "data")
    damage.set_voxels(copy / "subj2", damage.mask_voxels(copy, 3), 700)
    with caplog.at_level(logging.WARNING, logger="snakelight"):
        fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=tmp_path / "data")
    assert caplog.messages == [f"{copy}/subj2/bold.nii.gz: 3 of 550 brain-mask voxels are constant over time "
                               "(the first at voxel (1, 4, 5)); they carry no information"]
    assert (tmp_path / "dataset.json").exists()


@pytest.mark.parametrize(
    ("error", "stderr"),
    [
        ("InputError('data/bold.nii.gz: the BOLD image is 3D')", "error: data/bold.nii.gz: the BOLD image is 3D\n"),
        ("ZeroDivisionError('a bug')", None),
    ],
)
def test_steps_report_input_errors_in_one_line_and_bugs_with_a_traceback(tmp_path, error, stderr):
    log = tmp_path / "step.log"
    script = (f"from snakelight.io import InputError\nfrom snakelight.logs import to_file\n"
              f"to_file({str(log)!r})\nraise {error}\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    if stderr is not None:
        assert result.stderr == stderr
        assert log.read_text().endswith(f" ERROR {stderr[len('error: '):]}")
    else:
        assert "Traceback" in result.stderr and result.stderr.endswith("ZeroDivisionError: a bug\n")
        assert "Traceback" in log.read_text()
