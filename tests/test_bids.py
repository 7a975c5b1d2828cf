"""The bids source: discovery of a BIDS + fMRIPrep dataset with pybids, GLM beta
series with nilearn, on datasets of snakelight.data.synthetic_bids."""

import json
import os
import shutil
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import FirstLevelModel
from nilearn.interfaces.fmriprep import load_confounds
from nilearn.masking import intersect_masks
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.svm import LinearSVC

from snakelight.data import bids, glm, synthetic_bids
from snakelight.io import InputError, read_samples_table

SPACES = (synthetic_bids.SPACE, "T1w")
# Scrubbing on (volumes 40 and 41 move too much), so that the sample mask is used.
CONFOUNDS = {"strategy": ["motion", "high_pass", "wm_csf", "scrub"], "scrub": 0}


@pytest.fixture(scope="module")
def event_dataset(tmp_path_factory):
    """Event-related design, nested derivatives, no sessions, padded labels, two spaces,
    unmodelled n/a events."""
    root = tmp_path_factory.mktemp("event")
    return synthetic_bids.write_dataset(
        root / "ds", subjects=("01", "02"), n_runs=3, spaces=SPACES, na_events=True, seed=0
    )


@pytest.fixture(scope="module")
def session_dataset(tmp_path_factory):
    """Two sessions of two runs, unpadded labels (as OpenNeuro's ds000105), derivatives in
    a sibling folder."""
    root = tmp_path_factory.mktemp("sessions")
    return synthetic_bids.write_dataset(
        root / "raw",
        subjects=("1", "2"),
        sessions=("01", "02"),
        n_runs=2,
        derivatives=root / "fmriprep",
        shape=(4, 4, 4),
        seed=1,
    )


@pytest.fixture(scope="module")
def block_dataset(tmp_path_factory):
    """Block design, conditions in stim_type (trial_type is 'stimulus'), res-2 outputs."""
    root = tmp_path_factory.mktemp("block")
    return synthetic_bids.write_dataset(
        root / "ds", design="block", stim_type=True, na_events=True, res="2", n_runs=2, seed=2
    )


@pytest.fixture(scope="module")
def event_runs(event_dataset, tmp_path_factory):
    return bids.discover({"bids_dir": event_dataset.bids_dir}, tmp_path_factory.mktemp("results") / "pybids")


@pytest.fixture(scope="module")
def lss(event_runs):
    """LSS beta series of sub-01: (image, table, mask)."""
    return glm.beta_series(event_runs[event_runs["subject"] == "01"], {"estimate": "lss", "confounds": CONFOUNDS})


def discover(dataset, tmp_path, **config):
    return bids.discover({"bids_dir": dataset.bids_dir, **config}, tmp_path / "results" / "pybids")


