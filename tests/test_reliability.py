"""Reliability through Snakemake's command line (docs: Explanation, "Reliability"): bad input stops
before any chunk job with its one-line message, killed runs resume with only the
unfinished chunks, and maps reproduce byte for byte."""

import json
import os
import shutil
import signal
import subprocess
import time

import nibabel as nib
import numpy as np
import psutil
import pytest

from snakelight.provenance import sha256

from . import damage
from .conftest import OUT, REPO, TINY_CONFIG, copy_haxby, job_counts, run_snakemake, snakemake_command, write_config

pytestmark = pytest.mark.workflow

MAPS = ("searchlight.nii.gz", "searchlight_folds.nii.gz", "fscores.nii.gz")


def _subject_2_labels(table):
    """No 'cat'; 'shoe' only in the last 3 volumes; 'chair' once and 'scissors' twice."""
    for condition, keep in (("cat", []), ("shoe", [-3, -2, -1]), ("chair", [10]), ("scissors", [20, 21])):
        table = damage.relabel(table, condition, keep)
    return table


# subject -> (damage to its folder (a copy of the tiny subject 2), the line Snakemake shows; {d} = haxby2001)
BROKEN_SUBJECTS = {
    1: (
        lambda s: damage.truncate(s / "bold.nii.gz"),
        "error: {d}/subj1/bold.nii.gz: truncated or corrupt (Compressed file ended before the end-of-stream "
        "marker was reached); delete {d}/subj1 and rerun to fetch it again",
    ),
    3: (
        lambda s: damage.edit_labels(s, lambda t: t.drop(columns="chunks")),
        "error: {d}/subj3/labels.txt: no column 'chunks'; a labels file has space-separated columns 'labels' "
        "and 'chunks' (this one has 'labels')",
    ),
    4: (
        lambda s: damage.edit_labels(s, lambda t: t.iloc[:-1]),
        "error: {d}/subj4/labels.txt: 483 label rows, but {d}/subj4/bold.nii.gz has 484 volumes; there must be "
        "one row per volume (if the file is damaged, delete {d}/subj4 and rerun to fetch it again)",
    ),
    5: (
        lambda s: damage.edit_image(s / "bold.nii.gz", lambda data, affine: (data[..., 0], affine)),
        "error: {d}/subj5/bold.nii.gz: the BOLD image is 3D (shape 12x14x12); it must be 4D (x, y, z, volumes)",
    ),
    6: (
        lambda s: damage.set_voxels(s, damage.mask_voxels(s.parent, 2), np.nan, dtype=np.float32),
        "error: {d}/subj6/bold.nii.gz: 2 brain-mask voxels hold NaN or infinite values (the first at voxel "
        "(1, 4, 5)); fix the image or leave those voxels out of the brain mask",
    ),
}
# Subject 2 passes the fetch (with a warning); then each contrast, and the process mask, fail.
BROKEN_STEPS = {
    "sub-02/face_vs_cat/samples.nii.gz": "error: {d}/subj2/labels.txt: no volume is labelled 'cat'; the labels are bottle, chair, face, house, "
    "rest, scissors, scrambledpix, shoe",
    "sub-02/face_vs_shoe/samples.nii.gz": "error: {d}/subj2/labels.txt: too few volumes of 'shoe' (3 in all) for kfold with 4 splits: training fold "
    "4 of 4 holds none",
    "sub-02/chair_vs_scissors/samples.nii.gz": "error: config key searchlight.cv.n_splits: kfold with 4 splits cannot split the 3 volumes of chair, "
    "scissors in {d}/subj2/labels.txt (Cannot have number of splits n_splits=4 greater than the number of "
    "samples: n_samples=3.)",
    "sub-02/process_mask.nii.gz": "error: config key process_mask.slices.z: index 50 is outside the volume (z has 12 voxels: 0 to 11)",
}
SUBJECT_2_WARNING = (
    "warning: {d}/subj2/bold.nii.gz: 3 of 550 brain-mask voxels are constant over time (the first "
    "at voxel (1, 4, 5)); they carry no information"
)


