"""One study, end to end, as a lab runs it: from a BIDS + fMRIPrep dataset (and from a
subjects table) through subject maps, permutation null maps, FWE maps, every group
method and the report, in one command each; and an RSA study from BIDS through the
randomization test and the group's tests of its model fits. Every stage reads the subjects from one
place (common.smk: analysis_subjects), so each discovered subject gets every output."""

import json
import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from snakelight.data import haxby_design, synthetic_bids
from snakelight.rsa.synthetic import ANIMACY
from snakelight.rsa.synthetic import SHAPE as SHAPE_MODEL

from .conftest import TINY_CONFIG, check_signflip_t, run_snakemake
from .test_own_data import table_config, write_bids_like

pytestmark = pytest.mark.workflow

# ds000105's layout: unpadded sub-1 ... sub-6; sub-5 scanned in two sessions, sub-6 with
# a run more than the others.
SUBJECTS = ["1", "2", "3", "4", "5", "6"]
SHAPE = (8, 8, 8)
ALPHA = 0.05
# Six subjects: 2^6 sign patterns and a prevalence bound of 0.5^6, both below alpha.
GROUP = {
    "methods": ["stelzer", "prevalence", "signflip"],
    "alpha": ALPHA,
    "stelzer": {"bootstraps": 1000, "p_voxel": 0.01},
    # gamma0 0.5, 6 subjects: the prevalence p reaches 0.05 once the global p is below
    # about 1e-4, which needs over 10,000 second-level permutations.
    "prevalence": {"permutations": 20000},
    "signflip": {"n_perm": 100, "threshold": 0.01},
}
INFERENCE = {"permutations": 19, "permutations_per_job": 19, "cluster_threshold": 0.05}
# Each method's FWE-corrected -log10 p map.
FWE_MAP = {"stelzer": "logp_cluster_fwe", "prevalence": "logp_prevalence_fwe", "signflip": "logp_max_t"}
SUBJECT_MAPS = [
    "searchlight.nii.gz",
    "searchlight_null.nii.gz",
    "searchlight_logp_fwe.nii.gz",
    "searchlight_tfce_logp_fwe.nii.gz",
    "searchlight_fwe.png",
]


def write_study(root, design):
    """The generated ds000105-style study; returns its SyntheticBids (the planted
    region is the same cube in every subject)."""
    options = {"design": design, "shape": SHAPE, "derivatives": None}
    if design == "event":
        options["trials_per_condition"] = 5
    dataset = synthetic_bids.write_dataset(root, subjects=SUBJECTS[:4], n_runs=3, seed=1, **options)
    synthetic_bids.write_dataset(root, subjects=["5"], sessions=("a", "b"), n_runs=2, seed=2, **options)
    synthetic_bids.write_dataset(root, subjects=["6"], n_runs=4, seed=3, **options)
    return dataset


def tree_state(root):
    """Every path under ``root`` with its size and modification time."""
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) for path in root.rglob("*")}


def run_study(workdir, name, config):
    """The README's one command: every job, then the report."""
    configfile = workdir / f"{name}.yaml"
    configfile.write_text(json.dumps(config))
    report = workdir / f"results/{name}/report.html"
    result = run_snakemake(
        workdir, "--cores", "2", "--configfile", str(configfile), "--report", str(report), "--report-after-run"
    )
    return result, report


def bids_study(workdir, name, design, samples, permute="blocks"):
    dataset = write_study(workdir / "ds000105", design)
    before = tree_state(dataset.bids_dir)
    config = {
        "dataset": {"source": "bids", "bids": {"bids_dir": "ds000105"}, "events": {"hemodynamic_shift": 4}},
        "samples": samples,
        "contrasts": {"face_vs_house": ["face", "house"]},
        "searchlight": {"cv": {"method": "leave_one_run_out"}, "n_chunks": 1},
        "inference": {**INFERENCE, "permute": permute},
        "group": GROUP,
        "figures": {"cut_coords": [9]},
    }
    result, report = run_study(workdir, name, config)
    return {"workdir": workdir, "name": name, "dataset": dataset, "before": before, "stdout": result.stdout}, report


@pytest.fixture(scope="module")
def volumes_study(tmp_path_factory):
    """Volumes labelled by a block design's events."""
    return bids_study(tmp_path_factory.mktemp("study_volumes"), "volumes", "block", {"mode": "volumes"})


@pytest.fixture(scope="module")
def lss_study(tmp_path_factory):
    """LSS betas of an event-related design: single trials are exchangeable, and move
    between conditions within their run."""
    samples = {"mode": "glm", "glm": {"estimate": "lss"}}
    return bids_study(tmp_path_factory.mktemp("study_lss"), "lss", "event", samples, permute="samples")