def error_message(call, *args, **kwargs):
    """The one-line message of the InputError ``call`` raises."""
    with pytest.raises(InputError) as error:
        call(*args, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


def listing(folder):
    """Every path under ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in Path(folder).rglob("*")
    }


def truth_samples(dataset, subject, label_column):
    """The generator's modelled events of a subject's runs, in the samples' order."""
    runs = [(key, events) for key, events in dataset.events.items() if key[0] == subject]
    return pd.concat(
        [
            events[events[label_column] != bids.MISSING].assign(run=group, session=key[1], bids_run=key[2])
            for group, (key, events) in enumerate(runs, start=1)
        ],
        ignore_index=True,
    )


def reference_beta(record, events, regressor, confounds_config, mask_img, sample_mask=True, **model_options):
    """nilearn's own effect size of ``regressor`` for one run, with the events as given;
    ``model_options`` override the GLM defaults."""
    confounds, mask = load_confounds(
        record.bold,
        strategy=tuple(confounds_config["strategy"]),
        **{k: v for k, v in confounds_config.items() if k != "strategy"},
    )
    confounds = confounds.drop(columns=[c for c in confounds.columns if c.startswith("cosine")])
    options = {"hrf_model": "glover", "drift_model": "cosine", "high_pass": 0.01, **model_options}
    model = FirstLevelModel(t_r=record.t_r, mask_img=mask_img, **options)
    with pytest.warns(RuntimeWarning, match="Given mask will be used"):  # nilearn 0.14.1, for a mask image
        model.fit(record.bold, events, confounds, sample_masks=mask if sample_mask else None)
    return model.compute_contrast(regressor, output_type="effect_size").get_fdata()


def modelled_events(path, label_column):
    events = pd.read_csv(path, sep="\t")
    events = events[events[label_column].notna()]
    return pd.DataFrame({"onset": events["onset"], "duration": events["duration"], "trial_type": events[label_column]})


# Discovery


def test_discovers_each_run_with_its_fmriprep_files(event_dataset, event_runs):
    assert list(event_runs.columns) == list(bids.RUNS_COLUMNS)
    assert list(event_runs["subject"]) == ["01"] * 3 + ["02"] * 3
    assert list(event_runs["run"]) == [1, 2, 3] * 2
    assert set(event_runs["session"]) == {""}
    assert (event_runs["t_r"] == 2.0).all()
    for record in event_runs.itertuples():
        stem = f"sub-{record.subject}_task-faces_run-{record.run}"
        func = event_dataset.derivatives / f"sub-{record.subject}" / "func"
        assert record.bold == str(func / f"{stem}_space-{synthetic_bids.SPACE}_desc-preproc_bold.nii.gz")
        assert record.mask == str(func / f"{stem}_space-{synthetic_bids.SPACE}_desc-brain_mask.nii.gz")
        assert record.confounds == str(func / f"{stem}_desc-confounds_timeseries.tsv")
        assert record.events == str(event_dataset.bids_dir / f"sub-{record.subject}" / "func" / f"{stem}_events.tsv")


def test_the_functional_mask_is_chosen_over_the_anatomical_one(event_dataset, event_runs, tmp_path):
    layout = bids.index(event_dataset.bids_dir, None, tmp_path / "pybids")
    query = {
        "scope": "derivatives",
        "subject": "01",
        "space": synthetic_bids.SPACE,
        "desc": "brain",
        "suffix": "mask",
        "extension": ".nii.gz",
    }
    # pybids' fact: without datatype, a brain-mask query finds the anatomical mask too.
    assert {f.entities["datatype"] for f in layout.get(**query)} == {"anat", "func"}
    assert all("/func/" in path for path in event_runs["mask"])
    anat = nib.load(layout.get(datatype="anat", **query)[0].path)
    assert not np.array_equal(nib.load(event_runs["mask"][0]).get_fdata(), anat.get_fdata())


def test_the_database_goes_to_the_given_folder_and_nothing_into_bids_dir(event_dataset, tmp_path):
    before = listing(event_dataset.bids_dir)
    discover(event_dataset, tmp_path)
    assert listing(event_dataset.bids_dir) == before
    database = tmp_path / "results" / "pybids"
    assert (database / "layout_index.sqlite").is_file()
    assert list(database.rglob("*/layout_index.sqlite"))  # the derivatives' own index


def test_the_database_is_rebuilt_not_reused(event_dataset, session_dataset, tmp_path):
    discover(event_dataset, tmp_path)
    # Given an existing database, pybids would take the root stored in it.
    assert set(discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives)["subject"]) == {"1", "2"}


def test_sibling_derivatives_sessions_and_unpadded_labels(session_dataset, tmp_path):
    runs = discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives)
    assert list(zip(runs["subject"], runs["session"], runs["run"])) == [
        (subject, session, run) for subject in ("1", "2") for session in ("01", "02") for run in (1, 2)
    ]
    assert all(path.startswith(str(session_dataset.derivatives)) for path in runs["bold"])
    assert all(f"/ses-{s}/func/" in path for s, path in zip(runs["session"], runs["mask"]))
    assert all(path.startswith(str(session_dataset.bids_dir)) for path in runs["events"])


def test_derivatives_default_to_the_nested_folder_only(session_dataset, tmp_path):
    message = error_message(discover, session_dataset, tmp_path)
    assert message == f"config key dataset.bids.derivatives: {session_dataset.bids_dir / 'derivatives'} is not a folder"