@pytest.fixture(scope="module")
def broken_run(haxby_dir, tmp_path_factory):
    """One Snakemake run (--keep-going) over six subjects, each broken in its own way."""
    workdir = tmp_path_factory.mktemp("broken")
    data = copy_haxby(haxby_dir, workdir / "data")
    for subject, (damage_it, _) in BROKEN_SUBJECTS.items():
        damage_it(shutil.copytree(data / "subj2", data / f"subj{subject}"))
    damage.set_voxels(data / "subj2", damage.mask_voxels(data, 3), 700)
    damage.edit_labels(data / "subj2", _subject_2_labels)
    config = {
        "dataset": {"source": "haxby", "data_dir": str(workdir / "data")},
        "subjects": [1, 2, 3, 4, 5, 6],
        "contrasts": {
            "face_vs_cat": ["face", "cat"],
            "face_vs_shoe": ["face", "shoe"],
            "chair_vs_scissors": ["chair", "scissors"],
        },
        "process_mask": {"slices": {"z": [5, 50]}},
    }
    result = run_snakemake(
        workdir, "--cores", "2", "--keep-going", "--configfile", write_config(workdir, config), check=False
    )
    assert result.returncode != 0
    return workdir, data, result.stdout


@pytest.mark.parametrize("subject", BROKEN_SUBJECTS)
def test_bad_subject_files_stop_the_fetch(broken_run, subject):
    workdir, data, output = broken_run
    assert BROKEN_SUBJECTS[subject][1].format(d=data) in output.splitlines()
    assert not (workdir / f"results/config/sub-{subject:02d}/dataset.json").exists()


@pytest.mark.parametrize("output_path", BROKEN_STEPS)
def test_bad_conditions_folds_and_process_mask_stop_before_the_chunks(broken_run, output_path):
    workdir, data, output = broken_run
    assert BROKEN_STEPS[output_path].format(d=data) in output.splitlines()
    assert not list((workdir / "results/config" / output_path).parent.glob(f"*{output_path.split('/')[-1]}*"))


def test_no_chunk_job_runs_on_bad_input_and_warnings_show(broken_run):
    workdir, data, output = broken_run
    assert SUBJECT_2_WARNING.format(d=data) in output.splitlines()
    assert (workdir / "results/config/sub-02/dataset.json").exists()
    assert "rule searchlight_chunk:" not in output
    assert not list(workdir.glob("results/config/*/*/chunks"))
    assert not list(workdir.glob("results/**/*.tmp*")) and not list(workdir.glob("results/**/.*"))


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    """TINY_CONFIG from scratch again, in one chunk instead of three (maps only)."""
    workdir = tmp_path_factory.mktemp("again")
    config = {**TINY_CONFIG, "searchlight": {**TINY_CONFIG["searchlight"], "n_chunks": 1}}
    run_snakemake(
        workdir,
        f"{OUT}/searchlight.nii.gz",
        f"{OUT}/fscores.nii.gz",
        "--cores",
        "2",
        "--configfile",
        write_config(workdir, config),
    )
    return workdir


@pytest.mark.parametrize("name", MAPS)
def test_runs_from_scratch_write_identical_maps_whatever_the_chunks(tiny_run, second_run, name):
    first, again = (tiny_run / OUT / name).read_bytes(), (second_run / OUT / name).read_bytes()
    assert first == again
    assert np.count_nonzero(nib.load(tiny_run / OUT / name).get_fdata()) > 50  # not an empty map


def test_sidecars_record_config_versions_and_checksums(tiny_run):
    out = tiny_run / OUT
    sidecar = json.loads((out / "searchlight.json").read_text())
    folds = json.loads((out / "searchlight_folds.json").read_text())
    assert sidecar == folds | {"map": "sub-02/face_vs_house/searchlight.nii.gz"}
    config = sidecar["config"]
    assert sorted(config) == ["contrast", "dataset", "process_mask", "searchlight", "subject"]
    assert (config["subject"], config["contrast"]) == (2, {"face_vs_house": ["face", "house"]})
    assert config["searchlight"]["radius"] == 5.6 and config["searchlight"]["n_chunks"] == 3
    assert config["dataset"]["synthetic"]["shape"] == [12, 14, 12]
    assert sorted(sidecar["inputs"]) == ["bold", "labels", "mask", "process_mask"]
    # Paths relative to the analysis's folder: the generated data are in it.
    assert "dataset_root" not in sidecar
    assert sidecar["inputs"]["bold"]["path"] == "synthetic/haxby2001/subj2/bold.nii.gz"
    for entry in sidecar["inputs"].values():
        assert entry["sha256"] == sha256(tiny_run / "results/config" / entry["path"])
    # The folds that ran: KFold's 4 on the tiny data's 4 runs.
    assert sidecar["cross_validation"]["n_splits"] == 4 == nib.load(out / "searchlight_folds.nii.gz").shape[3]
    assert {"snakelight", "nilearn", "scikit-learn", "numpy", "nibabel", "snakemake"} <= set(sidecar["versions"])
    fscores = json.loads((out / "fscores.json").read_text())
    assert sorted(fscores["config"]) == ["contrast", "dataset", "subject"]
    assert fscores["inputs"] == {k: v for k, v in sidecar["inputs"].items() if k != "process_mask"}