def jobs_run(stdout, rule):
    return len(re.findall(rf"^(local)?rule {rule}:$", stdout, re.M))


def region_mask(workdir, name, dataset, subject="1"):
    """The planted region, within the searched voxels."""
    searched = nib.load(workdir / f"results/{name}/sub-{subject}/process_mask.nii.gz").get_fdata() > 0
    return dataset.region & searched, searched


def check_group_finds(group_dir, region, searched):
    """Each method's FWE map is significant at alpha in the planted region, and the
    region's voxels are the most significant ones."""
    for method, name in FWE_MAP.items():
        logp = nib.load(group_dir / method / f"{name}.nii.gz").get_fdata()
        assert logp[region].max() > -np.log10(ALPHA), method
        assert logp[region].mean() > logp[searched & ~region].mean(), method
        assert (group_dir / method / "group.png").is_file()
        assert len(pd.read_csv(group_dir / method / "clusters.tsv", sep="\t")) >= 1, method


@pytest.mark.parametrize("study", ["volumes_study", "lss_study"])
def test_a_bids_study_runs_end_to_end_in_one_command(request, study):
    study, report = request.getfixturevalue(study)
    workdir, name, dataset = study["workdir"], study["name"], study["dataset"]
    results = workdir / f"results/{name}"
    # Every discovered subject has its map, its null maps and its FWE maps.
    assert pd.read_csv(results / "runs.tsv", sep="\t", dtype=str)["subject"].unique().tolist() == SUBJECTS
    for subject in SUBJECTS:
        for output in SUBJECT_MAPS:
            assert (results / f"sub-{subject}/face_vs_house/{output}").is_file(), (subject, output)
    null = nib.load(results / "sub-1/face_vs_house/searchlight_null.nii.gz")
    assert null.shape == (*SHAPE, INFERENCE["permutations"])
    # The group stage combined the six of them (jobs as Snakemake started them: the
    # checkpoint added the subjects' jobs after its first job table).
    assert jobs_run(study["stdout"], "merge_null") == len(SUBJECTS)
    assert all(jobs_run(study["stdout"], f"group_{method}") == 1 for method in GROUP["methods"])
    for method in GROUP["methods"]:
        sidecar = json.loads(next((results / "group/face_vs_house" / method).glob("*.json")).read_text())
        assert sidecar["config"]["subjects"] == SUBJECTS
    check_group_finds(results / "group/face_vs_house", *region_mask(workdir, name, dataset))
    # The report lists every subject and every method.
    html = report.read_text()
    for subject in SUBJECTS:
        assert f"sub-{subject}" in html
    for method in GROUP["methods"]:
        assert f"group_{method}" in html
    # Nothing was written into the BIDS tree.
    assert tree_state(dataset.bids_dir) == study["before"]


def test_a_table_study_runs_end_to_end_in_one_command(tmp_path):
    """The same path from a subjects table: six generated subjects, six runs each (a
    face and a house block a run: 2^6 block relabellings)."""
    table, _ = write_bids_like(tmp_path / "study", subjects=range(1, 7), n_runs=6)
    before = tree_state(table.parent)
    config = {
        **table_config(table),
        "searchlight": {**TINY_CONFIG["searchlight"], "n_chunks": 1},
        "inference": INFERENCE,
        "group": GROUP,
    }
    result, report = run_study(tmp_path, "table", config)
    results = tmp_path / "results/table"
    subjects = [f"{s:02d}" for s in range(1, 7)]
    for subject in subjects:
        for output in SUBJECT_MAPS:
            assert (results / f"sub-{subject}/face_vs_house/{output}").is_file(), (subject, output)
    truth = nib.load(tmp_path / "study/generated/subj1/truth.nii.gz").get_fdata() > 0
    searched = nib.load(results / "sub-01/process_mask.nii.gz").get_fdata() > 0
    check_group_finds(results / "group/face_vs_house", truth & searched, searched)
    html = report.read_text()
    assert all(f"sub-{subject}" in html for subject in subjects)
    assert all(f"group_{method}" in html for method in GROUP["methods"])
    assert tree_state(table.parent) == before


CATEGORIES = list(haxby_design.CATEGORIES)