@pytest.mark.parametrize(
    "config, subjects",
    [
        ({"participant_label": ["sub-2"]}, ["2"]),
        ({"participant_label": "1"}, ["1"]),
        ({"participant_label": [1, "sub-2"]}, ["1", "2"]),
        ({"exclude_participant_label": ["sub-1"]}, ["2"]),
        ({"participant_label": ["1", "2"], "exclude_participant_label": "2"}, ["1"]),
    ],
)
def test_participant_labels_with_or_without_prefix(session_dataset, tmp_path, config, subjects):
    runs = discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives, **config)
    assert sorted(set(runs["subject"])) == subjects


@pytest.mark.parametrize(
    "config, sessions, runs",
    [
        ({"sessions": ["ses-02"]}, ["02"], [1, 2]),
        ({"runs": [2]}, ["01", "02"], [2]),
        ({"bids_filter_file": "filter.json"}, ["01"], [1, 2]),
    ],
)
def test_sessions_runs_and_the_bids_filter_file(session_dataset, tmp_path, config, sessions, runs):
    if "bids_filter_file" in config:
        # fMRIPrep's syntax: the "bold" entry's filters apply; the others name other files.
        (tmp_path / "filter.json").write_text(json.dumps({"bold": {"session": "01"}, "t1w": {"session": "02"}}))
        config = {"bids_filter_file": str(tmp_path / "filter.json")}
    found = discover(
        session_dataset, tmp_path, derivatives=session_dataset.derivatives, participant_label="1", **config
    )
    assert sorted(set(found["session"])) == sessions
    assert sorted(set(found["run"])) == runs


def test_res_selects_the_resolution(block_dataset, tmp_path):
    assert all("_res-2_" in path for path in discover(block_dataset, tmp_path, res=2)["bold"])
    assert "in space MNI152NLin2009cAsym res-1 " in error_message(discover, block_dataset, tmp_path, res="1")


def test_runs_table_round_trip(session_dataset, tmp_path):
    runs = discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives)
    bids.write_runs_table(tmp_path / "results" / "runs.tsv", runs)
    pd.testing.assert_frame_equal(bids.read_runs_table(tmp_path / "results" / "runs.tsv"), runs)


# Discovery errors


@pytest.fixture
def small_dataset(tmp_path):
    """A dataset to damage."""
    return synthetic_bids.write_dataset(tmp_path / "ds", n_runs=2, shape=(4, 4, 4), spaces=SPACES)


def test_no_bold_in_the_space_lists_the_spaces(event_dataset, tmp_path):
    message = error_message(discover, event_dataset, tmp_path, space="MNI152NLin6Asym")
    assert message == (
        f"{event_dataset.derivatives}: no desc-preproc bold for sub-01 task-faces in space "
        "MNI152NLin6Asym (config key dataset.bids.space); its spaces: MNI152NLin2009cAsym, T1w"
    )


def test_missing_events_name_the_bold(small_dataset, tmp_path):
    (small_dataset.bids_dir / "sub-01" / "func" / "sub-01_task-faces_run-2_events.tsv").unlink()
    bold = small_dataset.derivatives / "sub-01" / "func" / "sub-01_task-faces_run-2_space-T1w_desc-preproc_bold.nii.gz"
    message = error_message(discover, small_dataset, tmp_path, space="T1w")
    assert message == f"{bold}: no events file in the raw dataset {small_dataset.bids_dir}"


def test_missing_repetition_time_names_the_json(small_dataset, tmp_path):
    sidecar = (
        small_dataset.derivatives
        / "sub-01"
        / "func"
        / (f"sub-01_task-faces_run-1_space-{synthetic_bids.SPACE}_desc-preproc_bold.json")
    )
    sidecar.write_text(json.dumps({"TaskName": "faces"}))
    message = error_message(discover, small_dataset, tmp_path)
    assert message == f"{sidecar}: RepetitionTime is missing; it must be the repetition time in seconds (> 0)"


def test_unknown_participant_label(event_dataset, tmp_path):
    for key in ("participant_label", "exclude_participant_label"):
        message = error_message(discover, event_dataset, tmp_path, **{key: ["sub-03"]})
        assert message == (
            f"config key dataset.bids.{key}: no subject sub-03 in {event_dataset.bids_dir} (subjects: 01, 02)"
        )


