"""JSON sidecars: what produced a map (README, "Reliability").

``<map>.json`` beside ``<map>.nii.gz`` holds the configuration the map depends on
(not the figure settings), the versions of the packages that computed it, and the path
and sha256 checksum of each input file. It holds no time stamp, so two runs of one
configuration on the same inputs write the same sidecar.
"""

import hashlib
import platform
from importlib import metadata

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
    """The input files named in a ``dataset.json`` manifest (bold, mask, labels), and
    ``more`` (name -> path)."""
    return {**{name: manifest[name] for name in MANIFEST_FILES}, **more}


def write_sidecars(map_paths, config, inputs):
    """Write the sidecar of each map: ``config`` (a dict), package versions, and
    ``inputs`` (name -> path) with their checksums, each computed once."""
    record = {
        "config": config,
        "versions": versions(),
        "inputs": {name: {"path": str(path), "sha256": sha256(path)} for name, path in inputs.items()},
    }
    for map_path in map_paths:
        write_json(sidecar_path(map_path), {"map": str(map_path), **record})


def write_config(path, config):
    """The analysis's configuration, defaults filled in, as YAML (``results/<analysis>/config.yaml``):
    what made the analysis's files, and a config file that reruns it."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
