"""The bids source through Snakemake's command line, on generated BIDS + fMRIPrep data
(snakelight.data.synthetic_bids): volumes and GLM samples, RSA of condition betas, the
BIDS-like derivatives, and each bad input's one-line error before any searchlight job."""

import json
import re
import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from snakelight.data import synthetic_bids
from snakelight.data.glm import read_residuals
from snakelight.data.haxby_design import CATEGORIES
from snakelight.io import read_json, read_masked_samples, read_samples_table
from snakelight.rsa.job import read_relabellings
from snakelight.rsa.measure import RSASettings, rsa_measure
from snakelight.rsa.synthetic import ANIMACY
from snakelight.rsa.synthetic import SHAPE as SHAPE_GROUPS
from snakelight.searchlight.spheres import process_seeds, sphere_members

from .conftest import run_snakemake, write_config

pytestmark = pytest.mark.workflow

# 8^3 voxels (6^3 in the functional mask, the planted cube 3^3), 100 volumes a run.
SHAPE = (8, 8, 8)
ENTITIES = f"task-faces_space-{synthetic_bids.SPACE}"
STATMAP = f"{ENTITIES}_contrast-faceVsHouse_desc-searchlight_stat-accuracy_statmap"


def bids_config(dataset, samples=None, **bids):
    """The whole mask searched, leave-one-run-out, two chunks; fMRIPrep's folder named
    only when it is not the dataset's own derivatives/."""
    if dataset.derivatives != dataset.bids_dir / "derivatives" / "fmriprep":
        bids["derivatives"] = str(dataset.derivatives)
    return {
        "dataset": {
            "source": "bids",
            "bids": {"bids_dir": str(dataset.bids_dir), **bids},
            "events": {"hemodynamic_shift": 4},
        },
        "samples": samples or {},
        "contrasts": {"face_vs_house": ["face", "house"]},
        "searchlight": {"cv": {"method": "leave_one_run_out"}, "n_chunks": 2},
        "figures": {"cut_coords": [9]},
    }


def run_bids(workdir, config, check=True):
    return run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config), check=check)


def files_under(root):
    return sorted(path.relative_to(root) for path in root.rglob("*"))


@pytest.fixture(scope="module")
def volumes_run(tmp_path_factory):
    """Volumes labelled by a block design's events; fMRIPrep nested in the dataset."""
    workdir = tmp_path_factory.mktemp("bids_volumes")
    dataset = synthetic_bids.write_dataset(workdir / "ds", design="block", shape=SHAPE, n_runs=3)
    written = files_under(dataset.bids_dir)
    run_bids(workdir, bids_config(dataset))
    return workdir, dataset, written


@pytest.fixture(scope="module")
def lss_run(tmp_path_factory):
    """LSS betas of an event-related design: subject sub-1 (unpadded, as OpenNeuro's
    ds000105), two sessions of two runs, unmodelled n/a events, fMRIPrep beside the
    dataset."""
    workdir = tmp_path_factory.mktemp("bids_lss")
    dataset = synthetic_bids.write_dataset(
        workdir / "ds",
        derivatives=workdir / "fmriprep",
        subjects=("1",),
        sessions=("a", "b"),
        n_runs=2,
        trials_per_condition=5,
        na_events=True,
        shape=SHAPE,
    )
    run_bids(workdir, bids_config(dataset, {"mode": "glm", "glm": {"estimate": "lss"}}))
    return workdir, dataset


RSA_MODELS = {"animacy": ANIMACY, "shape": SHAPE_GROUPS}
# Crossnobis normalised by the condition GLMs' residuals (one beta per condition and run
# leaves none of the betas' own).
RSA = {"models": RSA_MODELS, "distance": "crossnobis", "noise": "univariate"}


@pytest.fixture(scope="module")
def condition_run(tmp_path_factory):
    """Condition betas of an event design whose conditions, the 8 categories with the
    planted RSA geometry, are in stim_type; the RSA measure of them."""
    workdir = tmp_path_factory.mktemp("bids_condition")
    # 9^3: the shape model's cube (5:8) inside the functional mask.
    dataset = synthetic_bids.write_dataset(
        workdir / "ds", geometry="rsa", trials_per_condition=2, stim_type=True, n_runs=3, shape=(9, 9, 9)
    )
    samples = {"mode": "glm", "label_column": "stim_type", "glm": {"estimate": "condition"}}
    config = bids_config(dataset, samples)
    config.update(contrasts={"categories": list(CATEGORIES)}, rsa=RSA)
    config["searchlight"]["measure"] = "rsa"
    # The randomization test too: its null chunks read the residuals as the chunks do.
    config["inference"] = {"permutations": 19, "permutations_per_job": 10}
    run_bids(workdir, config)
    return workdir, dataset


