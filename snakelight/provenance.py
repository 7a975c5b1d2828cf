"""JSON sidecars: what produced a map (docs: Explanation, "Reliability").

``<map>.json`` beside ``<map>.nii.gz`` holds the configuration the map depends on
(not the figure settings), the versions of the packages that computed it, and the path
and sha256 checksum of each input file. It holds no time stamp and no path of the
checkout: the map's path and those of the inputs inside the analysis's folder
(``results/<analysis>/``) are relative to that folder, those of the inputs outside it
(``path``) relative to their common folder, named once as ``dataset_root``. So two runs of
one configuration on the same inputs write the same sidecar, in any checkout.
"""

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

import yaml

from snakelight.io import MANIFEST_FILES, atomic_path, write_json

PACKAGES = ("snakelight", "nilearn", "scikit-learn", "numpy", "scipy", "nibabel", "pandas", "snakemake")


def sidecar_path(map_path):
    """``.../searchlight.nii.gz`` -> ``.../searchlight.json``."""
    name = str(map_path)
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + ".json"
    raise ValueError(f"{map_path} is not a NIfTI file name")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions():
    """Python's version and each installed package's, of :data:`PACKAGES`."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def input_files(manifest, **more):
    """The input files named in a ``dataset.json`` manifest (bold, mask, labels, and a
    GLM's residuals where it names them), and ``more`` (name -> path)."""
    residuals = {"residuals": manifest["residuals"]} if "residuals" in manifest else {}
    return {**{name: manifest[name] for name in MANIFEST_FILES}, **residuals, **more}


def analysis_dir(path):
    """The analysis's folder holding ``path``: its ancestor directly under a folder named
    ``results`` (the workflow writes every file under ``results/<analysis>/``), else the
    folder ``path`` lies in."""
    path = Path(os.path.abspath(path))
    for folder in path.parents:
        if folder.parent.name == "results":
            return folder
    return path.parent


def recorded_inputs(inputs, root):
    """``inputs`` (name -> path) as a sidecar records them: ``{"inputs": {name: {"path",
    "sha256"}}}``, each path relative to the folder ``root`` when it lies in it, the
    others relative to their common folder, added as ``dataset_root`` (absolute)."""
    root = os.path.realpath(root)
    real = {name: os.path.realpath(path) for name, path in inputs.items()}
    outside = [path for path in real.values() if os.path.commonpath([root, path]) != root]
    dataset_root = os.path.commonpath([os.path.dirname(path) for path in outside]) if outside else None
    recorded = {}
    for name, path in real.items():
        base = root if os.path.commonpath([root, path]) == root else dataset_root
        recorded[name] = {"path": Path(os.path.relpath(path, base)).as_posix(), "sha256": sha256(path)}
    return {"inputs": recorded, **({"dataset_root": dataset_root} if dataset_root else {})}


def write_sidecars(map_paths, config, inputs, **facts):
    """Write the sidecar of each map: ``config`` (a dict), package versions, ``inputs``
    (name -> path) with their checksums, each computed once (:func:`recorded_inputs`:
    paths relative to the analysis's folder, :func:`analysis_dir`), and ``facts`` (what
    the step found, e.g. the folds it ran), each a key of its own."""
    root = analysis_dir(map_paths[0])
    record = {"config": config, **facts, "versions": versions(), **recorded_inputs(inputs, root)}
    for map_path in map_paths:
        write_json(sidecar_path(map_path), {"map": Path(os.path.relpath(map_path, root)).as_posix(), **record})


def write_config(path, config):
    """The analysis's configuration, defaults filled in, as YAML (``results/<analysis>/config.yaml``):
    what made the analysis's files, and a config file that reruns it."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