def test_leave_one_run_out_needs_two_runs(session_dataset, tmp_path):
    runs = discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives, sessions="01", runs=1)
    message = error_message(bids.check_leave_one_run_out, runs)
    assert message == (
        f"config key searchlight.cv.method: leave_one_run_out needs two runs or more; sub-1 has one ({runs['bold'][0]})"
    )
    bids.check_leave_one_run_out(discover(session_dataset, tmp_path, derivatives=session_dataset.derivatives))


def test_a_missing_label_column_lists_the_columns(event_runs):
    message = error_message(glm.beta_series, event_runs[:1], {"label_column": "stim_type"})
    assert message == f"{event_runs['events'][0]}: no column 'stim_type' (columns: onset, duration, trial_type)"


def test_several_tasks_need_the_task_key(small_dataset, tmp_path):
    func = small_dataset.derivatives / "sub-01" / "func"
    for path in func.glob("*task-faces_run-1_*"):
        shutil.copy(path, func / path.name.replace("task-faces", "task-rest"))
    message = error_message(discover, small_dataset, tmp_path)
    assert message == "config key dataset.bids.task: not set, and the derivatives hold several tasks: faces, rest"
    assert set(discover(small_dataset, tmp_path, task="faces")["run"]) == {1, 2}
    message = error_message(discover, small_dataset, tmp_path, task="objects")
    assert message == (
        f"config key dataset.bids.task: no desc-preproc bold of task 'objects' in "
        f"{small_dataset.derivatives} (tasks: faces, rest)"
    )


def test_a_bad_onset_names_the_row(small_dataset):
    path = small_dataset.bids_dir / "sub-01" / "func" / "sub-01_task-faces_run-1_events.tsv"
    events = pd.read_csv(path, sep="\t", dtype=str)
    events.loc[2, "onset"] = "soon"
    events.to_csv(path, sep="\t", index=False)
    assert error_message(bids.read_events, path, "trial_type") == (
        f"{path} row 3, column onset: 'soon' is not a number of seconds ≥ 0"
    )


# GLM


