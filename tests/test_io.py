"""Atomic writes and the JSON sidecars beside each map."""

import hashlib
import json
from importlib import metadata

import numpy as np
import pytest

from snakelight.io import atomic_path, read_chunk, write_chunk
from snakelight.provenance import input_files, sidecar_path, write_sidecars


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "map.nii.gz") as tmp:
        tmp.write_bytes(b"half a map")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_the_next_writer_removes_a_killed_writers_temporary(tmp_path):
    # What SIGKILL leaves: the temporary of a writer whose clean-up never ran.
    (tmp_path / ".0.npz.4242.tmp.npz").write_bytes(b"partial")
    (tmp_path / ".1.npz.4242.tmp.npz").write_bytes(b"another output's")
    write_chunk(tmp_path / "0.npz", np.arange(3), {"accuracy": np.ones((3, 4)), "balanced_accuracy": np.zeros((3, 4))})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".1.npz.4242.tmp.npz", "0.npz"]
    seeds, outputs = read_chunk(tmp_path / "0.npz")
    assert seeds.tolist() == [0, 1, 2] and list(outputs) == ["accuracy", "balanced_accuracy"]
    assert outputs["accuracy"].shape == (3, 4) and not outputs["balanced_accuracy"].any()


def test_sidecar_records_config_versions_and_input_checksums(tmp_path):
    inputs = {}
    for name in ("bold", "mask", "labels", "process_mask"):
        inputs[name] = tmp_path / f"{name}.bin"
        inputs[name].write_bytes(name.encode() * 100)
    maps = [tmp_path / "searchlight.nii.gz", tmp_path / "searchlight_folds.nii.gz"]
    config = {"subject": 2, "searchlight": {"radius": 5.6, "cv": {"method": "kfold", "n_splits": 4}}}
    manifest = {name: str(inputs[name]) for name in ("bold", "mask", "labels")} | {"subject": 2, "t_r": 2.5}
    write_sidecars(maps, config, input_files(manifest, process_mask=inputs["process_mask"]))

    for map_path, name in zip(maps, ("searchlight.json", "searchlight_folds.json")):
        assert sidecar_path(map_path) == str(tmp_path / name)
        sidecar = json.loads((tmp_path / name).read_text())
        assert sidecar["map"] == map_path.name  # relative to the map's folder: no results/<analysis>/ above
        assert sidecar["config"] == config
        assert sidecar["inputs"] == {
            name: {"path": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            for name, path in inputs.items()
        }
        assert "dataset_root" not in sidecar
        versions = sidecar["versions"]
        assert {"python", "snakelight", "nilearn", "scikit-learn", "numpy", "nibabel"} <= set(versions)
        assert versions["nilearn"] == metadata.version("nilearn")
    with pytest.raises(ValueError, match="not a NIfTI file name"):
        sidecar_path("map.png")


def test_sidecar_paths_are_relative_to_the_analysis_and_the_input_dataset(tmp_path):
    """Paths under results/<analysis>/ relative to it, the others relative to their common
    folder, named once: the same sidecar in another checkout."""
    sidecars = []
    for checkout in ("a", "b"):
        analysis = tmp_path / checkout / "results" / "study"
        (analysis / "sub-02" / "face").mkdir(parents=True)
        data = tmp_path / "data" / "haxby2001"
        (data / "subj2").mkdir(parents=True, exist_ok=True)
        files = {
            "bold": data / "subj2" / "bold.nii.gz",
            "mask": data / "mask.nii.gz",
            "process_mask": analysis / "sub-02" / "process_mask.nii.gz",
        }
        for name, path in files.items():
            path.write_bytes(name.encode())
        map_path = analysis / "sub-02" / "face" / "searchlight.nii.gz"
        write_sidecars([map_path], {"subject": 2}, files)
        sidecars.append((analysis / "sub-02" / "face" / "searchlight.json").read_bytes())
    assert sidecars[0] == sidecars[1]
    sidecar = json.loads(sidecars[0])
    assert sidecar["map"] == "sub-02/face/searchlight.nii.gz"
    assert sidecar["dataset_root"] == str((tmp_path / "data" / "haxby2001").resolve())
    assert {name: entry["path"] for name, entry in sidecar["inputs"].items()} == {
        "bold": "subj2/bold.nii.gz",
        "mask": "mask.nii.gz",
        "process_mask": "sub-02/process_mask.nii.gz",
    }