def test_two_checkouts_write_the_same_sidecars(tiny_run, tmp_path):
    """The tiny configuration run from another checkout of the workflow, in another
    folder: byte-identical sidecars (no absolute path in them)."""
    checkout = tmp_path / "elsewhere" / "snakelight"
    shutil.copytree(REPO / "workflow", checkout / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    command = snakemake_command(checkout, f"{OUT}/searchlight.nii.gz", f"{OUT}/fscores.nii.gz", "--cores", "2")
    command[command.index("-s") + 1] = str(checkout / "workflow" / "Snakefile")
    subprocess.run([*command, "--configfile", write_config(checkout, TINY_CONFIG)], cwd=checkout, check=True)
    for name in ("searchlight.json", "searchlight_folds.json", "fscores.json"):
        assert (checkout / OUT / name).read_bytes() == (tiny_run / OUT / name).read_bytes(), name


def _chunk_jobs(process):
    jobs = []
    for child in process.children(recursive=True):
        try:
            if any(part.endswith("searchlight_chunk.py") for part in child.cmdline()):
                jobs.append(child)
        except psutil.Error:  # exited meanwhile
            pass
    return jobs


def run_and_kill(workdir, kill, timeout=120):
    """Run Snakemake on one core until a chunk is written and the next chunk job runs,
    then ``kill(snakemake, chunk_job)``; returns Snakemake's output."""
    command = snakemake_command(
        workdir, f"{OUT}/searchlight.nii.gz", "--cores", "1", "--configfile", str(workdir / "config.yaml")
    )
    snakemake = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        parent, before, deadline = psutil.Process(snakemake.pid), None, time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = _chunk_jobs(parent)
            if before is None and list((workdir / OUT / "chunks").glob("*.npz")):
                before = {job.pid for job in jobs}  # the job that wrote it may still be exiting
            started = [job for job in jobs if before is not None and job.pid not in before]
            if started:
                kill(snakemake, started[0])
                return snakemake.communicate(timeout=timeout)[0]
            time.sleep(0.02)
        raise AssertionError("no second chunk job started")
    finally:
        if snakemake.poll() is None:
            os.killpg(snakemake.pid, signal.SIGKILL)
            snakemake.wait()


def kill_job(snakemake, job):
    job.send_signal(signal.SIGKILL)


def kill_snakemake(snakemake, job):
    os.killpg(snakemake.pid, signal.SIGKILL)  # Snakemake and its running job, at once


@pytest.mark.parametrize("kill", [kill_job, kill_snakemake])
def test_killed_run_resumes_with_only_the_unfinished_chunks(tiny_run, tmp_path, kill):
    # The finished run's data steps, without its chunks and what follows them.
    workdir = shutil.copytree(tiny_run, tmp_path / "run", symlinks=True)
    shutil.rmtree(workdir / OUT / "chunks")
    for path in workdir.glob(f"{OUT}/searchlight*"):
        path.unlink()

    output = run_and_kill(workdir, kill)
    finished = len(list((workdir / OUT / "chunks").glob("*.npz")))
    assert 1 <= finished < 3
    if kill is kill_job:
        assert "Error in rule searchlight_chunk:" in output
    else:  # Snakemake killed by a signal cannot release its lock: README says to unlock.
        run_snakemake(workdir, "--unlock", "--configfile", str(workdir / "config.yaml"))
    rerun = run_snakemake(
        workdir, f"{OUT}/searchlight.nii.gz", "--cores", "2", "--configfile", str(workdir / "config.yaml")
    )
    assert job_counts(rerun.stdout) == {"searchlight_chunk": 3 - finished, "merge": 1}
    for name in MAPS[:2]:
        assert (workdir / OUT / name).read_bytes() == (tiny_run / OUT / name).read_bytes()
    assert sorted(p.name for p in (workdir / OUT / "chunks").iterdir()) == ["0.npz", "1.npz", "2.npz"]
