from pathlib import Path

import pytest
import yaml
from nilearn.decoding._utils import SUPPORTED_ESTIMATORS

from snakelight.searchlight.engines import FAST_ESTIMATORS, NILEARN_ESTIMATORS, NILEARN_REGRESSORS
from snakelight.workflow import config_files
from snakelight.workflow.config import ConfigError, validate_config
from snakelight.workflow.config_files import check_config_file, config_entries

from .conftest import REPO, SCHEMA

FH = {"face_vs_house": ["face", "house"]}


def test_defaults_are_filled_in():
    config = validate_config({"contrasts": FH}, SCHEMA)
    assert config["searchlight"]["radius"] == 5.6
    assert config["searchlight"]["cv"] == {"method": "kfold", "n_splits": 4}
    assert config["dataset"]["synthetic"]["shape"] == [40, 64, 64]
    assert config["resources"]["min_mem_mb"] == 1000


@pytest.mark.parametrize(
    ("permutations", "per_job", "cluster_threshold"),
    [(0, 100, 0.001), (19, 19, 0.05), (100, 100, 1 / 101), (999, 100, 0.001)],
)
def test_inference_defaults_work_for_every_accepted_permutation_count(permutations, per_job, cluster_threshold):
    # inference: {permutations: 100} alone used to be refused (cluster_threshold 0.001 needs
    # P >= 999); the defaults now follow P: min(100, P) per job, 0.001 or 1 / (P + 1).
    config = validate_config({"contrasts": FH, "inference": {"permutations": permutations}}, SCHEMA)
    assert config["inference"]["permutations_per_job"] == per_job
    assert config["inference"]["cluster_threshold"] == pytest.approx(cluster_threshold, rel=1e-12)
    set_by_hand = {"permutations": permutations, "permutations_per_job": 7, "cluster_threshold": 0.2}
    config = validate_config({"contrasts": FH, "inference": set_by_hand}, SCHEMA)
    assert config["inference"] == {**config["inference"], **set_by_hand}


