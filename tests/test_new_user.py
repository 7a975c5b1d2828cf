"""What a new user runs into (issue 13): their configuration is what they wrote plus
neutral defaults; figures of any finished map render; analyses live side by side; what
the config can tell is refused when it is read; errors name the user's file and row."""

import json
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import requests
import sklearn.metrics
import yaml
from sklearn.model_selection import cross_val_score

from snakelight.data.haxby import fetch_subject
from snakelight.data.table import collect_subject, read_events
from snakelight.io import InputError, read_json
from snakelight.report.figures import write_figures
from snakelight.searchlight.engines import NILEARN_ESTIMATORS
from snakelight.searchlight.scorer_names import SCORERS, scoring_problem
from snakelight.searchlight.scoring import check_finite_scores, make_estimator, score_spheres
from snakelight.workflow.config import ConfigError, analysis_name, validate_config

from .conftest import OUT, REPO, SCHEMA, TINY_CONFIG, job_counts, run_snakemake, write_config

FH = {"face_vs_house": ["face", "house"]}


# Principle 1: a user's configuration is what they wrote, plus neutral defaults.


def test_the_schema_assumes_no_slice_no_contrast_and_no_cut():
    config = validate_config({"contrasts": {"a_vs_b": ["cat", "chair"]}}, SCHEMA)
    assert config["process_mask"] == {"slices": {}, "box": {}, "roi": None}
    assert config["contrasts"] == {"a_vs_b": ["cat", "chair"]}
    assert (config["figures"]["cut_coords"], config["figures"]["searchlight_vmin"]) == (None, None)
    with pytest.raises(ConfigError, match=r"^config key <top level>: 'contrasts' is a required property$"):
        validate_config({}, SCHEMA)


def test_the_seeds_choices_live_in_the_seeds_configs():
    for path in (REPO / "config" / "config.yaml", REPO / "config" / "haxby2001.yaml"):
        config = validate_config(yaml.safe_load(path.read_text()), SCHEMA)
        assert config["process_mask"]["slices"] == {"z": [29]} and config["process_mask"]["box"] == {"y": [None, 30]}
        assert config["figures"]["cut_coords"] == [-9] and config["figures"]["searchlight_vmin"] == 0.42
        assert config["contrasts"] == FH


def start_config(output):
    """The effective configuration the run prints when it starts."""
    line = next(line for line in output.splitlines() if line.startswith("snakelight: analysis "))
    return json.loads(line.split("defaults filled in: ", 1)[1])


@pytest.mark.workflow
def test_a_configfile_replaces_the_default_run_rather_than_merging_into_it(tmp_path):
    """With the seed's config/config.yaml in place, a user's config inherits neither its
    slice nor its contrast; without --configfile, the default run is the seed's."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        yaml.safe_dump({**TINY_CONFIG, "process_mask": {}, "contrasts": {"cat_vs_chair": ["cat", "chair"]}})
    )
    result = run_snakemake(tmp_path, "-n", "--configfile", str(mine))
    config = start_config(result.stdout)
    assert config["analysis"] == "mine"
    assert config["process_mask"] == {"slices": {}, "box": {}, "roi": None}
    assert config["contrasts"] == {"cat_vs_chair": ["cat", "chair"]}
    assert "results/mine/sub-02/cat_vs_chair/searchlight.png" in result.stdout
    assert "face_vs_house" not in result.stdout.split("Building DAG", 1)[1]
    default = run_snakemake(tmp_path, "-n")
    assert start_config(default.stdout)["process_mask"]["slices"] == {"z": [29]}
    assert "results/default/sub-02/face_vs_house/searchlight.png" in default.stdout


PROFILE_LINE = (
    f"Using workflow specific profile {REPO}/workflow/profiles/default for setting default command line arguments."
)


def tiny_yaml(**edits):
    """The tiny configuration's YAML text, ``edits`` replacing lines (old=new)."""
    text = (REPO / ".test" / "config" / "config.yaml").read_text()
    for old, new in edits.values():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.workflow