def derivative(workdir, subject, suffix):
    return workdir / "results/config/snakelight" / f"sub-{subject}" / "func" / f"sub-{subject}_{suffix}"


def planted_and_elsewhere(workdir, subject, dataset):
    """The mean searchlight score of the process-mask voxels in the planted region,
    and of the others."""
    scores = nib.load(derivative(workdir, subject, f"{STATMAP}.nii.gz")).get_fdata()
    searched = nib.load(workdir / f"results/config/sub-{subject}/process_mask.nii.gz").get_fdata() > 0
    return scores[searched & dataset.region].mean(), scores[searched & ~dataset.region].mean()


# The runs of each fixture's subject: the folds of its leave-one-run-out.
RUNS = {"volumes_run": 3, "lss_run": 4}


@pytest.mark.parametrize("run", ["volumes_run", "lss_run"])
def test_the_searchlight_finds_the_planted_region(request, run):
    workdir, dataset, *_ = request.getfixturevalue(run)
    subject = next(iter(dataset.events))[0]
    planted, elsewhere = planted_and_elsewhere(workdir, subject, dataset)
    # Chance is 0.5; spheres centred outside the cube still reach into it.
    assert planted > 0.85
    assert planted > elsewhere + 0.15
    sidecar = read_json(derivative(workdir, subject, f"{STATMAP}.json"))
    assert sidecar["ChanceLevel"] == 0.5
    assert (sidecar["Estimator"], sidecar["Radius"], sidecar["CrossValidation"]["method"]) == (
        "svc",
        5.6,
        "leave_one_run_out",
    )
    # The folds that ran (one per run), not the config's n_splits (4 by default).
    folds = nib.load(workdir / f"results/config/sub-{subject}/face_vs_house/searchlight_folds.nii.gz")
    cv = sidecar["CrossValidation"]
    assert cv["n_splits"] == RUNS[run] == folds.shape[3] == len(cv["test_runs"]) == len(cv["test_samples"])
    assert all(len(runs) == 1 for runs in cv["test_runs"])
    # The statmap is the workflow's map, renamed.
    workflow_map = workdir / f"results/config/sub-{subject}/face_vs_house/searchlight.nii.gz"
    assert derivative(workdir, subject, f"{STATMAP}.nii.gz").read_bytes() == workflow_map.read_bytes()


def test_volumes_are_the_runs_labelled_by_their_events(volumes_run):
    workdir, dataset, written = volumes_run
    table = read_samples_table(workdir / "results/config/sub-01/face_vs_house/samples.tsv")
    # 3 blocks of 16 s per condition and run, 8 volumes each at TR 2 s; runs numbered 1-3.
    assert table.groupby(["run", "label"]).size().to_dict() == {
        (run, label): 24 for run in (1, 2, 3) for label in ("face", "house")
    }
    sidecar = read_json(derivative(workdir, "01", f"{STATMAP}.json"))
    assert sidecar["Samples"]["mode"] == "volumes"
    assert sidecar["Sources"] == [
        f"bids:fmriprep:fmriprep/sub-01/func/sub-01_task-faces_run-{run}_space-{synthetic_bids.SPACE}"
        "_desc-preproc_bold.nii.gz"
        for run in (1, 2, 3)
    ]
    # Nothing was written inside the dataset (nor its pybids database).
    assert files_under(dataset.bids_dir) == written
    assert (workdir / "results/config/pybids/layout_index.sqlite").is_file()


def test_lss_betas_are_the_trials_in_order(lss_run):
    workdir, dataset = lss_run
    betas = derivative(workdir, "1", f"{ENTITIES}_desc-lss_betaseries")
    table = pd.read_csv(f"{betas}.tsv", sep="\t", dtype={"label": str, "session": str})
    assert nib.load(f"{betas}.nii.gz").shape == (*SHAPE, len(table))
    expected = [
        (events.loc[row, "trial_type"], group, session, run)
        for group, ((_, session, run), events) in enumerate(sorted(dataset.events.items()), start=1)
        for row in events.index
        if events.loc[row, "trial_type"] != synthetic_bids.MISSING
    ]
    assert list(zip(table["label"], table["run"], table["session"], table["bids_run"])) == expected
    # The searchlight decoded those betas, as labelled.
    samples = read_samples_table(workdir / "results/config/sub-1/face_vs_house/samples.tsv")
    assert list(samples["label"]) == list(table["label"])
    assert read_json(derivative(workdir, "1", f"{STATMAP}.json"))["Sources"] == [
        f"bids::sub-1/func/sub-1_{ENTITIES}_desc-lss_betaseries.nii.gz"
    ]


