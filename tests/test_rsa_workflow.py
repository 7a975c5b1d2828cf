"""RSA through the workflow (searchlight.measure: rsa): config errors, the relabellings
file, and Snakemake runs on generated data with a planted geometry (marker ``workflow``):
the haxby source (rsa_run), the synthetic source with inference and the group stage
(rsa_group), the table source."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from snakelight.data import haxby_design
from snakelight.io import read_json, read_labels, read_masked_samples, read_samples_table
from snakelight.rsa import evaluate_models_searchlight, get_searchlight_RDMs
from snakelight.rsa.job import read_relabellings, write_relabellings
from snakelight.rsa.models import model_from_groups, permuted_models
from snakelight.rsa.synthetic import ANIMACY, SHAPE
from snakelight.searchlight.spheres import process_seeds, sphere_members
from snakelight.workflow.config import ConfigError, validate_config

from .conftest import REPO, SCHEMA, TINY_CONFIG, job_counts, run_snakemake, write_config

CATEGORIES = list(haxby_design.CATEGORIES)
MODELS = {"animacy": ANIMACY, "shape": SHAPE}


def rsa_config(rsa=None, inference=None, group=None, subjects=(2,), n_runs=4):
    """The tiny config over its whole generated volume, the 8 categories, the planted geometry."""
    dataset = TINY_CONFIG["dataset"]
    return {
        **TINY_CONFIG,
        "dataset": {**dataset, "synthetic": {**dataset["synthetic"], "n_runs": n_runs, "geometry": "rsa"}},
        "subjects": list(subjects),
        "contrasts": {"categories": CATEGORIES},
        "process_mask": {},
        "searchlight": {**TINY_CONFIG["searchlight"], "measure": "rsa", "n_chunks": 2},
        "rsa": {"models": MODELS, **(rsa or {})},
        "inference": inference or {"permutations": 0},
        "group": group or {"methods": []},
        "figures": {"cut_coords": [-2], "searchlight_vmin": 0, "searchlight_threshold": 0.1},
    }


# Configuration


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"rsa": {"models": {}}}, "config key rsa.models: searchlight.measure rsa needs at least one model"),
        (
            {"rsa": {"models": {"animacy": {"animate": ["face", "cat"], "inanimate": ["house"]}}}},
            "config key rsa.models.animacy: model 'animacy': groups must cover the conditions",
        ),
        (
            {"rsa": {"models": {"animacy": {"animate": ["face", "dog"], "inanimate": CATEGORIES[1:]}}}},
            "unknown ['dog']",
        ),
        ({"rsa": {"models": {"model": "missing.tsv"}}}, "config key rsa.models.model: file not found: 'missing.tsv'"),
        ({"rsa": {"models": MODELS, "noise": "univariate"}}, "config key rsa.noise: univariate normalises crossnobis"),
        ({"rsa": {"models": MODELS, "evaluation": "cosine"}}, "config key rsa.evaluation"),
        ({"contrasts": {"two": ["face", "house"]}}, "config key contrasts.two: an RDM fit needs 3 or more conditions"),
        ({"inference": {"permutations": 24}, "contrasts": {"c": ["face", "house", "cat", "shoe"]}}, "below 24 (23:"),
        ({"inference": {"output": "size"}}, "config key inference.output: 'size' is not an output of rsa.models"),
    ],
)
def test_bad_rsa_configs_are_refused_when_the_config_is_read(change, expected):
    config = {**rsa_config(), **change}
    if "contrasts" in change and "rsa" not in change:
        conditions = next(iter(change["contrasts"].values()))
        config["rsa"] = {"models": {"one": {"a": conditions[:1], "b": conditions[1:]}}}
    with pytest.raises(ConfigError, match=None) as error:
        validate_config(config, SCHEMA)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_a_model_tsv_naming_the_conditions_is_accepted(tmp_path):
    matrix = np.abs(np.subtract.outer(np.arange(8.0), np.arange(8.0)))
    pd.DataFrame(matrix, index=CATEGORIES, columns=CATEGORIES).to_csv(tmp_path / "order.tsv", sep="\t")
    config = validate_config(rsa_config(rsa={"models": {"order": str(tmp_path / "order.tsv")}}), SCHEMA)
    assert config["rsa"]["evaluation"] == "spearman"
    pd.DataFrame(matrix[:7, :7], index=CATEGORIES[:7], columns=CATEGORIES[:7]).to_csv(tmp_path / "seven.tsv", sep="\t")
    with pytest.raises(ConfigError, match=r"rsa.models.seven: model RDM 'seven' lacks conditions \['scrambledpix'\]"):
        validate_config(rsa_config(rsa={"models": {"seven": str(tmp_path / "seven.tsv")}}), SCHEMA)


def test_relabellings_round_trip_and_depend_on_seed_and_k_alone(tmp_path):
    write_relabellings(tmp_path / "all.tsv", np.repeat(CATEGORIES, 3), seed=4, n_permutations=6)
    write_relabellings(tmp_path / "block.tsv", CATEGORIES, seed=4, n_permutations=2, first=5)
    every = read_relabellings(tmp_path / "all.tsv", CATEGORIES)
    assert every.shape == (6, 8)
    assert np.array_equal(np.sort(every, axis=1), np.tile(np.arange(8), (6, 1)))
    assert np.array_equal(read_relabellings(tmp_path / "block.tsv", CATEGORIES, first=5), every[4:])
    with pytest.raises(Exception, match="not the condition relabellings"):
        read_relabellings(tmp_path / "block.tsv", CATEGORIES, first=1)


def test_exhaustive_relabellings_are_every_order_but_the_identity(tmp_path):
    conditions = ["a", "b", "c", "d"]
    write_relabellings(tmp_path / "all.tsv", conditions, seed=0, n_permutations=23, exhaustive=True)
    write_relabellings(tmp_path / "block.tsv", conditions, seed=0, n_permutations=5, first=11, exhaustive=True)
    every = read_relabellings(tmp_path / "all.tsv", conditions)
    orders = {tuple(order) for order in every}
    assert len(orders) == 23 and (0, 1, 2, 3) not in orders
    assert np.array_equal(read_relabellings(tmp_path / "block.tsv", conditions, first=11), every[10:15])
    with pytest.raises(Exception, match="4 conditions have 24 orders"):
        write_relabellings(tmp_path / "more.tsv", conditions, seed=0, n_permutations=24)
    config = rsa_config(inference={"permutations": 23})
    config["contrasts"] = {"c": ["face", "house", "cat", "shoe"]}
    config["rsa"] = {"models": {"one": {"a": ["face", "cat"], "b": ["house", "shoe"]}}}
    assert validate_config(config, SCHEMA)["inference"]["permutations"] == 23


# Snakemake runs


def region_means(fit_map, truth):
    """The map's mean in region 1, region 2 and outside both."""
    return [fit_map[truth == 1].mean(), fit_map[truth == 2].mean(), fit_map[truth == 0].mean()]