def test_a_config_error_is_the_one_line_snakemake_prints(tmp_path):
    config = write_config(tmp_path, {**TINY_CONFIG, "searchlight": {"radius": -1}})
    result = run_snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        PROFILE_LINE,
        "error: config key searchlight.radius: -1 is less than or equal to the minimum of 0",
    ]


@pytest.mark.workflow
def test_a_key_given_twice_in_a_configfile_is_refused_naming_the_key_and_the_line(tmp_path):
    """Snakemake's own reading would keep the last silently."""
    mine = tmp_path / "mine.yaml"
    mine.write_text(tiny_yaml(radius=("  radius: 5.6\n", "  radius: 5.6\n  radius: 4\n")))
    result = run_snakemake(tmp_path, "-n", "--configfile", str(mine), check=False)
    assert result.stdout.splitlines()[1:] == [
        f"error: config file {mine}, line 16: key 'searchlight.radius' is given twice (first on line 15); "
        "Snakemake would silently keep the last: keep one"
    ]
    mine.write_text(tiny_yaml() + "contrasts:\n  cat_vs_chair: [cat, chair]\n")
    result = run_snakemake(tmp_path, "-n", "--configfile", str(mine), check=False)
    assert result.stdout.splitlines()[1:] == [
        f"error: config file {mine}, line 19: key 'contrasts' is given twice (first on line 9); "
        "Snakemake would silently keep the last: keep one"
    ]


