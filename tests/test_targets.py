"""Continuous targets in the workflow: a contrast decodes a numeric column of the table
source's labels tables with a regressor; its maps equal nilearn's SearchLight with that
regressor, a planted parametric effect is found, and permutation inference permutes the
values within runs, blocks kept."""

import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.decoding import SearchLight
from scipy.ndimage import binary_dilation
from sklearn.metrics import make_scorer
from sklearn.model_selection import KFold, LeaveOneGroupOut

from snakelight.data import synthetic, synthetic_bids
from snakelight.data.table import volume_events, volume_labels, volume_values
from snakelight.inference.permutations import read_permutations
from snakelight.io import read_json, read_labels, read_samples_table
from snakelight.searchlight.engines.exact import pearson_r
from snakelight.searchlight.outputs import map_file
from snakelight.workflow.config import ConfigError, validate_config

from .conftest import SCHEMA, TINY, TINY_CONFIG, run_snakemake, write_config

SCORERS = ["r2", "pearson_r"]


def write_parametric_study(root, seed=0):
    """One generated subject without category effect and with a rating effect
    (synthetic.write_subject's rating_effect: each block, rest periods included, of a run
    gets its own value 1, 2, ..., planted in the face region as the centred rating x 1.5
    noise standard deviations), as the table source's study: per run a 4D image and a
    labels table with the ``rating`` column. Returns the subjects table's path and the
    face region (a boolean volume)."""
    haxby = root / "generated"
    synthetic.write_mask(haxby, TINY["shape"], TINY["voxel_size"])
    synthetic.write_subject(haxby, 1, n_runs=TINY["n_runs"], effect_size=0.0, seed=seed, rating_effect=1.5)
    labels = read_labels(haxby / "subj1" / "labels.txt")
    bold = nib.load(haxby / "subj1" / "bold.nii.gz")
    region = np.asarray(synthetic.truth_map(nib.load(haxby / "mask.nii.gz")).dataobj) == 1
    rows = []
    for run in sorted(labels["run"].unique()):
        volumes = np.flatnonzero(labels["run"] == run)
        name = root / f"run-{run}"
        nib.Nifti1Image(np.asarray(bold.dataobj)[..., volumes], bold.affine, bold.header).to_filename(
            f"{name}_bold.nii.gz"
        )
        labels.iloc[volumes][["label", "rating"]].to_csv(f"{name}_labels.tsv", sep="\t", index=False)
        rows.append(
            {"subject": 1, "run": run, "bold": f"{name}_bold.nii.gz", "labels": f"{name}_labels.tsv", "mask": ""}
        )
    table = root / "subjects.tsv"
    pd.DataFrame(rows).assign(mask=str(haxby / "mask.nii.gz")).to_csv(table, sep="\t", index=False)
    return table, region


def regression_config(table, **inference):
    config = {key: value for key, value in TINY_CONFIG.items() if key != "subjects"}
    return {
        **config,
        "dataset": {"source": "table", "subjects_table": str(table)},
        "contrasts": {"rating": ["face", "house"]},
        "continuous_targets": {"rating": "rating"},
        "searchlight": {**TINY_CONFIG["searchlight"], "estimator": "ridge", "scoring": SCORERS},
        "inference": inference,
    }


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("targets")
    table, region = write_parametric_study(workdir / "study")
    config = regression_config(
        table, permutations=10, permutations_per_job=5, alpha=0.1, cluster_threshold=0.1, output="pearson_r"
    )
    run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    return workdir, region


def nilearn_map(workdir, targets, scoring):
    out = workdir / "results/config/sub-01/rating"
    searchlight = SearchLight(
        read_json(workdir / "results/config/sub-01/dataset.json")["mask"],
        process_mask_img=nib.load(workdir / "results/config/sub-01/process_mask.nii.gz"),
        radius=5.6,
        estimator="ridge",
        cv=KFold(4),
        scoring=make_scorer(pearson_r) if scoring == "pearson_r" else scoring,
    )
    return searchlight.fit(str(out / "samples.nii.gz"), targets).scores_