def test_condition_betas_are_one_per_condition_and_run(condition_run):
    workdir, _ = condition_run
    table = pd.read_csv(derivative(workdir, "01", f"{ENTITIES}_desc-condition_betaseries.tsv"), sep="\t")
    assert list(zip(table["label"], table["run"])) == [(c, run) for run in (1, 2, 3) for c in sorted(CATEGORIES)]
    assert derivative(workdir, "01", f"{ENTITIES}_desc-brain_mask.nii.gz").is_file()


def rsa_of_condition_betas(subject):
    """The process mask's seeds (S, 3) and ``measure(models)``: snakelight.rsa's measure of
    ``subject``'s condition betas on those seeds' spheres, normalised by its GLM residuals."""
    manifest = read_json(subject / "dataset.json")
    table = read_samples_table(subject / "categories/samples.tsv")
    X = read_masked_samples(subject / "categories/masked_samples.npy")
    mask_img = nib.load(manifest["mask"])
    seeds = process_seeds(nib.load(subject / "process_mask.nii.gz").get_fdata() > 0)
    spheres = sphere_members(np.asarray(mask_img.dataobj), mask_img.affine, seeds, 5.6)
    settings = RSASettings(method="crossnobis", noise="univariate")
    residuals = read_residuals(manifest["residuals"])
    return seeds, lambda models: rsa_measure(X, table["label"], table["run"], spheres, models, settings, residuals)


def test_rsa_of_condition_betas_finds_each_model_in_its_region(condition_run):
    workdir, dataset = condition_run
    subject = workdir / "results/config/sub-01"
    searched = nib.load(subject / "process_mask.nii.gz").get_fdata() > 0
    for region, name in enumerate(["searchlight", "searchlight_shape"], start=1):
        fit = nib.load(subject / f"categories/{name}.nii.gz").get_fdata()
        inside, elsewhere = (
            fit[searched & (dataset.truth == region)].mean(),
            fit[searched & (dataset.truth == 0)].mean(),
        )
        assert inside > 0.5 and inside > elsewhere + 0.3, (name, inside, elsewhere)
    # The residuals are a derivative the manifest names; the merged maps (two chunks, each
    # reading its spheres' columns of them) equal snakelight.rsa over the whole mask.
    manifest = read_json(subject / "dataset.json")
    assert manifest["residuals"] == str(derivative(workdir, "01", f"{ENTITIES}_desc-residuals_betaseries.npz"))
    seeds, measure = rsa_of_condition_betas(subject)
    expected = measure(RSA_MODELS)
    for model, name in (("animacy", "searchlight"), ("shape", "searchlight_shape")):
        written = nib.load(subject / f"categories/{name}.nii.gz").get_fdata()[tuple(seeds.T)]
        np.testing.assert_allclose(written, expected[model], rtol=0, atol=1e-12)
    statmap = f"{ENTITIES}_contrast-categories_desc-searchlight_stat-animacy_statmap"
    sidecar = read_json(derivative(workdir, "01", f"{statmap}.json"))
    assert (sidecar["RSA"]["noise"], sidecar["ChanceLevel"]) == ("univariate", 0.0)
    assert "'animacy'" in sidecar["Description"]