def write_haxby(root):
    """Subject 2 with the planted geometry, laid out as nilearn's fetch_haxby leaves the
    dataset (in ``root``/nilearn_data/haxby2001, returned): the haxby source reads it
    offline."""
    from snakelight.data import synthetic

    haxby = root / "nilearn_data" / "haxby2001"
    shape, voxel_size = TINY_CONFIG["dataset"]["synthetic"]["shape"], (3.5, 3.75, 3.75)
    synthetic.write_mask(haxby, shape, voxel_size)
    synthetic.write_subject(haxby, 2, n_runs=4, effect_size=1.5, seed=0, geometry="rsa")
    return haxby


@pytest.fixture(scope="module")
def rsa_run(tmp_path_factory):
    """The haxby source (the synthetic source runs in rsa_group), two chunks, the RDMs kept."""
    workdir = tmp_path_factory.mktemp("rsa")
    write_haxby(workdir)
    config = rsa_config(rsa={"rdms": True})
    config["dataset"] = {"source": "haxby", "data_dir": str(workdir / "nilearn_data")}
    result = run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    counts = job_counts(result.stdout)
    assert (counts["searchlight_chunk"], counts["merge"]) == (2, 1)
    return workdir


def run_truth(rsa_run):
    return nib.load(rsa_run / "nilearn_data/haxby2001/subj2/truth.nii.gz").get_fdata()


@pytest.mark.workflow
def test_workflow_finds_each_model_in_its_region(rsa_run):
    out = rsa_run / "results/config/sub-02/categories"
    truth = run_truth(rsa_run)
    animacy = nib.load(out / "searchlight.nii.gz").get_fdata()
    shape = nib.load(out / "searchlight_shape.nii.gz").get_fdata()
    in_animacy, in_shape, outside = region_means(animacy, truth)
    assert in_animacy > 0.3 and in_animacy > in_shape + 0.2 and in_animacy > outside + 0.2
    in_animacy, in_shape, outside = region_means(shape, truth)
    assert in_shape > 0.3 and in_shape > in_animacy + 0.2 and in_shape > outside + 0.2
    assert abs(outside) < 0.1
    sidecar = read_json(out / "searchlight.json")
    assert sidecar["conditions"] == sorted(CATEGORIES)
    assert sidecar["config"]["rsa"]["models"] == MODELS