@pytest.mark.workflow
def test_the_regression_searchlight_equals_nilearns_and_finds_the_planted_effect(regression):
    workdir, region = regression
    out = workdir / "results/config/sub-01/rating"
    table = read_samples_table(out / "samples.tsv")
    assert set(table["label"]) == {"face", "house"} and table["rating"].min() >= 1
    process = np.asarray(nib.load(workdir / "results/config/sub-01/process_mask.nii.gz").dataobj) != 0
    for name in SCORERS:
        scores = nib.load(out / map_file(name, SCORERS)).get_fdata()
        assert np.array_equal(scores, nilearn_map(workdir, table["rating"].to_numpy(float), name)), name
    r = nib.load(out / map_file("pearson_r", SCORERS)).get_fdata()
    assert r[process & region].max() > 0.5 and np.median(r[process & ~region]) < 0.2
    assert read_json(out / "searchlight.json")["target"] == "rating"


@pytest.mark.workflow
def test_inference_permutes_the_values_within_runs_blocks_kept(regression):
    workdir, _ = regression
    out = workdir / "results/config/sub-01/rating"
    table = read_samples_table(out / "samples.tsv")
    values = table["rating"].to_numpy(float)
    permuted = read_permutations(out / "permutations.tsv", values, table["run"]).astype(float)
    assert permuted.shape == (len(table), 10)
    # A block (one label's consecutive volumes) keeps one value; the values move.
    block = np.cumsum(np.r_[True, np.diff(table["volume"]) != 1])
    for column in permuted.T:
        assert all(np.unique(column[block == b]).size == 1 for b in np.unique(block))
    assert np.all(np.any(permuted != values[:, None], axis=0))
    null = nib.load(out / "searchlight_null.nii.gz").get_fdata()
    assert np.array_equal(null[..., 0], nilearn_map(workdir, permuted[:, 0], "pearson_r"))
    assert (out / "searchlight_logp_fwe.nii.gz").is_file()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"searchlight": {"estimator": "svc", "scoring": "r2"}}, "searchlight.estimator: 'svc' classifies"),
        ({"searchlight": {"estimator": "ridge", "scoring": "accuracy"}}, "searchlight.scoring: 'accuracy' scores"),
        ({"continuous_targets": {"rating": "age"}}, "continuous_targets.rating: .*labels.tsv has no column 'age'"),
        ({"continuous_targets": {"rating": "label"}}, "continuous_targets.rating: .*column 'label' is not numeric"),
        ({"continuous_targets": {"other": "rating"}}, "continuous_targets.other: no contrast 'other'"),
        ({"searchlight": {"estimator": "ridge", "scoring": "r2", "confusion": True}}, "searchlight.confusion"),
    ],
)
def test_mismatches_are_refused_when_the_config_is_read(tmp_path, change, expected):
    table, _ = write_labels_only(tmp_path)
    config = regression_config(table)
    config.update({key: {**config[key], **value} for key, value in change.items()})
    if "continuous_targets" in change:
        config["continuous_targets"] = change["continuous_targets"]
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert re.match(f"config key {expected}", str(error.value)) and "\n" not in str(error.value)


def test_a_classification_contrast_refuses_a_regressor(tmp_path):
    table, _ = write_labels_only(tmp_path)
    config = {**regression_config(table), "continuous_targets": {}}
    with pytest.raises(ConfigError, match="config key searchlight.estimator: 'ridge' is a regressor"):
        validate_config(config, SCHEMA)


def write_labels_only(root):
    """A subjects table of one run whose labels table has a numeric rating column (no image
    is read when the config is checked)."""
    root.mkdir(exist_ok=True)
    pd.DataFrame({"label": ["face", "house"] * 4, "rating": np.arange(8.0)}).to_csv(
        root / "labels.tsv", sep="\t", index=False
    )
    (root / "bold.nii.gz").write_bytes(b"")
    table = root / "subjects.tsv"
    pd.DataFrame(
        [{"subject": 1, "run": 0, "bold": str(root / "bold.nii.gz"), "labels": str(root / "labels.tsv"), "mask": ""}]
    ).to_csv(table, sep="\t", index=False)
    return table, None


# The bids source: each trial's rating (an events column) decoded from its LSS beta.
BIDS_SHAPE = (8, 8, 8)