def test_a_bids_rsa_study_runs_end_to_end_in_one_command(tmp_path):
    """Five subjects (unpadded labels) of the 8 categories with the planted geometry:
    condition betas, crossnobis normalised by the GLMs' residuals, each subject's
    randomization test, the group's sign-flip and prevalence tests of the animacy fits,
    and the report, in one command."""
    subjects = SUBJECTS[:5]
    dataset = synthetic_bids.write_dataset(
        tmp_path / "ds", subjects=subjects, geometry="rsa", trials_per_condition=2, n_runs=3, shape=(9, 9, 9), seed=4
    )
    before = tree_state(dataset.bids_dir)
    config = {
        "dataset": {"source": "bids", "bids": {"bids_dir": "ds"}},
        "samples": {"mode": "glm", "glm": {"estimate": "condition"}},
        "contrasts": {"categories": CATEGORIES},
        "searchlight": {"measure": "rsa", "cv": {"method": "leave_one_run_out"}, "n_chunks": 1},
        "rsa": {"models": {"animacy": ANIMACY, "shape": SHAPE_MODEL}, "distance": "crossnobis", "noise": "univariate"},
        "inference": {"permutations": 19, "permutations_per_job": 19},
        "group": {
            "methods": ["signflip", "prevalence"],
            "alpha": ALPHA,
            "signflip": {"n_perm": 100, "threshold": 0.01},
            "prevalence": {"permutations": 2000},
        },
        "figures": {"cut_coords": [9]},
    }
    result, report = run_study(tmp_path, "rsa", config)
    results = tmp_path / "results/rsa"
    for subject in subjects:
        for output in ("searchlight.nii.gz", "searchlight_null.nii.gz", "searchlight_logp_fwe.nii.gz"):
            assert (results / f"sub-{subject}/categories/{output}").is_file(), (subject, output)
        residuals = results / f"snakelight/sub-{subject}/func"
        assert list(residuals.glob("*_desc-residuals_betaseries.npz")), subject
    assert jobs_run(result.stdout, "merge_null") == len(subjects)
    group = results / "group/categories"
    for method in ("signflip", "prevalence"):
        assert jobs_run(result.stdout, f"group_{method}") == 1
        sidecar = json.loads(next((group / method).glob("*.json")).read_text())
        assert sidecar["config"]["subjects"] == subjects
    # The animacy model's cube: the group's sign-flip finds it, and its voxels are the
    # most significant.
    searched = nib.load(results / "sub-1/process_mask.nii.gz").get_fdata() > 0
    animacy = (dataset.truth == 1) & searched
    logp = nib.load(group / "signflip/logp_max_t.nii.gz").get_fdata()
    assert logp[animacy].max() > -np.log10(ALPHA)
    assert logp[animacy].mean() > logp[searched & (dataset.truth == 0)].mean()
    assert (group / "prevalence/logp_prevalence_fwe.nii.gz").is_file()
    html = report.read_text()
    assert all(f"sub-{subject}" in html for subject in subjects)
    assert tree_state(dataset.bids_dir) == before


def test_a_bids_cross_classification_runs_through_every_group_method(tmp_path):
    """Five subjects (unpadded labels) of the 8 categories, LSS trial betas: trained on
    face/house and tested on cat/chair mapped to them, each subject's null maps, then
    Stelzer, prevalence and sign-flip in one command. Every method reads the five
    subjects' cross-classification maps; the sign-flip's t map is their one-sample t
    against chance."""
    subjects = SUBJECTS[:5]
    synthetic_bids.write_dataset(
        tmp_path / "ds", subjects=subjects, geometry="rsa", trials_per_condition=2, n_runs=3, shape=(9, 9, 9), seed=4
    )
    config = {
        "dataset": {"source": "bids", "bids": {"bids_dir": "ds"}},
        "samples": {"mode": "glm", "glm": {"estimate": "lss"}},
        "contrasts": {"x": ["face", "house", "cat", "chair"]},
        "cross_classification": {"x": {"test": {"cat": "face", "chair": "house"}}},
        "searchlight": {"estimator": "gnb", "n_chunks": 1},
        "inference": {**INFERENCE, "permute": "samples"},
        "group": {**GROUP, "prevalence": {"permutations": 2000}},
        "figures": {"cut_coords": [9]},
    }
    result, _ = run_study(tmp_path, "cross", config)
    results = tmp_path / "results/cross"
    for subject in subjects:
        for output in SUBJECT_MAPS:
            assert (results / f"sub-{subject}/x/{output}").is_file(), (subject, output)
    assert jobs_run(result.stdout, "merge_null") == len(subjects)
    group = results / "group/x"
    for method in GROUP["methods"]:
        assert jobs_run(result.stdout, f"group_{method}") == 1
        sidecar = json.loads(next((group / method).glob("*.json")).read_text())
        assert sidecar["config"]["subjects"] == subjects, method
        assert (group / method / "group.png").is_file()
    searched = nib.load(results / "sub-1/process_mask.nii.gz").get_fdata() > 0
    maps = [results / f"sub-{s}/x/searchlight.nii.gz" for s in subjects]
    assert check_signflip_t(group, maps, searched, 0.5) > 0
