import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import requests
import yaml

from snakelight.data import synthetic

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# A small Haxby-shaped volume: fast, yet with spheres of up to 19 voxels at 5.6 mm.
TINY = {"shape": (12, 14, 12), "voxel_size": (3.5, 3.75, 3.75), "n_runs": 4}


@pytest.fixture(scope="session")
def haxby_dir(tmp_path_factory):
    """A tiny generated dataset laid out as nilearn's fetch_haxby expects."""
    root = tmp_path_factory.mktemp("nilearn_data")
    synthetic.write_mask(root / "haxby2001", TINY["shape"], TINY["voxel_size"])
    synthetic.write_subject(root / "haxby2001", 2, n_runs=TINY["n_runs"], effect_size=1.5, seed=0)
    return root / "haxby2001"


@pytest.fixture
def offline(monkeypatch):
    """Any download attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(requests.Session, "send", refuse)


def copy_haxby(haxby_dir, root):
    """A copy of ``haxby_dir`` as ``root/haxby2001``, to damage; returns the copy."""
    return Path(shutil.copytree(haxby_dir, Path(root) / "haxby2001"))


@pytest.fixture(scope="session")
def face_house(haxby_dir):
    """The seed's inputs on the tiny dataset: face/house volumes, labels, runs, mask."""
    return _face_house(haxby_dir)


@pytest.fixture(scope="session")
def seed_sized(tmp_path_factory):
    """Face/house inputs with the seed's 216 samples (12 runs) on the tiny grid."""
    root = tmp_path_factory.mktemp("seed_sized") / "haxby2001"
    synthetic.write_mask(root, TINY["shape"], TINY["voxel_size"])
    synthetic.write_subject(root, 2, n_runs=12, effect_size=1.0, seed=0)
    return _face_house(root)


def _face_house(haxby_dir):
    from snakelight.io import read_labels

    labels = read_labels(haxby_dir / "subj2" / "labels.txt")
    keep = labels["label"].isin(["face", "house"]).to_numpy()
    bold = nib.load(haxby_dir / "subj2" / "bold.nii.gz")
    imgs = nib.Nifti1Image(np.asarray(bold.dataobj)[..., keep], bold.affine)
    return {
        "imgs": imgs,
        "labels": labels["label"].to_numpy()[keep],
        "runs": labels["run"].to_numpy()[keep],
        "mask": nib.load(haxby_dir / "mask.nii.gz"),
    }


def snakemake_command(workdir, *args):
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]


def run_snakemake(workdir, *args, check=True, env=None, timeout=600):
    """Run the workflow in ``workdir`` with Snakemake's command line, from there, with
    ``env`` added to the environment; ``.stdout`` holds both of its output streams.
    After ``timeout`` seconds Snakemake and everything it started are killed."""
    command = snakemake_command(workdir, *args)
    with subprocess.Popen(
        command,
        cwd=workdir,
        env={**os.environ, **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as process:
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, _ = process.communicate()
            raise AssertionError(f"snakemake ran over {timeout} s and was killed:\n{stdout}") from None
    result = subprocess.CompletedProcess(command, process.returncode, stdout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout}")
    return result


# The workflow on a tiny generated dataset: ~100 sphere centres in 3 chunks.
TINY_CONFIG = yaml.safe_load((REPO / ".test" / "config" / "config.yaml").read_text())
OUT = "results/config/sub-02/face_vs_house"


def job_counts(output):
    """Rule name -> job count, from the 'Job stats' table Snakemake prints."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def check_signflip_t(group_dir, subject_maps, searched, chance):
    """The group sign-flip's t map (``group_dir``/signflip/t.nii.gz) is the one-sample t of
    the subjects' maps (paths) against ``chance``, computed here from the maps, within
    ``searched``. Returns how many voxels had a finite t to compare."""
    differences = np.stack([nib.load(path).get_fdata()[searched] for path in subject_maps]) - chance
    t = differences.mean(axis=0) / (differences.std(axis=0, ddof=1) / np.sqrt(len(differences)))
    observed = nib.load(group_dir / "signflip/t.nii.gz").get_fdata()[searched]
    finite = np.isfinite(t)
    np.testing.assert_allclose(observed[finite], t[finite], rtol=1e-9)
    return int(finite.sum())


def write_config(workdir, config):
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished run of TINY_CONFIG. Tests that change it work on a copy."""
    workdir = tmp_path_factory.mktemp("run")
    result = run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, TINY_CONFIG))
    assert job_counts(result.stdout) == {
        "synthetic_mask": 1,
        "synthetic_subject": 1,
        "fetch": 1,
        "select_conditions": 1,
        "process_mask": 1,
        "searchlight_chunk": 3,
        "merge": 1,
        "fscores": 1,
        "figures": 1,
        "summary": 1,
        "analysis_config": 1,
        "all": 1,
    }
    return workdir