def bids_regression_config(dataset, samples=None, **inference):
    return {
        "dataset": {"source": "bids", "bids": {"bids_dir": str(dataset.bids_dir)}},
        "samples": samples or {"mode": "glm", "glm": {"estimate": "lss"}},
        "contrasts": {"rating": ["face", "house"]},
        "continuous_targets": {"rating": synthetic_bids.RATING_COLUMN},
        "searchlight": {"cv": {"method": "leave_one_run_out"}, "estimator": "ridge", "scoring": SCORERS},
        "figures": {"cut_coords": [9]},
        "inference": inference,
    }


def write_rated_dataset(root, **options):
    """Three runs of 5 trials per condition, each trial rated, the rating planted."""
    options = {"shape": BIDS_SHAPE, "n_runs": 3, "trials_per_condition": 5, **options}
    return synthetic_bids.write_dataset(root, parametric_effect=2.0, **options)


@pytest.fixture(scope="module")
def bids_regression(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bids_targets")
    dataset = write_rated_dataset(workdir / "ds")
    config = bids_regression_config(
        dataset, permutations=4, permutations_per_job=4, permute="samples", alpha=0.2, cluster_threshold=0.2
    )
    run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    return workdir, dataset


@pytest.mark.workflow
def test_bids_events_ratings_are_decoded_from_the_trials_betas(bids_regression):
    workdir, dataset = bids_regression
    out = workdir / "results/config/sub-01/rating"
    table = read_samples_table(out / "samples.tsv")
    # Each beta carries the rating of its events row.
    events = [dataset.events[key] for key in sorted(dataset.events)]
    expected = [
        int(run[synthetic_bids.RATING_COLUMN].iloc[int(row) - 1])
        for run, (_, group) in zip(events, table.groupby("run"))
        for row in group["event_rows"]
    ]
    assert table["rating"].tolist() == expected
    mask = read_json(workdir / "results/config/sub-01/dataset.json")["mask"]
    process_img = nib.load(workdir / "results/config/sub-01/process_mask.nii.gz")
    process = np.asarray(process_img.dataobj) != 0
    r = nib.load(out / map_file("pearson_r", SCORERS)).get_fdata()
    searchlight = SearchLight(
        mask,
        process_mask_img=process_img,
        radius=5.6,
        estimator="ridge",
        cv=LeaveOneGroupOut(),
        scoring=make_scorer(pearson_r),
    )
    searchlight.fit(str(out / "samples.nii.gz"), table["rating"].to_numpy(float), groups=table["run"])
    assert np.array_equal(r, searchlight.scores_)
    # The planted parametric cube is found; spheres that do not reach it find nothing.
    reached = binary_dilation(dataset.parametric_region, iterations=2)
    planted, far = r[process & dataset.parametric_region].mean(), r[process & ~reached].mean()
    assert planted > 0.5 and planted > far + 0.4  # measured: 0.63 and 0.11
    permuted = read_permutations(out / "permutations.tsv", table["rating"].to_numpy(float), table["run"])
    assert permuted.shape == (len(table), 4)
    for run in table["run"].unique():  # the values move within runs
        in_run = (table["run"] == run).to_numpy()
        assert all(sorted(column[in_run]) == sorted(table["rating"][in_run]) for column in permuted.T.astype(float))
    assert nib.load(out / "searchlight_null.nii.gz").shape[3] == 4
    assert (out / "searchlight_logp_fwe.nii.gz").is_file()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"searchlight": {"scoring": "accuracy"}}, "searchlight.scoring: 'accuracy' scores classes"),
        ({"continuous_targets": {"rating": "age"}}, "continuous_targets.rating: .*_events.tsv has no column 'age'"),
        ({"samples": {"mode": "glm", "glm": {"estimate": "condition"}}}, "samples.glm.estimate: condition betas"),
        (
            {"contrasts": {"rating": ["face", "rest"]}, "samples": {"mode": "volumes"}},
            "continuous_targets.rating: the 'rest'",
        ),
        ("n/a", "continuous_targets.rating: .*_events.tsv row 2 .*column 'rating': 'n/a' is not a number"),
    ],
)
def test_bids_mismatches_are_refused_when_the_config_is_read(tmp_path, change, expected):
    dataset = write_rated_dataset(tmp_path / "ds", n_volumes=60, trials_per_condition=2)
    config = bids_regression_config(dataset)
    if change == "n/a":
        path = sorted(dataset.bids_dir.rglob("*_events.tsv"))[-1]
        events = pd.read_csv(path, sep="\t", dtype=str)
        events.loc[1, "rating"] = "n/a"
        events.to_csv(path, sep="\t", index=False)
    else:
        config.update({key: {**config[key], **value} for key, value in change.items()})
        config.update({key: change[key] for key in ("contrasts", "continuous_targets") if key in change})
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert re.match(f"config key {expected}", str(error.value)) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "leave_out",
    [
        {"exclude_participant_label": ["2"]},
        {"participant_label": ["1"]},
        {"sessions": ["a"]},
        {"runs": [1, 2]},
    ],
    ids=["excluded subject", "other participant", "other session", "other run"],
)
def test_events_the_analysis_leaves_out_are_not_checked(tmp_path, leave_out):
    """An unrated event in a run the bids keys leave out (a subject, session or run) does
    not stop the config: only the events discovery takes are checked."""
    dataset = write_rated_dataset(
        tmp_path / "ds", subjects=["1", "2"], sessions=("a", "b"), n_volumes=60, trials_per_condition=2
    )
    path = dataset.bids_dir / "sub-2/ses-b/func/sub-2_ses-b_task-faces_run-3_events.tsv"
    events = pd.read_csv(path, sep="\t", dtype=str)
    events.loc[1, "rating"] = "n/a"
    events.to_csv(path, sep="\t", index=False)
    config = bids_regression_config(dataset)
    with pytest.raises(ConfigError, match="sub-2_ses-b_task-faces_run-3_events.tsv row 2"):
        validate_config(config, SCHEMA)
    config["dataset"]["bids"].update(leave_out)
    validate_config(config, SCHEMA)