@pytest.mark.workflow
def test_workflow_maps_equal_the_python_entry_on_the_same_spheres(rsa_run):
    """The merged fit maps and RDMs equal snakelight.rsa's rsatoolbox-like functions (which
    tests/test_rsa.py compares with rsatoolbox) on the spheres the workflow builds."""
    subject = rsa_run / "results/config/sub-02"
    table = read_samples_table(subject / "categories/samples.tsv")
    X = read_masked_samples(subject / "categories/masked_samples.npy")
    mask_img = nib.load(read_json(subject / "dataset.json")["mask"])
    process_mask = np.asarray(nib.load(subject / "process_mask.nii.gz").dataobj) > 0
    seeds = process_seeds(process_mask)
    spheres = sphere_members(np.asarray(mask_img.dataobj), mask_img.affine, seeds, 5.6)
    rdms = get_searchlight_RDMs(X, np.arange(len(spheres)), spheres, table["label"].to_numpy())
    conditions = rdms.conditions
    models = [model_from_groups(MODELS[name], conditions, name) for name in ("animacy", "shape")]
    fits = evaluate_models_searchlight(rdms, models, method="spearman")
    for k, name in enumerate(["searchlight", "searchlight_shape"]):
        written = nib.load(subject / f"categories/{name}.nii.gz").get_fdata()[tuple(seeds.T)]
        np.testing.assert_allclose(written, fits[:, k], rtol=0, atol=1e-12)
    written_rdms = nib.load(subject / "categories/searchlight_rdms.nii.gz").get_fdata()[tuple(seeds.T)]
    assert written_rdms.shape == (len(seeds), 28)
    np.testing.assert_allclose(written_rdms, rdms.dissimilarities, rtol=0, atol=1e-12)


@pytest.mark.workflow
def test_report_shows_the_peak_spheres_rdm_beside_the_models(rsa_run):
    subject = rsa_run / "results/config/sub-02"
    truth = run_truth(rsa_run)
    animacy = nib.load(subject / "categories/searchlight.nii.gz").get_fdata()
    peak = np.unravel_index(np.argmax(animacy), animacy.shape)
    # Its sphere reaches into the animacy region.
    mm = np.abs(np.diag(nib.load(subject / "process_mask.nii.gz").affine)[:3])
    assert np.min(np.linalg.norm((np.argwhere(truth == 1) - peak) * mm, axis=1)) <= 5.6
    written = pd.read_csv(subject / "categories/rsa_peak.tsv", sep="\t", index_col=0)
    rdm = sphere_rdm(subject, np.array(peak))
    assert list(written.columns) == list(rdm.conditions) == sorted(CATEGORIES)
    rows, cols = np.triu_indices(8, 1)
    np.testing.assert_allclose(written.to_numpy()[rows, cols], rdm.dissimilarities[0], rtol=0, atol=1e-12)
    assert (subject / "categories/rsa_rdms.png").stat().st_size > 0


def test_the_map_title_names_the_model_instead_of_chance():
    from snakelight.report.figures import map_title

    scores = np.array([-0.1, 0.6])
    assert map_title(scores, vmin=0, chance=0.0) == "Searchlight, chance 0.00"
    name = "RSA, model animacy, spearman fit"
    assert map_title(scores, vmin=0, chance=0.0, name=name) == name
    low = np.array([-0.3, -0.1])
    assert map_title(low, vmin=-1, chance=0.0, name=name) == f"{name}: no sphere scores above chance (highest -0.10)"


def test_config_rsa_yaml_is_valid_and_names_the_planted_models():
    config = validate_config(yaml.safe_load((REPO / "config/rsa.yaml").read_text()), SCHEMA)
    assert config["rsa"]["models"] == MODELS
    assert config["dataset"]["synthetic"]["geometry"] == "rsa"


def sphere_rdm(subject, seed):
    """The correlation RDM of the sphere at voxel ``seed`` of a subject's categories."""
    table = read_samples_table(subject / "categories/samples.tsv")
    X = read_masked_samples(subject / "categories/masked_samples.npy")
    mask_img = nib.load(read_json(subject / "dataset.json")["mask"])
    sphere = sphere_members(np.asarray(mask_img.dataobj), mask_img.affine, np.array([seed]), 5.6)
    return get_searchlight_RDMs(X, np.arange(1), sphere, table["label"].to_numpy())