def test_the_derivatives_are_a_bids_like_dataset(lss_run):
    workdir, dataset = lss_run
    root = workdir / "results/config/snakelight"
    description = json.loads((root / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "snakelight" and description["GeneratedBy"][0]["Version"]
    assert [source["URL"] for source in description["SourceDatasets"]] == [
        dataset.bids_dir.resolve().as_uri(),
        dataset.derivatives.resolve().as_uri(),
    ]
    assert (root / ".bidsignore").read_text().splitlines() == ["*_betaseries.*", "*_statmap.*"]
    assert sorted(str(path) for path in files_under(root) if path.suffix in (".gz", ".tsv", ".json")) == sorted(
        [
            "dataset_description.json",
            f"sub-1/func/sub-1_{ENTITIES}_desc-lss_betaseries.nii.gz",
            f"sub-1/func/sub-1_{ENTITIES}_desc-lss_betaseries.tsv",
            f"sub-1/func/sub-1_{ENTITIES}_desc-brain_mask.nii.gz",
            f"sub-1/func/sub-1_{STATMAP}.nii.gz",
            f"sub-1/func/sub-1_{STATMAP}.json",
        ]
    )


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    return synthetic_bids.write_dataset(
        tmp_path_factory.mktemp("bids_bad") / "ds", design="block", shape=(6, 6, 6), n_runs=2
    )


def remove_events(dataset):
    (dataset.bids_dir / "sub-01/func/sub-01_task-faces_run-2_events.tsv").unlink()


def remove_repetition_time(dataset):
    sidecar = (
        dataset.derivatives / f"sub-01/func/sub-01_task-faces_run-1_space-{synthetic_bids.SPACE}_desc-preproc_bold.json"
    )
    sidecar.write_text(json.dumps({"TaskName": "faces"}))


@pytest.mark.parametrize(
    ("damage", "change", "message"),
    [
        (
            None,
            {"space": "MNI152NLin6Asym"},
            r"no desc-preproc bold for sub-01 task-faces in space MNI152NLin6Asym \(config key dataset.bids.space\); "
            rf"its spaces: {synthetic_bids.SPACE}",
        ),
        (remove_events, {}, r"sub-01_task-faces_run-2_.*_bold.nii.gz: no events file in the raw dataset "),
        (remove_repetition_time, {}, r"desc-preproc_bold.json: RepetitionTime is missing; it must be the repetition"),
        (
            None,
            {"samples": {"label_column": "stim_type"}},
            r"sub-01_task-faces_run-1_events.tsv: no column 'stim_type' \(columns: onset, duration, trial_type\)",
        ),
        (
            None,
            {"runs": [1]},
            r"config key searchlight.cv.method: leave_one_run_out needs two runs or more; sub-01 has one ",
        ),
    ],
    ids=["space", "events", "repetition_time", "label_column", "one_run"],
)
def test_a_bad_input_stops_before_any_searchlight_job(small_dataset, tmp_path, damage, change, message):
    dataset = small_dataset
    if damage is not None:
        copy = tmp_path / "ds"
        shutil.copytree(small_dataset.bids_dir, copy)
        dataset = synthetic_bids.SyntheticBids(
            copy, copy / "derivatives/fmriprep", dataset.events, dataset.region, dataset.label_column
        )
        damage(dataset)
    change = dict(change)
    config = bids_config(dataset, change.pop("samples", None), **change)
    result = run_bids(tmp_path, config, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stdout
    assert re.search(message, errors[0]), errors[0]
    assert not re.search(r"^\s*(local)?rule searchlight_chunk:", result.stdout, re.M)
    assert not list(tmp_path.glob("results/config/**/chunks/*.npz"))


def test_the_report_before_discovery_says_what_to_run(small_dataset, tmp_path):
    """Snakemake alone would write an empty report (rule all's files wait for discovery)
    and say "Report created."."""
    config = write_config(tmp_path, bids_config(small_dataset))
    result = run_snakemake(tmp_path, "--configfile", config, "--report", "report.html", check=False)
    assert result.returncode != 0 and not (tmp_path / "report.html").exists()
    assert (
        "snakelight: analysis 'config' has no results to report (results/config/runs.tsv): "
        f"run `snakemake --cores all --configfile {config}` first, then the report again"
    ) in result.stdout


def test_rsa_null_maps_of_condition_betas_fit_the_relabelled_model(condition_run):
    """Each null map is the animacy fit with the model's conditions relabelled (condition
    i in the group of condition relabelling[i]), crossnobis normalised by the residuals."""
    workdir, _ = condition_run
    subject = workdir / "results/config/sub-01"
    relabellings = read_relabellings(subject / "categories/permutations.tsv", CATEGORIES)
    null = nib.load(subject / "categories/searchlight_null.nii.gz").get_fdata()
    assert null.shape[3] == len(relabellings) == 19
    seeds, measure = rsa_of_condition_betas(subject)
    conditions = sorted(CATEGORIES)
    group_of = {condition: group for group, members in ANIMACY.items() for condition in members}
    for k in (0, 9, 18):  # the first null job's first and last, the second's last
        groups = {}
        for i, condition in enumerate(conditions):
            groups.setdefault(group_of[conditions[relabellings[k, i]]], []).append(condition)
        expected = measure({"animacy": groups})["animacy"]
        np.testing.assert_allclose(null[..., k][tuple(seeds.T)], expected, rtol=0, atol=1e-12)