def test_volumes_carry_the_value_of_their_event():
    events = pd.DataFrame(
        {
            "onset": [2.0, 8.0],
            "duration": [4.0, 2.0],
            "trial_type": ["face", "house"],
            "row": [1, 2],
            "rating": [3.0, 5.0],
        }
    )
    owner = volume_events(events, 6, 2.0)
    values = volume_values(events, owner)
    assert list(volume_labels(events, 6, 2.0)) == ["rest", "face", "face", "rest", "house", "rest"]
    np.testing.assert_array_equal(values["rating"], [np.nan, 3.0, 3.0, np.nan, 5.0, np.nan])
    assert volume_values(events.astype({"rating": str}), owner) == {}  # the table source's events: text


@pytest.mark.workflow
def test_the_synthetic_sources_rating_reaches_the_samples_table(tmp_path):
    """dataset.synthetic.rating_effect: the generated labels carry each block's rating,
    which the samples table of a continuous-target contrast keeps (only the samples are
    made); without it the contrast is refused when the config is read."""
    config = {
        **{key: value for key, value in TINY_CONFIG.items()},
        "dataset": {
            **TINY_CONFIG["dataset"],
            "synthetic": {**TINY_CONFIG["dataset"]["synthetic"], "rating_effect": 1.0},
        },
        "contrasts": {"rating": ["face", "house"]},
        "continuous_targets": {"rating": "rating"},
        "searchlight": {**TINY_CONFIG["searchlight"], "estimator": "ridge", "scoring": SCORERS},
    }
    run_snakemake(
        tmp_path,
        "results/config/sub-02/rating/samples.tsv",
        "--cores",
        "2",
        "--configfile",
        write_config(tmp_path, config),
    )
    table = read_samples_table(tmp_path / "results/config/sub-02/rating/samples.tsv")
    labels = read_labels(tmp_path / "results/config/synthetic/haxby2001/subj2/labels.txt")
    assert table["rating"].tolist() == labels["rating"][table["volume"]].tolist()
    block = np.cumsum(np.r_[True, np.diff(table["volume"]) != 1])
    assert all(table["rating"][block == b].nunique() == 1 for b in np.unique(block))
    assert table.groupby("run")["rating"].nunique().min() == 2  # a face and a house block per run
    config["dataset"]["synthetic"]["rating_effect"] = None
    with pytest.raises(ConfigError, match="config key continuous_targets.rating: the synthetic source's"):
        validate_config(config, SCHEMA)


