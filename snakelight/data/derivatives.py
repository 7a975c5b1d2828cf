"""The ``bids`` source's outputs as a BIDS-like derivatives dataset.

BIDS-like, not valid BIDS: the statistical-derivatives extension (BEP 041) that would
name ``statmap`` files is not merged, and ``betaseries`` is no BIDS suffix either; the
``.bidsignore`` written beside ``dataset_description.json`` keeps the validator off them.
Layout, under the dataset's root::

    dataset_description.json, .bidsignore
    sub-<label>/func/sub-<label>_<entities>_desc-<estimate>_betaseries.nii.gz  (glm mode)
    sub-<label>/func/sub-<label>_<entities>_desc-<estimate>_betaseries.tsv     (its rows)
    sub-<label>/func/sub-<label>_<entities>_desc-brain_mask.nii.gz             (glm mode)
    sub-<label>/func/sub-<label>_<entities>_desc-residuals_betaseries.npz      (estimate condition: the GLMs' residuals)
    sub-<label>/func/sub-<label>_<entities>_contrast-<c>_desc-searchlight_stat-<s>_statmap.nii.gz (+ .json)

``<entities>`` are the task and space entities of the subject's preprocessed bold
(``task-…_space-…``, with ``res``/``den`` when fMRIPrep named them); ``<c>`` is the
contrast's name in camel case (``face_vs_house`` -> ``faceVsHouse``: BIDS labels are
alphanumeric) and ``<s>`` the score (``accuracy``, or the scorer's name in camel case).
Parse-time code imports this module: it must not import nilearn.
"""

import re
import shutil
from pathlib import Path

from snakelight import __version__
from snakelight.data.bids import derivatives_dir
from snakelight.io import atomic_path, read_json, write_json
from snakelight.provenance import sidecar_path
from snakelight.searchlight.outputs import output_names

PIPELINE = "snakelight"
BIDS_VERSION = "1.9.0"
# The entities a subject's beta series and maps keep from its preprocessed bold.
GRID_ENTITIES = ("task", "space", "res", "den")
# Names of the datasets the BIDS URIs in Sources point to (dataset_description's DatasetLinks).
RAW, PREPROCESSED = "raw", "fmriprep"
BIDSIGNORE = ("*_betaseries.*", "*_statmap.*")


def camel_label(name):
    """A config name as a BIDS label: ``face_vs_house`` -> ``faceVsHouse``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def stat_label(scoring):
    """The ``stat`` entity of a map scored by ``scoring`` (None: the estimator's
    accuracy)."""
    return "accuracy" if scoring is None else camel_label(scoring)


def grid_entities(bold_path):
    """``task-…_space-…[_res-…][_den-…]`` from a preprocessed bold's file name."""
    found = dict(re.findall(r"(?:^|_)([a-z]+)-([A-Za-z0-9]+)", Path(bold_path).name))
    return "_".join(f"{key}-{found[key]}" for key in GRID_ENTITIES if key in found)


def func_name(subject, entities, rest):
    """``sub-<subject>/func/sub-<subject>_<entities>_<rest>``; the arguments may be
    Snakemake wildcards (``"{subject}"``)."""
    return f"sub-{subject}/func/sub-{subject}_{entities}_{rest}"


def betaseries_name(subject, entities, estimate, extension):
    return func_name(subject, entities, f"desc-{estimate}_betaseries{extension}")


def residuals_name(subject, entities):
    """The condition GLMs' residuals (snakelight.data.glm.Residuals: arrays in a .npz)."""
    return betaseries_name(subject, entities, "residuals", ".npz")


def mask_name(subject, entities):
    return func_name(subject, entities, "desc-brain_mask.nii.gz")


def statmap_name(subject, entities, contrast_label, stat, extension):
    """A map's name; ``contrast_label``: :func:`camel_label` of the contrast's name,
    ``stat``: :func:`stat_label` of the scoring."""
    return func_name(subject, entities, f"contrast-{contrast_label}_desc-searchlight_stat-{stat}_statmap{extension}")


def statmap_sources(runs, samples, bids_config):
    """BIDS URIs of what a subject's maps were computed from: its beta series (glm
    mode) or its preprocessed bold files. ``runs``: the subject's rows of the runs
    table; ``samples``: the workflow's ``samples`` section."""
    if samples["mode"] == "glm":
        subject = runs["subject"].iloc[0]
        betas = betaseries_name(subject, grid_entities(runs["bold"].iloc[0]), samples["glm"]["estimate"], ".nii.gz")
        return [f"bids::{betas}"]
    return bold_sources(runs["bold"], bids_config)


def write_description(description_path, bidsignore_path, bids_config):
    """The derivatives dataset's ``dataset_description.json`` (its sources: the raw
    dataset and fMRIPrep's folder) and ``.bidsignore``."""
    links = {RAW: _uri(bids_config["bids_dir"]), PREPROCESSED: _uri(preprocessed_dir(bids_config))}
    write_json(
        description_path,
        {
            "Name": "snakelight searchlight decoding",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": PIPELINE, "Version": __version__}],
            "SourceDatasets": [{"URL": url} for url in links.values()],
            "DatasetLinks": links,
        },
    )
    with atomic_path(bidsignore_path) as tmp:
        tmp.write_text("".join(f"{pattern}\n" for pattern in BIDSIGNORE))


def preprocessed_dir(bids_config):
    return derivatives_dir(bids_config["bids_dir"], bids_config["derivatives"])


def bold_sources(bolds, bids_config):
    """BIDS URIs of preprocessed bold files (``bids:fmriprep:<path in its folder>``)."""
    root = Path(preprocessed_dir(bids_config)).resolve()
    return [f"bids:{PREPROCESSED}:{Path(bold).resolve().relative_to(root).as_posix()}" for bold in bolds]


def write_statmap(map_path, statmap_path, *, contrast, chance, samples, sources):
    """Copy the searchlight map at ``map_path`` to ``statmap_path`` and write its JSON
    sidecar: how it was computed (from the map's own sidecar: the folds the merge found,
    not the config's ``n_splits``), its chance level, what its samples are and their
    ``sources`` (BIDS URIs)."""
    record = read_json(sidecar_path(map_path))
    searchlight = record["config"]["searchlight"]
    with atomic_path(statmap_path) as tmp:
        shutil.copyfile(map_path, tmp)
    if "rsa" in record["config"]:  # searchlight.measure rsa: the first model's fit
        rsa = record["config"]["rsa"]
        measure = {
            "Description": "representational similarity searchlight: the fit of the model RDM "
            f"{next(iter(rsa['models']))!r} to the RDM of the sphere centred on each voxel",
            "RSA": rsa,
        }
    else:
        measure = {
            "Description": "searchlight decoding: the mean cross-validated score of the sphere centred on each voxel",
            "Estimator": searchlight["estimator"],
            "Engine": searchlight["engine"],
            "CrossValidation": record["cross_validation"],
            "Scoring": output_names(searchlight["scoring"])[0],
        }
    write_json(
        sidecar_path(statmap_path),
        {
            **measure,
            "Contrast": {"Name": contrast, "Conditions": record["config"]["contrast"][contrast]},
            "Radius": searchlight["radius"],
            "RadiusUnits": "mm",
            "ChanceLevel": chance,
            "ProcessMask": record["config"]["process_mask"],
            "Samples": samples,
            "Sources": sources,
            "SoftwareVersions": record["versions"],
        },
    )


def _uri(path):
    return Path(path).resolve().as_uri()