def test_lss_beta_equals_nilearns_fit_of_the_trial(event_runs, lss):
    samples_img, table, mask_img, _ = lss
    sample = 15  # run 2's fourth trial
    record = event_runs.iloc[int(table["run"][sample]) - 1]
    events = modelled_events(record.events, "trial_type")
    row = int(table["event_rows"][sample])
    regressor = f"{table['label'][sample]}__{row:03d}"
    events.loc[row - 1, "trial_type"] = regressor  # nilearn's beta-series example
    expected = reference_beta(record, events, regressor, CONFOUNDS, intersect_masks(list(event_runs["mask"][:3])))
    beta = samples_img.get_fdata()[..., sample]
    assert np.allclose(beta, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # The scrubbing's sample mask makes a difference the comparison sees.
    unscrubbed = reference_beta(record, events, regressor, CONFOUNDS, mask_img, sample_mask=False)
    assert not np.allclose(beta, unscrubbed, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_samples_follow_the_generated_trials(event_dataset, lss):
    samples_img, table, mask_img, _ = lss
    truth = truth_samples(event_dataset, "01", "trial_type")
    assert list(table.columns) == list(glm.SAMPLES_COLUMNS)
    assert samples_img.shape == (*event_dataset.region.shape, len(truth)) and samples_img.get_data_dtype() == np.float32
    assert list(table["label"]) == list(truth["trial_type"])
    assert list(table["run"]) == list(truth["run"])
    assert list(table["onset"]) == list(truth["onset"])
    assert set(table["session"]) == {""} and list(table["bids_run"]) == list(truth["bids_run"])
    assert np.array_equal(np.asarray(mask_img.dataobj) > 0, nib.load(synthetic_mask(event_dataset)).get_fdata() > 0)


def synthetic_mask(dataset):
    return (
        dataset.derivatives
        / "sub-01"
        / "func"
        / (f"sub-01_task-faces_run-1_space-{synthetic_bids.SPACE}_desc-brain_mask.nii.gz")
    )


def test_na_events_are_dropped_before_the_fit(event_dataset, event_runs, lss):
    events = pd.read_csv(event_runs["events"][0], sep="\t")
    assert events["trial_type"].isna().sum() == 2  # pandas reads BIDS's n/a as missing
    assert set(lss[1]["label"]) == {"face", "house"}
    # Why: nilearn 0.14.1's fit cannot sort conditions that mix n/a (a float) and strings.
    with pytest.raises(TypeError, match="'<' not supported between instances of"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # about the n/a events' zero durations
        FirstLevelModel(t_r=2.0, mask_img=False).fit(event_runs["bold"][0], events[["onset", "duration", "trial_type"]])


def test_lsa_gives_one_beta_per_trial_from_one_glm(event_dataset, event_runs):
    runs = event_runs[event_runs["subject"] == "02"][:2]
    samples_img, table, mask_img, _ = glm.beta_series(runs, {"estimate": "lsa", "confounds": CONFOUNDS})
    truth = truth_samples(event_dataset, "02", "trial_type").query("run <= 2")
    assert samples_img.shape[3] == len(table) == len(truth)
    assert list(table["label"]) == list(truth["trial_type"]) and list(table["run"]) == list(truth["run"])
    record = runs.iloc[0]
    events = modelled_events(record.events, "trial_type")
    events["trial_type"] = [f"{label}__{index + 1:03d}" for index, label in events["trial_type"].items()]
    sample = 4
    regressor = f"{table['label'][sample]}__{int(table['event_rows'][sample]):03d}"
    expected = reference_beta(record, events, regressor, CONFOUNDS, mask_img)
    assert np.allclose(samples_img.get_fdata()[..., sample], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_condition_betas_and_the_stim_type_column(block_dataset, tmp_path):
    runs = discover(block_dataset, tmp_path)
    confounds = {"strategy": ["motion", "high_pass"]}
    options = {"hrf_model": "spm", "smoothing_fwhm": 6.0, "high_pass": 0.008}
    config = {"estimate": "condition", "label_column": "stim_type", "confounds": confounds, **options}
    samples_img, table, mask_img, _ = glm.beta_series(runs, config)
    assert list(table["label"]) == ["face", "house"] * 2 and list(table["run"]) == [1, 1, 2, 2]
    events = block_dataset.events[("01", "", 1)]
    assert table["event_rows"][0] == ",".join(str(i + 1) for i in np.flatnonzero(events["stim_type"] == "face"))
    assert table["onset"].isna().all()
    expected = reference_beta(
        runs.iloc[0], modelled_events(runs["events"][0], "stim_type"), "house", confounds, mask_img, **options
    )
    assert np.allclose(samples_img.get_fdata()[..., 1], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # trial_type holds no condition in this dataset: by it, events are stimuli or responses.
    assert set(glm.beta_series(runs, {**config, "label_column": "trial_type"})[1]["label"]) == {"response", "stimulus"}


@pytest.mark.parametrize("choice", [{"include": ["house"]}, {"exclude": ["face"]}])
def test_include_and_exclude_choose_the_labels(block_dataset, tmp_path, choice):
    runs = discover(block_dataset, tmp_path)
    config = {"estimate": "condition", "label_column": "stim_type", "confounds": {"strategy": []}, **choice}
    assert list(glm.beta_series(runs, config)[1]["label"]) == ["house", "house"]


def test_an_absent_included_label_is_an_error(block_dataset, tmp_path):
    runs = discover(block_dataset, tmp_path)
    message = error_message(glm.beta_series, runs, {"label_column": "stim_type", "include": ["car"]})
    assert message.startswith("config key samples.include: no event is labelled 'car' in column 'stim_type' of ")
    assert message.endswith(" (labels: face, house)")


def test_cosine_drift_drops_fmripreps_cosines(event_runs):
    bold = event_runs["bold"][0]
    strategy = {"strategy": ["motion", "high_pass"], "motion": "basic"}
    with_cosine_drift, _ = glm.run_confounds(bold, strategy, "cosine")
    without_drift, _ = glm.run_confounds(bold, strategy, None)
    assert list(with_cosine_drift.columns) == [c for c in without_drift.columns if not c.startswith("cosine")]
    assert any(c.startswith("cosine") for c in without_drift.columns)


@pytest.mark.parametrize("strategy", ["simple", "scrubbing", "compcor"])
def test_predefined_confound_strategies(event_runs, strategy):
    confounds, sample_mask = glm.run_confounds(event_runs["bold"][0], {"strategy": strategy}, "cosine")
    assert not any(c.startswith("cosine") for c in confounds.columns)
    assert any(c.startswith("a_comp_cor") for c in confounds.columns) == (strategy == "compcor")
    assert (sample_mask is not None) == (strategy == "scrubbing")


def test_confound_parameters_keep_the_default_strategy(event_runs):
    confounds, _ = glm.run_confounds(event_runs["bold"][0], {**glm.DEFAULTS["confounds"], "motion": "basic"}, None)
    assert {"trans_x", "csf", "cosine00"} <= set(confounds.columns) and "trans_x_power2" not in confounds.columns
    runs = event_runs[:1]
    basic = glm.beta_series(runs, {"estimate": "condition", "confounds": {"motion": "basic"}})[0].get_fdata()
    none = glm.beta_series(runs, {"estimate": "condition", "confounds": {"strategy": []}})[0].get_fdata()
    assert not np.allclose(basic, none)


def test_confound_and_estimate_errors(event_runs):
    message = error_message(glm.run_confounds, event_runs["bold"][0], {"strategy": ["motion", "wobble"]}, "cosine")
    assert message.startswith("config key samples.glm.confounds: ")
    assert message.endswith(f"(for {event_runs['bold'][0]})")
    message = error_message(glm.beta_series, event_runs[:1], {"estimate": "lsx"})
    assert message == "config key samples.glm.estimate: 'lsx' is not one of lss, lsa, condition"


def test_write_beta_series(event_runs, tmp_path):
    paths = [tmp_path / "results" / name for name in ("samples.nii.gz", "samples.tsv", "mask.nii.gz")]
    table = glm.write_beta_series(event_runs[:2], {"estimate": "condition"}, *paths)
    written = read_samples_table(paths[1])
    assert written["session"].isna().all()  # no sessions: empty cells
    pd.testing.assert_frame_equal(written.drop(columns="session"), table.drop(columns="session"), check_dtype=False)
    assert nib.load(paths[0]).shape == (*nib.load(paths[2]).shape, 4)
    assert not [name for name in os.listdir(tmp_path / "results") if ".tmp" in name]


def test_decoding_is_above_chance_in_the_planted_region_only(event_dataset, lss):
    samples_img, table, mask_img, _ = lss
    betas = samples_img.get_fdata()
    outside = (np.asarray(mask_img.dataobj) > 0) & ~event_dataset.region

    def accuracy(voxels):
        return cross_val_score(
            LinearSVC(), betas[voxels].T, table["label"], groups=table["run"], cv=LeaveOneGroupOut()
        ).mean()

    assert accuracy(event_dataset.region) >= 0.9
    assert abs(accuracy(outside) - 0.5) <= 0.2


def test_a_derivatives_folder_without_its_description_says_so(small_dataset, tmp_path):
    # pybids would fail with "'desc' is not a recognized entity", the cause in a warning.
    (small_dataset.derivatives / "dataset_description.json").unlink()
    message = error_message(discover, small_dataset, tmp_path)
    assert message == (
        f"config key dataset.bids.derivatives: {small_dataset.bids_dir / 'derivatives'} holds no "
        "dataset_description.json (nor does a folder in it); fMRIPrep writes one, which BIDS derivatives need: "
        'a JSON object with Name, BIDSVersion, DatasetType "derivative" and GeneratedBy [{"Name": "fMRIPrep"}]'
    )


def test_a_contrast_label_missing_from_the_events_is_refused_at_discovery(small_dataset, tmp_path):
    from snakelight.data.bids_samples import discover_runs

    runs_path = tmp_path / "runs.tsv"
    labelling = {"label_column": "trial_type", "include": None, "exclude": []}
    message = error_message(
        discover_runs,
        {"bids_dir": small_dataset.bids_dir, "space": "T1w"},
        labelling,
        {"face_vs_house": ["face", "House"]},
        tmp_path / "pybids",
        runs_path,
    )
    events = small_dataset.bids_dir / "sub-01" / "func" / "sub-01_task-faces_run-1_events.tsv"
    assert message == (
        f"config key contrasts.face_vs_house: unknown condition 'House'; sub-01 (column 'trial_type' of {events} "
        "and 1 other events file(s), less samples.exclude) has face, house"
    )
    assert not runs_path.exists()