def test_shipped_configs_are_valid(tmp_path, monkeypatch):
    """Each config/*.yaml, read from a folder holding the BIDS dataset config/bids.yaml
    names (a relative path, read from Snakemake's working directory)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "ds000105").mkdir(parents=True)
    seed = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for path in (REPO / "config").glob("*.yaml"):
        if path.name == "own_data.yaml":  # a template for files the repository does not hold
            continue
        config = yaml.safe_load(path.read_text())
        if path.name == "permutations.yaml":  # named after another config file, which it extends
            config = {**seed, **config}
        validate_config(config, SCHEMA)


def test_own_data_template_is_valid_once_its_files_exist(tmp_path):
    template = REPO / "config" / "subjects.tsv"
    table = tmp_path / "config" / "subjects.tsv"
    table.parent.mkdir()
    table.write_text(template.read_text())
    for line in template.read_text().splitlines()[1:]:
        for value in line.split("\t")[2:]:
            if value:
                (table.parent / value).parent.mkdir(parents=True, exist_ok=True)
                (table.parent / value).touch()
    config = yaml.safe_load((REPO / "config" / "own_data.yaml").read_text())
    config["dataset"]["subjects_table"] = str(table)
    assert validate_config(config, SCHEMA)["subjects"] == [1, 2]


def test_seed_config_is_the_seed():
    config = validate_config(yaml.safe_load((REPO / "config" / "haxby2001.yaml").read_text()), SCHEMA)
    assert config["dataset"]["source"] == "haxby"
    assert config["subjects"] == [2]
    assert config["contrasts"] == {"face_vs_house": ["face", "house"]}
    assert config["process_mask"] == {"slices": {"z": [29]}, "box": {"y": [None, 30]}, "roi": None}
    searchlight = config["searchlight"]
    assert (searchlight["radius"], searchlight["estimator"], searchlight["scoring"]) == (5.6, "svc", None)
    assert searchlight["cv"] == {"method": "kfold", "n_splits": 4}


ESTIMATORS = (
    "['svc', 'svc_l2', 'svc_l1', 'logistic', 'logistic_l2', 'logistic_l1', 'ridge_classifier', "
    "'dummy_classifier', 'gnb', 'lda', 'ridge', 'ridge_regressor', 'svr', 'lasso', 'lasso_regressor', "
    "'dummy_regressor']"
)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"searchlight": {"radius": 0}}, "searchlight.radius: 0 is less than or equal to the minimum of 0"),
        ({"searchlight": {"radius": -2.5}}, "searchlight.radius: -2.5 is less than or equal to the minimum of 0"),
        ({"searchlight": {"n_chunks": 0}}, "searchlight.n_chunks: 0 is less than the minimum of 1"),
        ({"searchlight": {"estimator": "svm"}}, f"searchlight.estimator: 'svm' is not one of {ESTIMATORS}"),
        ({"searchlight": {"radus": 3}}, "searchlight: Additional properties are not allowed ('radus' was unexpected)"),
        ({"serchlight": {}}, "<top level>: Additional properties are not allowed ('serchlight' was unexpected)"),
        ({"subjects": "2"}, "subjects: '2' is not of type 'array'"),
        (
            {"contrasts": {"fh": ["face", "hous"]}},
            "contrasts.fh: unknown condition 'hous'; the dataset has rest, face, house, cat, bottle, scissors, shoe, "
            "chair, scrambledpix",
        ),
        ({"contrasts": {"fh": ["face"]}}, "contrasts.fh: ['face'] has 1 condition(s); a contrast decodes two or more"),
        ({"contrasts": {"fh": ["face", "face"]}}, "contrasts.fh: ['face', 'face'] has non-unique elements"),
        ({"dataset": {"source": "haxby"}, "subjects": [2, 7]}, "subjects: Haxby has subjects 1 to 6, not 7"),
        (
            {"process_mask": {"roi": "missing/roi.nii.gz"}},
            f"process_mask.roi: file not found: 'missing/roi.nii.gz' (relative paths are read from {Path.cwd()}, the "
            "folder snakemake runs in, or its --directory)",
        ),
        ({"process_mask": {"roi": "/missing/roi.nii.gz"}}, "process_mask.roi: file not found: '/missing/roi.nii.gz'"),
        (
            {"searchlight": {"engine": "fast", "estimator": "logistic"}},
            "searchlight.estimator: engine 'fast' has no estimator 'logistic'; it has svc, svc_l2, gnb, lda",
        ),
        (
            {"searchlight": {"engine": "fast", "estimator": "gnb", "scoring": "roc_auc"}},
            "searchlight.scoring: engine 'fast' scores accuracy and balanced_accuracy only, not 'roc_auc'",
        ),
        ({"searchlight": {"engine": "quick"}}, "searchlight.engine: 'quick' is not one of ['auto', 'exact', 'fast']"),
        ({"searchlight": {"cv": {"n_splits": 1}}}, "searchlight.cv.n_splits: 1 is less than the minimum of 2"),
        (
            {"searchlight": {"cv": {"method": "loro"}}},
            "searchlight.cv.method: 'loro' is not one of ['kfold', 'leave_one_run_out']",
        ),
        ({"resources": {"margin": 0.5}}, "resources.margin: 0.5 is less than the minimum of 1"),
    ],
)
def test_bad_values_name_key_and_value_on_one_line(config, expected):
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": FH, **config}, SCHEMA)
    assert str(error.value) == f"config key {expected}"


def test_estimator_names_are_nilearns_and_the_fast_ones():
    schema = yaml.safe_load(SCHEMA.read_text())
    names = schema["properties"]["searchlight"]["properties"]["estimator"]["enum"]
    nilearns = [*SUPPORTED_ESTIMATORS["classifier"], *SUPPORTED_ESTIMATORS["regressor"]]
    assert sorted(names) == sorted([*nilearns, "gnb", "lda"])
    assert set(NILEARN_ESTIMATORS) == set(SUPPORTED_ESTIMATORS["classifier"])
    assert set(NILEARN_REGRESSORS) == set(SUPPORTED_ESTIMATORS["regressor"])
    assert set(FAST_ESTIMATORS) <= set(names)


def test_bids_defaults_are_the_librarys():
    """The schema is the workflow's home of the bids and GLM defaults; the library's
    DEFAULTS (for direct callers) must say the same."""
    from snakelight.data import bids, glm

    config = validate_config({"contrasts": FH}, SCHEMA)
    assert config["dataset"]["bids"] == bids.DEFAULTS
    assert glm.glm_config(config["samples"]) == glm.DEFAULTS
    assert config["samples"]["mode"] == "volumes"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"dataset": {"source": "bids"}}, "config key dataset.bids.bids_dir: not set; the bids source reads"),
        ({"samples": {"mode": "glm"}}, "config key samples.mode: glm needs dataset.source bids, not 'synthetic'"),
        (
            {"dataset": {"source": "bids", "bids": {"bids_dir": "ds"}}, "samples": {"glm": {"estimate": "lsx"}}},
            "config key samples.glm.estimate: 'lsx' is not one of ['lss', 'lsa', 'condition']",
        ),
    ],
)
def test_bids_config_errors_name_the_key(config, expected):
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": FH, **config}, SCHEMA)
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize(
    ("dataset", "key", "what", "path"),
    [
        (
            {"source": "table", "subjects_table": "mine/subjects.tsv"},
            "dataset.subjects_table",
            "file",
            "mine/subjects.tsv",
        ),
        ({"source": "bids", "bids": {"bids_dir": "data/ds"}}, "dataset.bids.bids_dir", "folder", "data/ds"),
    ],
)
def test_a_missing_path_says_where_relative_paths_are_read_from(tmp_path, monkeypatch, dataset, key, what, path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": FH, "dataset": dataset}, SCHEMA)
    assert str(error.value) == (
        f"config key {key}: {what} not found: {path!r} (relative paths are read from {tmp_path}, the folder "
        "snakemake runs in, or its --directory)"
    )


def test_a_key_given_twice_is_refused_naming_the_file_the_key_and_the_lines(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("contrasts:\n  a: [face, house]\nsearchlight:\n  radius: 4\n  radius: 6\n")
    with pytest.raises(ConfigError) as error:
        check_config_file(path)
    assert str(error.value) == (
        f"config file {path}, line 5: key 'searchlight.radius' is given twice (first on line 4); Snakemake would "
        "silently keep the last: keep one"
    )
    path.write_text("contrasts:\n  a: [face, house]\nsubjects: [2]\ncontrasts:\n  b: [cat, chair]\n")
    with pytest.raises(ConfigError, match=r"line 4: key 'contrasts' is given twice \(first on line 1\)"):
        check_config_file(path)
    path.write_text('{"contrasts": {"a": ["face", "house"]}, "contrasts": {}}')
    with pytest.raises(ConfigError, match=r"^config file .*: key 'contrasts' is given twice in one object;"):
        check_config_file(path)
    path.write_text("contrasts:\n  a: [face, house]\n  b: [face, house]\nsubjects: [2, 2]\n")  # values may repeat
    check_config_file(path)


def test_a_yaml_error_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("contrasts:\n  a: [face, house]\nsearchlight:\n  radius: 4\n    n: [\n")
    with pytest.raises(ConfigError) as error:
        check_config_file(path)
    assert (
        str(error.value)
        == f"config file {path}, line 5, column 6: not valid YAML (mapping values are not allowed here)"
    )
    path.write_text("- contrasts\n")
    with pytest.raises(ConfigError, match="its top level must be keys"):
        check_config_file(path)
    with pytest.raises(ConfigError, match=r"^config file 'nowhere.yaml' not found \(relative paths are read from "):
        check_config_file("nowhere.yaml")


def test_config_entries_are_read_as_yaml(capsys, tmp_path):
    entries = config_entries(["searchlight={radius: 4, cv: {n_splits: 3}}", "subjects=[2, 3]", "analysis=pilot", "x="])
    assert entries == {
        "searchlight": {"radius": 4, "cv": {"n_splits": 3}},
        "subjects": [2, 3],
        "analysis": "pilot",
        "x": None,
    }
    assert config_entries(["analysis={not yaml"]) == {"analysis": "{not yaml"}
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("contrasts: {a: [face, house]}\n")
    bad.write_text("a: 1\na: 2\n")
    assert config_files.main([str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{good}: valid YAML, no key given twice\n"
    assert (
        err
        == f"error: config file {bad}, line 2: key 'a' is given twice (first on line 1); Snakemake would silently keep the last: keep one\n"
    )