@pytest.mark.workflow
def test_the_default_config_file_is_checked_before_snakemake_reads_it(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(tiny_yaml(bad=("  radius: 5.6\n", "  radius: 5.6\n    n: [\n")))
    result = run_snakemake(tmp_path, "-n", check=False)
    assert result.stdout.splitlines()[1:] == [
        "error: config file config/config.yaml, line 16, column 6: not valid YAML (mapping values are not allowed here)"
    ]
    (tmp_path / "config" / "config.yaml").unlink()
    result = run_snakemake(tmp_path, "-n", check=False)
    assert result.stdout.splitlines()[1:] == [
        f"error: config file 'config/config.yaml' not found (relative paths are read from {tmp_path}, the folder "
        "snakemake runs in, or its --directory): run snakemake in the folder holding config/ (or give --directory), "
        "or give --configfile"
    ]


@pytest.mark.workflow
def test_config_on_the_command_line_merges_yaml_values_into_the_file(tmp_path):
    """--config takes top-level keys; a mapping merges key by key, its values read as
    YAML (Snakemake alone reads the 4 of searchlight={radius: 4} as the string '4')."""
    config = write_config(tmp_path, TINY_CONFIG)
    result = run_snakemake(
        tmp_path, "-n", "--configfile", config, "--config", "searchlight={radius: 4}", "subjects=[2, 3]"
    )
    searchlight = start_config(result.stdout)["searchlight"]
    assert (searchlight["radius"], searchlight["n_chunks"]) == (4, 3)
    assert start_config(result.stdout)["subjects"] == [2, 3]


@pytest.mark.workflow
def test_what_snakemake_refuses_before_the_workflow_runs(tmp_path):
    """Snakemake reads --configfile and --config before the Snakefile: these lines are
    Snakemake's own (README, "Reliability", cases 47-49)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_yaml(bad=("  radius: 5.6\n", "  radius: 5.6\n    n: [\n")))
    result = run_snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        PROFILE_LINE,
        "WorkflowError:",
        "Config file is not valid JSON or YAML. In case of YAML, make sure to not mix whitespace and tab indentation.",
    ]
    result = run_snakemake(tmp_path, "-n", "--configfile", "nowhere.yaml", check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == "Traceback (most recent call last):"
    assert (
        result.stdout.strip().splitlines()[-1]
        == "FileNotFoundError: [Errno 2] No such file or directory: 'nowhere.yaml'"
    )
    result = run_snakemake(tmp_path, "-n", "--configfile", str(bad), "--config", "searchlight.radius=4", check=False)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == (
        "ValueError: Invalid config definition: Config entry must start with a valid identifier."
    )


# Principle 2: a run that computed maps never dies drawing them.


@pytest.fixture
def figure_inputs(tmp_path, haxby_dir):
    """The figures step's inputs on the tiny grid: samples (mean image), F-scores, and a
    process mask of two slices; the score map is each test's."""
    bold = nib.load(haxby_dir / "subj2" / "bold.nii.gz")
    samples = nib.Nifti1Image(np.asarray(bold.dataobj)[..., :20], bold.affine)
    mask = np.asarray(nib.load(haxby_dir / "mask.nii.gz").dataobj) != 0
    process = mask.copy()
    process[..., [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]] = False
    paths = {name: tmp_path / f"{name}.nii.gz" for name in ("samples", "fscores", "process_mask")}
    samples.to_filename(paths["samples"])
    nib.Nifti1Image(np.where(mask, 1.0, 0.0), bold.affine).to_filename(paths["fscores"])
    nib.Nifti1Image(process.astype(np.uint8), bold.affine).to_filename(paths["process_mask"])
    return paths, process, bold.affine


def draw(paths, tmp_path, scores, affine, **settings):
    score_map = tmp_path / "map.nii.gz"
    nib.Nifti1Image(scores, affine).to_filename(score_map)
    figures = tmp_path / "searchlight.png", tmp_path / "fscores.png"
    kwargs = {"cut_coords": None, "vmin": None, "threshold": 0.2, "chance": 0.5, **settings}
    write_figures(paths["samples"], score_map, paths["fscores"], paths["process_mask"], *figures, **kwargs)
    return [path.read_bytes()[:4] for path in figures]


@pytest.mark.parametrize(
    ("name", "fill", "settings"),
    [
        ("null result at chance", 0.5, {}),
        ("below the seed's vmin", 0.3, {"vmin": 0.42, "cut_coords": [0.0]}),
        ("every sphere zero", 0.0, {"vmin": 0.42}),
        ("no chance level", 0.5, {"chance": None}),
    ],
)
def test_figures_of_an_empty_constant_or_chance_map_render(figure_inputs, tmp_path, name, fill, settings):
    paths, process, affine = figure_inputs
    scores = np.where(process, fill, 0.0)
    assert draw(paths, tmp_path, scores, affine, **settings) == [b"\x89PNG", b"\x89PNG"]


def test_the_default_cut_is_through_the_maps_peak(figure_inputs, tmp_path):
    from snakelight.report.cuts import peak_cut

    paths, process, affine = figure_inputs
    scores = np.where(process, 0.5, 0.0)
    peak = tuple(np.argwhere(process)[3])
    scores[peak] = 0.9
    img = nib.Nifti1Image(scores, affine)
    assert peak_cut(img, nib.load(paths["process_mask"])) == [float(affine[2, :3] @ peak + affine[2, 3])]


def test_a_cut_outside_the_image_names_the_key_the_value_and_the_bounds(figure_inputs, tmp_path):
    paths, process, affine = figure_inputs
    with pytest.raises(InputError) as error:
        draw(paths, tmp_path, np.where(process, 0.7, 0.0), affine, cut_coords=[-40])
    assert str(error.value) == (
        f"config key figures.cut_coords: z = -40 mm is outside {paths['samples']} (z from -20.625 to 20.625 mm); "
        "choose cuts inside it, or null to cut through the map's peak"
    )


def test_a_cut_outside_the_generated_volume_is_refused_when_the_config_is_read():
    config = {**TINY_CONFIG, "figures": {"cut_coords": [-9, -30]}}
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert str(error.value) == (
        "config key figures.cut_coords: z = -30 mm is outside the generated volume (12x14x12 voxels of "
        "3.5x3.75x3.75 mm) (z from -20.625 to 20.625 mm); choose cuts inside it, or null to cut through the map's peak"
    )


# Principle 3: analyses live side by side; nothing is silently replaced.


def test_the_analysis_is_named_by_its_key_else_the_last_configfile_else_default():
    assert analysis_name({"analysis": "pilot"}, ["config/wholebrain.yaml"]) == "pilot"
    assert analysis_name({}, ["a/first.yaml", "b/wholebrain.yaml"]) == "wholebrain"
    assert analysis_name({}, []) == "default"
    with pytest.raises(ConfigError, match=r"^config key analysis: the config file '\{x\}.yaml' cannot name"):
        analysis_name({}, ["{x}.yaml"])


@pytest.mark.workflow
def test_two_configurations_live_side_by_side(tiny_run):
    """A second configuration in the same folder writes its own tree; the first one's
    maps stay byte for byte, a rerun of the first has nothing to do, and each analysis
    records the configuration that made it."""
    before = {path: path.read_bytes() for path in (tiny_run / OUT).glob("*.nii.gz")}
    other = tiny_run / "other.yaml"
    other.write_text(yaml.safe_dump({**TINY_CONFIG, "searchlight": {"radius": 4.0, "n_chunks": 2}}))
    result = run_snakemake(tiny_run, "--cores", "2", "--configfile", str(other))
    assert job_counts(result.stdout)["searchlight_chunk"] == 2
    assert before == {path: path.read_bytes() for path in (tiny_run / OUT).glob("*.nii.gz")}
    assert sorted(p.name for p in (tiny_run / OUT / "chunks").iterdir()) == ["0.npz", "1.npz", "2.npz"]
    assert sorted(p.name for p in (tiny_run / "results/other/sub-02/face_vs_house/chunks").iterdir()) == [
        "0.npz",
        "1.npz",
    ]
    assert yaml.safe_load((tiny_run / "results/other/config.yaml").read_text())["searchlight"]["radius"] == 4.0
    assert yaml.safe_load((tiny_run / "results/config/config.yaml").read_text())["searchlight"]["radius"] == 5.6
    again = run_snakemake(tiny_run, "-n", "--configfile", str(tiny_run / "config.yaml"))
    assert "Nothing to be done" in again.stdout


@pytest.mark.workflow
def test_a_changed_configuration_says_it_replaces_the_analysis(tiny_run, tmp_path):
    config = write_config(tmp_path, {**TINY_CONFIG, "analysis": "config", "searchlight": {"radius": 4.0}})
    result = run_snakemake(tiny_run, "-n", "--configfile", config)
    assert (
        "snakelight: results/config/ holds results of another configuration (it differs in searchlight.n_chunks, "
        "searchlight.radius): this run recomputes what depends on them; set the config key analysis to keep both"
    ) in result.stdout


# Principle 4: whatever can be known when the config is read is refused then.


def test_scorer_names_are_scikit_learns():
    assert list(SCORERS) == sklearn.metrics.get_scorer_names()


ESTIMATOR_NAMES = (*NILEARN_ESTIMATORS, "gnb", "lda")


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
def test_the_scoring_check_refuses_exactly_what_scikit_learn_scores_nan_or_cannot_fit(estimator):
    """The independent reference: cross_val_score itself, on condition names as labels,
    for every scorer on two and three classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    for labels in (["face", "house"], ["face", "house", "cat"]):
        y = np.repeat(labels, 30 // len(labels))
        for scoring in (None, *SCORERS):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    finite = np.isfinite(cross_val_score(make_estimator(estimator), X, y, cv=3, scoring=scoring)).all()
                except ValueError:  # every fit failed
                    finite = False
            assert (scoring_problem(scoring, len(labels), estimator) is None) == finite, (scoring, len(labels))


THREE = {"three": ["face", "house", "cat"]}


@pytest.mark.parametrize(
    ("contrasts", "searchlight", "expected"),
    [
        (
            FH,
            {"scoring": "accuracyy"},
            "searchlight.scoring: 'accuracyy' is not a scikit-learn scorer (e.g. accuracy; all: "
            "sklearn.metrics.get_scorer_names()) (contrast 'face_vs_house')",
        ),
        (
            THREE,
            {"scoring": "roc_auc"},
            "searchlight.scoring: 'roc_auc' scores two classes, not 3; use e.g. roc_auc_ovr or balanced_accuracy "
            "(contrast 'three')",
        ),
        (
            FH,
            {"scoring": "f1"},
            "searchlight.scoring: 'f1' needs a class labelled 1; conditions are names: use e.g. f1_macro or "
            "balanced_accuracy "
            "(contrast 'face_vs_house')",
        ),
        (
            THREE,
            {"estimator": "logistic"},
            "searchlight.estimator: 'logistic' (liblinear's logistic regression) fits two classes, not 3 "
            "(contrast 'three')",
        ),
        (
            THREE,
            {"engine": "fast", "estimator": "svc"},
            "searchlight.estimator: engine 'fast' fits 'svc' on two classes only, not 3",
        ),
        (
            FH,
            {"estimator": "lda", "scoring": "f1_macro"},
            "searchlight.scoring: engine 'fast' scores accuracy and balanced_accuracy only, not 'f1_macro' (engine "
            "auto's choice "
            "for 'lda'); set searchlight.engine: exact",
        ),
    ],
)
def test_what_every_chunk_would_fail_on_is_refused_when_the_config_is_read(contrasts, searchlight, expected):
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": contrasts, "searchlight": searchlight}, SCHEMA)
    assert str(error.value) == f"config key {expected}"


def test_a_chunk_with_non_finite_scores_is_an_error(face_house):
    """svc has no predict_proba: scikit-learn fails neg_log_loss on every fold, and
    cross_val_score returns NaN; the chunk refuses to write them."""
    X = np.asarray(face_house["imgs"].dataobj)[np.asarray(face_house["mask"].dataobj) != 0].T
    folds = [(np.arange(0, 36), np.arange(36, 72)), (np.arange(36, 72), np.arange(0, 36))]
    y = face_house["labels"][:72]
    with pytest.warns(UserWarning):
        scores = score_spheres(X[:72], y, [np.array([0, 1]), np.array([2])], "svc", folds, scoring="neg_log_loss")
    assert np.isnan(scores).all()
    with pytest.raises(InputError) as error:
        check_finite_scores(scores, estimator="svc", scoring="neg_log_loss", where="chunk 1/3")
    assert str(error.value) == (
        "config key searchlight.scoring: chunk 1/3: 2 of 2 spheres scored NaN or infinity with estimator 'svc' and "
        "scoring 'neg_log_loss' (scikit-learn's reason is in this step's log); choose a scorer that fits the "
        "estimator and the contrast"
    )


# Principle 5: an error names the user's file, run and row.


def write_runs(root, grids, *, nan_run=None, units="sec", tr=2.5):
    """One subject's runs as the subjects table names them (two rows, labels files):
    run images on the given (shape, affine) grids; ``nan_run`` gets a NaN voxel."""
    rows = []
    for run, (shape, affine) in enumerate(grids, start=1):
        rng = np.random.default_rng(run)
        data = rng.normal(size=(*shape, 10)).astype(np.float32)
        if run == nan_run:
            data[1, 2, 3, 4] = np.nan
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm", units)
        img.header.set_zooms((*img.header.get_zooms()[:3], tr))
        bold, labels = root / f"run-{run}_bold.nii.gz", root / f"run-{run}_labels.tsv"
        img.to_filename(bold)
        pd.DataFrame({"label": ["a", "b"] * 5}).to_csv(labels, sep="\t", index=False)
        rows.append({"row": run, "subject": 1, "run": str(run), "bold": str(bold), "events": "", "labels": str(labels)})
    return pd.DataFrame(rows)


GRID = ((6, 6, 6), np.diag([3.0, 3.0, 3.0, 1.0]))


def test_runs_on_different_grids_name_both_runs(tmp_path):
    shifted = GRID[1].copy()
    shifted[0, 3] = 3.0
    rows = write_runs(tmp_path, [GRID, (GRID[0], shifted)])
    rows["mask"] = ""
    with pytest.raises(InputError) as error:
        collect_subject(rows, tmp_path / "out", tmp_path / "dataset.json", shift=0, baseline="rest")
    assert str(error.value) == (
        f"{tmp_path}/run-2_bold.nii.gz (subjects table row 2, column bold): this run's affine differs from the "
        f"first run's ({tmp_path}/run-1_bold.nii.gz (subjects table row 1, column bold)) by up to 3; they must "
        "share one grid"
    )


def test_nan_voxels_and_a_shifted_mask_name_the_users_run_and_mask(tmp_path):
    rows = write_runs(tmp_path, [GRID, GRID], nan_run=2)
    mask = tmp_path / "brainmask.nii.gz"
    nib.Nifti1Image(np.ones(GRID[0], np.uint8), GRID[1]).to_filename(mask)
    rows["mask"] = str(mask)
    with pytest.raises(InputError) as error:
        collect_subject(rows, tmp_path / "out", tmp_path / "dataset.json", shift=0, baseline="rest")
    assert str(error.value) == (
        f"{tmp_path}/run-2_bold.nii.gz (subjects table row 2, column bold): 1 brain-mask voxels hold NaN or infinite "
        "values (the first at voxel (1, 2, 3)); fix the image or leave those voxels out of the brain mask"
    )
    off = GRID[1].copy()
    off[2, 3] = 3.0
    nib.Nifti1Image(np.ones(GRID[0], np.uint8), off).to_filename(mask)
    with pytest.raises(InputError) as error:
        collect_subject(rows, tmp_path / "out", tmp_path / "dataset.json", shift=0, baseline="rest")
    assert str(error.value).startswith(
        f"{mask} (subjects table row 1, column mask): the brain mask's affine differs from the BOLD image's "
        f"({tmp_path}/run-1_bold.nii.gz (subjects table row 1, column bold)) by up to 3"
    )
    assert not (tmp_path / "out").exists() and not (tmp_path / "dataset.json").exists()


def test_an_empty_computed_mask_names_the_users_run_and_what_to_give(tmp_path):
    rows = write_runs(tmp_path, [GRID, GRID])  # noise: compute_epi_mask finds no brain
    rows["mask"] = ""
    with pytest.raises(InputError) as error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect_subject(rows, tmp_path / "out", tmp_path / "dataset.json", shift=0, baseline="rest")
    assert str(error.value) == (
        f"{tmp_path}/run-1_bold.nii.gz (subjects table row 1, column bold): the brain mask computed from subject 1's "
        "runs (nilearn's compute_epi_mask) is empty; give a brain mask in the subjects table's mask column"
    )


def test_the_manifest_tr_is_in_seconds_whatever_the_headers_unit(tmp_path):
    rows = write_runs(tmp_path, [GRID, GRID], units="msec", tr=2500)
    mask = tmp_path / "brainmask.nii.gz"
    nib.Nifti1Image(np.ones(GRID[0], np.uint8), GRID[1]).to_filename(mask)
    rows["mask"] = str(mask)
    manifest = collect_subject(rows, tmp_path / "out", tmp_path / "dataset.json", shift=0, baseline="rest")
    assert manifest["t_r"] == read_json(tmp_path / "dataset.json")["t_r"] == 2.5


def test_a_bids_n_a_duration_says_what_to_give(tmp_path):
    path = tmp_path / "events.tsv"
    path.write_text("onset\tduration\ttrial_type\n0\t2\tface\n4\tn/a\thouse\n")
    with pytest.raises(InputError) as error:
        read_events(path)
    assert str(error.value) == (
        f"{path} row 2, column duration: 'n/a' gives no time (BIDS' n/a); events label volumes by their onset and "
        "duration, so give both in seconds"
    )


def test_haxby_without_network_says_where_it_looked_and_what_to_set(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise requests.ConnectionError("Failed to resolve 'www.nitrc.org'")

    monkeypatch.setattr(requests.Session, "send", no_network)
    with pytest.raises(InputError) as error:
        fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=str(tmp_path / "data"))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path}/data/haxby2001: Haxby subject 2 is not there and downloading it failed (")
    assert message.endswith(
        "); connect to the network, or set dataset.data_dir to a folder holding haxby2001/ as nilearn's "
        "fetch_haxby lays it out"
    )