@pytest.fixture(scope="module")
def rsa_group(tmp_path_factory):
    """Five subjects of the synthetic source, each's randomization test (19 relabellings,
    one chunk), and the group's sign-flip and prevalence tests of the animacy fit maps:
    only the files tested (no figures: rsa_run draws them)."""
    workdir = tmp_path_factory.mktemp("rsa_group")
    config = rsa_config(
        inference={"permutations": 19, "permutations_per_job": 19, "alpha": 0.05},
        group={"methods": ["signflip", "prevalence"], "prevalence": {"permutations": 2000}},
        subjects=range(1, 6),
    )
    config["searchlight"]["n_chunks"] = 1
    targets = [
        "results/config/sub-01/categories/searchlight_logp_fwe.nii.gz",
        "results/config/group/categories/signflip/logp_max_t.nii.gz",
        "results/config/group/categories/prevalence/logp_prevalence_fwe.nii.gz",
    ]
    # The targets before --configfile, which takes several values.
    result = run_snakemake(
        workdir, *targets, "--cores", "2", "--configfile", write_config(workdir, config), timeout=1500
    )
    counts = job_counts(result.stdout)
    assert (counts["null_chunk"], counts["group_signflip"], counts["group_prevalence"]) == (5, 1, 1)
    return workdir / "results/config"


@pytest.mark.workflow
def test_randomization_test_relabels_the_models_conditions(rsa_group):
    subject = rsa_group / "sub-01/categories"
    relabellings = read_relabellings(subject / "permutations.tsv", CATEGORIES)
    assert relabellings.shape == (19, 8)
    truth = nib.load(rsa_group / "synthetic/haxby2001/subj1/truth.nii.gz").get_fdata()
    observed = nib.load(subject / "searchlight.nii.gz").get_fdata()
    null = nib.load(subject / "searchlight_null.nii.gz").get_fdata()
    assert null.shape[3] == 19
    # The null fits of a sphere are the Spearman fits of its RDM with the animacy model's
    # conditions relabelled (snakelight.rsa.models.permuted_models, tested in test_rsa.py).
    seed = np.argwhere(truth == 1)[0]
    rdm = sphere_rdm(rsa_group / "sub-01", seed)
    model = model_from_groups(ANIMACY, rdm.conditions)
    expected = evaluate_models_searchlight(rdm, list(permuted_models(model, relabellings)), method="spearman")
    np.testing.assert_allclose(null[tuple(seed)], expected[0], rtol=0, atol=1e-12)
    seed = tuple(seed)
    # No relabelling fits the planted region's RDMs better than the true model (one that
    # swaps conditions within a group is the same model: 1 in 28 of them for animacy).
    assert observed[seed] >= null[seed].max()
    # p_FWE <= 0.1, at most one of the 19 null maxima as high, inside the region; none far off.
    significant = nib.load(subject / "searchlight_logp_fwe.nii.gz").get_fdata() >= -np.log10(0.1) - 1e-9
    assert significant[truth == 1].mean() > 0.5 and significant[truth == 0].mean() < 0.1


@pytest.mark.workflow
def test_group_signflip_finds_the_animacy_region(rsa_group):
    truth = nib.load(rsa_group / "synthetic/haxby2001/subj1/truth.nii.gz").get_fdata()
    logp = nib.load(rsa_group / "group/categories/signflip/logp_max_t.nii.gz").get_fdata()
    significant = logp > -np.log10(0.05)
    assert significant[truth == 1].mean() > 0.5 and significant[truth == 0].mean() < 0.05
    assert (rsa_group / "group/categories/prevalence/logp_prevalence_fwe.nii.gz").exists()


@pytest.mark.workflow
def test_table_source_finds_the_models(tmp_path):
    """The table source reading rsa_run's subject (its BOLD image, labels and mask) from
    a subjects table."""
    haxby = write_haxby(tmp_path)
    config = rsa_config()
    read_labels(haxby / "subj2/labels.txt").to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    files = {"bold": haxby / "subj2/bold.nii.gz", "labels": tmp_path / "labels.tsv", "mask": haxby / "mask.nii.gz"}
    row = {"subject": 2, **{column: str(path) for column, path in files.items()}}
    pd.DataFrame([row]).to_csv(tmp_path / "subjects.tsv", sep="\t", index=False)
    config["dataset"] = {"source": "table", "subjects_table": str(tmp_path / "subjects.tsv")}
    del config["subjects"]
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    truth = nib.load(haxby / "subj2/truth.nii.gz").get_fdata()
    out = tmp_path / "results/config/sub-02/categories"
    animacy, shape_fit = (nib.load(out / f"{name}.nii.gz").get_fdata() for name in ("searchlight", "searchlight_shape"))
    assert region_means(animacy, truth)[0] > region_means(animacy, truth)[2] + 0.2
    assert region_means(shape_fit, truth)[1] > region_means(shape_fit, truth)[2] + 0.2
