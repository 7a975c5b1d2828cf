import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import requests

from snakelight import synthetic

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
    from snakelight.samples import read_labels

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


def run_snakemake(workdir, *args, check=True):
    """Run the workflow in ``workdir`` with Snakemake's command line; ``.stdout`` holds
    both of its output streams."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
               "--directory", str(workdir), *args]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout}")
    return result