def test_the_synthetic_rating_effect_is_planted_in_the_face_region():
    """synthetic.rated: the region's voxels move by effect x their standard deviation x the
    centred rating (to the int16 rounding), the others not at all."""
    design = pd.DataFrame(
        {"labels": ["rest", "face", "face", "rest", "house", "house"] * 2, "chunks": [0] * 6 + [1] * 6}
    )
    rng = np.random.default_rng(0)
    data = rng.integers(100, 200, (2, 1, 1, 12)).astype(np.int16)
    region = np.array([True, False]).reshape(2, 1, 1)
    rated_design, img = synthetic.rated(design, nib.Nifti1Image(data, np.eye(4)), region, 0.5, rng)
    rating = rated_design["rating"].to_numpy()
    # Each run's 4 blocks take the values 1..4, one each.
    assert set(rating[:6]) == set(rating[6:]) == {1, 2, 3, 4}
    assert all(rating[i] == rating[i + 1] for i in (1, 4, 7, 10))
    moved = np.asarray(img.dataobj)
    expected = data[0, 0, 0] + 0.5 * data[0, 0, 0].std() * (rating - rating.mean())
    assert np.abs(moved[0, 0, 0] - expected).max() <= 0.5 and np.array_equal(moved[1], data[1])


def test_bids_volumes_carry_the_rating_of_their_event(tmp_path):
    """samples.mode volumes: each volume in an event takes its events row's rating (block
    design, 4 s shift), a volume in none NaN."""
    from snakelight.data.bids import discover
    from snakelight.data.bids_samples import collect_volumes

    dataset = write_rated_dataset(tmp_path / "ds", design="block", n_runs=2)
    runs = discover({"bids_dir": str(dataset.bids_dir)}, tmp_path / "db")
    labelling = {"label_column": "trial_type", "include": None, "exclude": []}
    manifest = collect_volumes(
        runs, labelling, {"hemodynamic_shift": 4, "baseline": "rest"}, tmp_path / "data", tmp_path / "dataset.json"
    )
    labels = read_labels(manifest["labels"])
    for run, (_, record) in enumerate(runs.iterrows(), start=1):
        events = dataset.events[("01", "", int(record["run"]))]
        volumes = labels[labels["run"] == run].reset_index(drop=True)
        times = np.arange(len(volumes)) * 2.0 - 4
        for event in events.itertuples():
            during = (times >= event.onset) & (times < event.onset + event.duration)
            assert (volumes["label"][during] == event.trial_type).all()
            assert (volumes["rating"][during] == float(event.rating)).all()
        assert volumes["rating"][volumes["label"] == "rest"].isna().all()


@pytest.mark.workflow
def test_a_bids_regression_study_runs_through_every_group_method(tmp_path):
    """Five subjects (unpadded labels), each trial's rating decoded from its LSS beta,
    each subject's null maps, then Stelzer, prevalence and sign-flip on the pearson_r
    maps (chance 0) in one command: the sign-flip finds the planted parametric cube."""
    subjects = ["1", "2", "3", "4", "5"]
    dataset = write_rated_dataset(tmp_path / "ds", subjects=subjects, trials_per_condition=4, seed=5)
    config = bids_regression_config(
        dataset, permutations=19, permutations_per_job=19, permute="samples", output="pearson_r"
    )
    config["searchlight"]["n_chunks"] = 1
    config["group"] = {
        "methods": ["stelzer", "prevalence", "signflip"],
        "stelzer": {"bootstraps": 1000, "p_voxel": 0.05},
        "prevalence": {"permutations": 2000},
        "signflip": {"n_perm": 100, "threshold": 0.01},
    }
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config), timeout=1200)
    group = tmp_path / "results/config/group/rating"
    for method in config["group"]["methods"]:
        sidecar = read_json(next((group / method).glob("*.json")))
        assert sidecar["config"]["subjects"] == subjects, method
    process = nib.load(tmp_path / "results/config/sub-1/process_mask.nii.gz").get_fdata() > 0
    logp = nib.load(group / "signflip/logp_max_t.nii.gz").get_fdata()
    assert logp[process & dataset.parametric_region].max() > -np.log10(0.05)
    far = process & ~binary_dilation(dataset.parametric_region, iterations=2)
    assert logp[process & dataset.parametric_region].mean() > logp[far].mean()
