"""The classification measure's named outputs: several scorers from one pass, each equal
to scikit-learn's cross_val_score with that scorer (what nilearn's SearchLight runs), on
every engine, and the reductions equal to scikit-learn's metrics."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.decoding import SearchLight
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, recall_score
from sklearn.model_selection import KFold, LeaveOneGroupOut, cross_val_score

from snakelight.inference.permutations import read_permutations
from snakelight.io import read_json, read_samples_table
from snakelight.searchlight import measures
from snakelight.searchlight import scoring as scoring_module
from snakelight.searchlight.cross import cross_design
from snakelight.searchlight.cv import make_folds
from snakelight.searchlight.measures import Predictions, fold_starts
from snakelight.searchlight.outputs import PREDICTION_SCORERS, direction_file, folds_file, map_file
from snakelight.searchlight.scoring import make_estimator, score_outputs
from snakelight.workflow.config import ConfigError, validate_config
from tests.conftest import OUT, SCHEMA, TINY_CONFIG, check_signflip_t, job_counts, run_snakemake, write_config
from tests.test_engines import spheres_and_data
from tests.test_inference_workflow import with_inference

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def problem(face_house):
    return spheres_and_data(face_house)


def unbalanced(problem, keep_every=3):
    """The problem with two of every three 'house' samples dropped: unbalanced classes,
    where balanced accuracy and accuracy differ."""
    X, y, runs, spheres = problem
    keep = (y != "house") | (np.arange(len(y)) % keep_every == 0)
    return X[keep], y[keep], runs[keep], spheres


def three_classes(face_house, problem):
    X, _, runs, spheres = problem
    return X, np.where(np.arange(len(runs)) % 3 == 0, "chair", face_house["labels"]), runs, spheres


def reference(X, y, spheres, estimator, folds, scoring):
    return np.array(
        [cross_val_score(make_estimator(estimator), X[:, s], y, cv=folds, scoring=scoring) for s in spheres]
    )


def random_predictions(rng, n_spheres, fold_sizes, n_classes):
    truth = rng.integers(0, n_classes, sum(fold_sizes))
    predicted = rng.integers(0, n_classes, (n_spheres, truth.size))
    return Predictions(predicted, truth, np.concatenate([[0], np.cumsum(fold_sizes)]), n_classes)


@pytest.mark.parametrize(("fold_sizes", "n_classes"), [([8, 8, 8], 2), ([5, 9, 3, 7], 3), ([2, 6], 4)])
def test_reductions_equal_scikit_learn_metrics(fold_sizes, n_classes):
    """Per fold and sphere, bit for bit; with [2, 6] and 4 classes some fold's test samples
    lack a class, which balanced accuracy then leaves out, as scikit-learn does."""
    p = random_predictions(np.random.default_rng(0), 50, fold_sizes, n_classes)
    accuracy, balanced = measures.accuracy(p), measures.balanced_accuracy(p)
    confusion = measures.confusion(p).reshape(50, n_classes, n_classes)
    labels = np.arange(n_classes)
    for s in range(50):
        for f in range(len(fold_sizes)):
            part = slice(p.fold_start[f], p.fold_start[f + 1])
            truth, predicted = p.truth[part], p.predicted[s, part]
            assert accuracy[s, f] == accuracy_score(truth, predicted)
            with pytest.warns(UserWarning) if np.setdiff1d(predicted, truth).size else _nothing():
                assert balanced[s, f] == balanced_accuracy_score(truth, predicted)
        assert np.array_equal(confusion[s], confusion_matrix(p.truth, p.predicted[s], labels=labels))
    # Rows are the true classes: they sum to the test samples of each class.
    assert np.array_equal(confusion.sum(axis=2), np.tile(np.bincount(p.truth, minlength=n_classes), (50, 1)))
    assert not np.array_equal(accuracy, balanced)
    assert tuple(measures.REDUCTIONS)[: len(PREDICTION_SCORERS)] == PREDICTION_SCORERS


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
@pytest.mark.parametrize("cv", [KFold(4), LeaveOneGroupOut()])
def test_exact_svc_scores_several_scorers_as_cross_val_score(problem, design, cv):
    """The compiled LinearSVC's accuracy and balanced accuracy, from one fit per fold, each
    equal to cross_val_score with that scorer."""
    X, y, runs, spheres = problem if design == "balanced" else unbalanced(problem)
    spheres = spheres[::10]
    folds = make_folds(cv, X, y, runs)
    outputs = score_outputs(X, y, spheres, "svc", folds, engine="exact", scoring=["accuracy", "balanced_accuracy"])
    assert list(outputs) == ["accuracy", "balanced_accuracy"]
    for name, scores in outputs.items():
        assert np.array_equal(scores, reference(X, y, spheres, "svc", folds, name)), name
    assert np.array_equal(outputs["accuracy"], score_outputs(X, y, spheres, "svc", folds, engine="exact")["accuracy"])
    if design == "unbalanced":
        assert not np.array_equal(outputs["accuracy"], outputs["balanced_accuracy"])


@pytest.mark.parametrize(
    ("estimator", "scoring"),
    [
        ("logistic", ["balanced_accuracy", "roc_auc", None, "f1_macro"]),
        ("ridge_classifier", ["accuracy", "balanced_accuracy", "matthews_corrcoef"]),
        ("svc_l1", ["balanced_accuracy", "accuracy"]),
    ],
)
def test_exact_engine_scores_any_scorers_as_cross_val_score(problem, estimator, scoring):
    X, y, runs, spheres = unbalanced(problem)
    spheres = spheres[:: 20 if estimator == "ridge_classifier" else 100]  # liblinear and LogisticRegressionCV: slow
    folds = make_folds(LeaveOneGroupOut(), X, y, runs)
    outputs = score_outputs(X, y, spheres, estimator, folds, engine="exact", scoring=scoring)
    assert list(outputs) == ["accuracy" if s is None else s for s in scoring]
    for scorer, scores in zip(scoring, outputs.values()):
        assert np.array_equal(scores, reference(X, y, spheres, estimator, folds, scorer)), scorer


@pytest.mark.parametrize("design", ["unbalanced", "three classes"])
@pytest.mark.parametrize("estimator", ["gnb", "lda", "svc"])
def test_fast_engine_scores_balanced_accuracy(face_house, problem, estimator, design):
    """The fast engine's accuracy and balanced accuracy: equal to scikit-learn's scorers on
    its own predictions (accuracy equal to its accuracy-only pass), and for gnb and lda to
    cross_val_score of their scikit-learn counterparts."""
    if design == "three classes" and estimator == "svc":
        pytest.skip("the fast svc fits two classes")
    X, y, runs, spheres = unbalanced(problem) if design == "unbalanced" else three_classes(face_house, problem)
    spheres = spheres[::10]
    X = X.astype(np.float64)  # the fast engine computes in float64 (tests/test_engines.py)
    folds = make_folds(KFold(4), X, y, runs)
    scoring = ["balanced_accuracy", "accuracy"]
    outputs = score_outputs(X, y, spheres, estimator, folds, engine="fast", scoring=scoring)
    accuracy = score_outputs(X, y, spheres, estimator, folds, engine="fast")["accuracy"]
    assert np.array_equal(outputs["accuracy"], accuracy)
    if estimator != "svc":
        for name in scoring:
            assert np.array_equal(outputs[name], reference(X, y, spheres, estimator, folds, name)), name
    assert not np.array_equal(outputs["accuracy"], outputs["balanced_accuracy"])


def test_fast_svc_predictions_keep_the_folds_order(problem, monkeypatch):
    """Spheres past FAST_SVC_MAX_VOXELS go to liblinear: both parts predict the same test
    samples in the same order, so that the reductions read one array."""
    X, y, runs, spheres = unbalanced(problem)
    spheres = spheres[:40]
    folds = make_folds(LeaveOneGroupOut(), X, y, runs)
    monkeypatch.setattr(scoring_module, "FAST_SVC_MAX_VOXELS", int(np.median([len(sphere) for sphere in spheres])))
    outputs = score_outputs(X, y, spheres, "svc", folds, engine="fast", scoring=["balanced_accuracy"])
    large = [i for i, sphere in enumerate(spheres) if len(sphere) > scoring_module.FAST_SVC_MAX_VOXELS]
    assert 0 < len(large) < len(spheres)
    exact = score_outputs(X, y, [spheres[i] for i in large], "svc", folds, engine="exact", scoring="balanced_accuracy")
    assert np.array_equal(outputs["balanced_accuracy"][large], exact["balanced_accuracy"])
    assert fold_starts(folds)[-1] == len(y)


@pytest.mark.parametrize(("estimator", "engine"), [("svc", "auto"), ("ridge_classifier", "exact"), ("gnb", "fast")])
def test_searchlight_api_gives_each_scorers_map(face_house, estimator, engine):
    """snakelight.SearchLight with a list of scorers: scores_ is the first's, nilearn's bit
    for bit (gnb: scikit-learn's GaussianNB through nilearn's SearchLight), and outputs_
    holds each, equal to nilearn's SearchLight run with that scorer."""
    from nilearn.decoding import SearchLight as NilearnSearchLight
    from sklearn.naive_bayes import GaussianNB

    from snakelight import SearchLight as OurSearchLight

    mask = face_house["mask"]
    keep = (face_house["labels"] != "house") | (np.arange(len(face_house["labels"])) % 3 == 0)
    imgs = nib.Nifti1Image(np.asarray(face_house["imgs"].dataobj)[..., keep].astype(np.float64), mask.affine)
    y = face_house["labels"][keep]
    process = nib.Nifti1Image(
        (np.arange(np.prod(mask.shape)).reshape(mask.shape) % 7 == 0) * np.asarray(mask.dataobj), mask.affine
    )
    scoring = ["balanced_accuracy", "accuracy"]
    ours = OurSearchLight(
        mask, process_mask_img=process, radius=5.6, estimator=estimator, scoring=scoring, cv=KFold(4), engine=engine
    )
    ours.fit(imgs, y)
    assert list(ours.outputs_) == scoring and ours.scores_ is ours.outputs_["balanced_accuracy"]
    for name in scoring:
        theirs = NilearnSearchLight(
            mask,
            process_mask_img=process,
            radius=5.6,
            estimator=GaussianNB() if estimator == "gnb" else estimator,
            scoring=name,
            cv=KFold(4),
        )
        assert np.array_equal(ours.outputs_[name], theirs.fit(imgs, y).scores_), name
        assert np.array_equal(ours.fold_outputs_[name].mean(axis=3), ours.outputs_[name])
    assert not np.array_equal(ours.outputs_["accuracy"], ours.outputs_["balanced_accuracy"])


@pytest.mark.parametrize(
    ("estimator", "engine", "design"),
    [("svc", "exact", "unbalanced"), ("logistic", "exact", "unbalanced"), ("gnb", "fast", "three classes")],
)
def test_confusion_matrices_are_scikit_learns_summed_over_folds(face_house, problem, estimator, engine, design):
    """Rows the true class, columns the predicted one, classes as np.unique sorts them:
    scikit-learn's confusion_matrix of each fold's fit, summed; rows sum to the test counts."""
    X, y, runs, spheres = unbalanced(problem) if design == "unbalanced" else three_classes(face_house, problem)
    X, spheres = X.astype(np.float64), spheres[::25]
    folds = make_folds(LeaveOneGroupOut(), X, y, runs)
    outputs = score_outputs(X, y, spheres, estimator, folds, engine=engine, scoring="accuracy", confusion=True)
    classes = np.unique(y)
    C = classes.size
    confusion = outputs["confusion"].reshape(len(spheres), C, C)
    assert np.array_equal(
        confusion.sum(axis=2), np.tile([np.count_nonzero(y == c) for c in classes], (len(spheres), 1))
    )
    recall = measures.recall(outputs["confusion"])
    for s, sphere in enumerate(spheres):
        expected, truth, predicted = np.zeros((C, C), dtype=int), [], []
        for train, test in folds:
            model = make_estimator(estimator).fit(X[train][:, sphere], y[train])
            predicted.append(model.predict(X[test][:, sphere]))
            truth.append(y[test])
            expected += confusion_matrix(truth[-1], predicted[-1], labels=classes)
        assert np.array_equal(confusion[s], expected), s
        expected_recall = recall_score(np.concatenate(truth), np.concatenate(predicted), labels=classes, average=None)
        assert np.allclose(recall[s], expected_recall)
    # The accuracy over all test samples: the diagonal.
    sizes = np.array([len(test) for _, test in folds])
    overall = outputs["accuracy"] @ sizes / sizes.sum()
    assert np.allclose(np.trace(confusion, axis1=1, axis2=2) / len(y), overall)


@pytest.mark.parametrize("estimator", ["ridge", "svr"])
def test_regression_scorers_equal_nilearns_searchlight_with_a_regressor(face_house, estimator):
    """A continuous target: nilearn's regressors with several regression scorers (and
    snakelight's pearson_r) in one pass, each map equal to nilearn's SearchLight's."""
    from nilearn.decoding import SearchLight as NilearnSearchLight
    from sklearn.metrics import make_scorer

    from snakelight import SearchLight as OurSearchLight
    from snakelight.searchlight.engines.exact import pearson_r

    mask, imgs = face_house["mask"], face_house["imgs"]
    y = (np.arange(imgs.shape[3]) % 9).astype(np.float64)  # e.g. a rating per volume
    process = nib.Nifti1Image(
        (np.arange(np.prod(mask.shape)).reshape(mask.shape) % 9 == 0) * np.asarray(mask.dataobj), mask.affine
    )
    scoring = ["r2", "neg_mean_squared_error", "pearson_r"]
    settings = {"process_mask_img": process, "radius": 5.6, "estimator": estimator, "cv": KFold(4)}
    ours = OurSearchLight(mask, scoring=scoring, **settings).fit(imgs, y)
    assert list(ours.outputs_) == scoring
    for name in scoring:
        theirs = NilearnSearchLight(mask, scoring=make_scorer(pearson_r) if name == "pearson_r" else name, **settings)
        assert np.array_equal(ours.outputs_[name], theirs.fit(imgs, y).scores_), name
    assert np.unique(ours.outputs_["pearson_r"]).size > 5


def test_pearson_r_is_scipys():
    from scipy.stats import pearsonr

    from snakelight.searchlight.engines.exact import pearson_r

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(20), rng.standard_normal(20)
    assert pearson_r(a, b) == pytest.approx(pearsonr(a, b)[0], abs=1e-12)
    assert pearson_r(a, np.ones(20)) == 0.0


FH = {"face_vs_house": ["face", "house"]}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"searchlight": {"scoring": ["accuracy", "r2"]}},
            "searchlight.scoring: 'r2' scores a regression; a searchlight classifies conditions (contrast "
            "'face_vs_house')",
        ),
        (
            {"searchlight": {"scoring": ["accuracy", "accuracy"]}},
            "searchlight.scoring: ['accuracy', 'accuracy'] has non-unique elements",
        ),
        ({"searchlight": {"scoring": []}}, "searchlight.scoring: [] should be non-empty"),
        (
            {"searchlight": {"estimator": "gnb", "scoring": ["balanced_accuracy", "f1_macro"]}},
            "searchlight.scoring: engine 'fast' scores accuracy and balanced_accuracy only, not 'f1_macro' (engine "
            "auto's choice for 'gnb'); set searchlight.engine: exact",
        ),
        (
            {"searchlight": {"scoring": ["accuracy", "balanced_accuracy"]}, "inference": {"output": "roc_auc"}},
            "inference.output: 'roc_auc' is not an output of searchlight.scoring (it has accuracy, balanced_accuracy)",
        ),
        (
            {
                "searchlight": {"scoring": ["accuracy", "matthews_corrcoef"]},
                "inference": {"permutations": 100, "output": "matthews_corrcoef"},
            },
            "inference.output: permutation inference measures scores above chance, and 'matthews_corrcoef' has no "
            "known chance level (use accuracy, balanced_accuracy or roc_auc)",
        ),
    ],
)
def test_bad_outputs_are_refused_when_the_config_is_read(config, expected):
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": FH, **config}, SCHEMA)
    assert str(error.value) == f"config key {expected}"


X4 = {"x": ["face", "house", "cat", "chair"]}


@pytest.mark.parametrize(
    ("cross", "inference", "expected"),
    [
        (
            {"y": {"test": {"cat": "face", "chair": "house"}}},
            {},
            "cross_classification.y: no contrast 'y' (contrasts: x)",
        ),
        (
            {"x": {"test": {"dog": "face", "chair": "house"}}},
            {},
            "cross_classification.x.test: 'dog' is not a condition of the contrast (face, house, cat, chair)",
        ),
        (
            {"x": {"test": {"cat": "face", "face": "house"}}},
            {},
            "cross_classification.x.test: 'face' both tests and trains",
        ),
        (
            {"x": {"test": {"cat": "face", "chair": "face"}}},
            {},
            "cross_classification.x.test: the test conditions stand for one training condition; map them onto two or "
            "more",
        ),
        (
            {"x": {"test": {"cat": "face", "chair": "house"}, "split": {"column": "run", "train": 1, "test": "1"}}},
            {},
            "cross_classification.x.split: train and test are both 1; give two values of the column",
        ),
    ],
)
def test_bad_cross_classifications_are_refused_when_the_config_is_read(cross, inference, expected):
    with pytest.raises(ConfigError) as error:
        validate_config({"contrasts": X4, "cross_classification": cross, "inference": inference}, SCHEMA)
    assert str(error.value) == f"config key {expected}"


def test_a_cross_classifications_classes_are_its_training_conditions():
    """The fast svc fits two classes: a four-condition contrast cross-classifying two is accepted."""
    config = validate_config(
        {
            "contrasts": X4,
            "cross_classification": {"x": {"test": {"cat": "face", "chair": "house"}}},
            "searchlight": {"engine": "fast", "estimator": "svc"},
        },
        SCHEMA,
    )
    assert config["cross_classification"]["x"]["directions"] == "both"


def test_several_scorers_and_an_inference_output_are_accepted():
    config = validate_config(
        {
            "contrasts": FH,
            "searchlight": {"scoring": ["balanced_accuracy", "roc_auc"], "confusion": True},
            "inference": {"permutations": 100, "output": "roc_auc"},
        },
        SCHEMA,
    )
    assert config["inference"]["output"] == "roc_auc" and config["searchlight"]["confusion"] is True


# The workflow: several scorers' maps, and inference on a non-default output.

SCORERS = ["accuracy", "balanced_accuracy"]
INFERENCE = {"permutations": 10, "permutations_per_job": 5, "alpha": 0.1, "cluster_threshold": 0.1}


@pytest.fixture(scope="module")
def several(tmp_path_factory):
    """The tiny config (6 runs) with two scorers and confusion matrices, inference on the second."""
    workdir = tmp_path_factory.mktemp("measures")
    config = with_inference({**INFERENCE, "output": "balanced_accuracy"}, scoring=SCORERS, confusion=True)
    result = run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    counts = job_counts(result.stdout)
    assert (counts["searchlight_chunk"], counts["merge"], counts["null_chunk"]) == (3, 1, 6)
    return workdir


def nilearn_map(workdir, labels, scoring, subject="sub-02"):
    """nilearn's SearchLight map of ``subject``'s face_vs_house samples in ``workdir``."""
    folder = workdir / "results/config" / subject
    searchlight = SearchLight(
        read_json(folder / "dataset.json")["mask"],
        process_mask_img=nib.load(folder / "process_mask.nii.gz"),
        radius=5.6,
        cv=KFold(4),
        scoring=scoring,
    )
    return searchlight.fit(str(folder / "face_vs_house" / "samples.nii.gz"), labels).scores_


@pytest.mark.workflow
def test_workflow_writes_each_scorers_map_as_nilearn(several):
    out = several / OUT
    labels = read_samples_table(out / "samples.tsv")["label"].to_numpy()
    maps = {name: nib.load(out / map_file(name, SCORERS)).get_fdata() for name in SCORERS}
    assert map_file("accuracy", SCORERS) == "searchlight.nii.gz"  # today's path for the first
    for name, data in maps.items():
        assert np.array_equal(data, nilearn_map(several, labels, name)), name
        folds = nib.load(out / folds_file(name, SCORERS)).get_fdata()
        assert folds.shape == (12, 14, 12, 4) and np.array_equal(folds.mean(axis=3), data)
        assert read_json(out / map_file(name, SCORERS).replace(".nii.gz", ".json"))["cross_validation"]
    assert not np.array_equal(maps["accuracy"], maps["balanced_accuracy"])


@pytest.mark.workflow
def test_inference_tests_the_output_it_is_asked_for(several):
    """inference.output: balanced_accuracy: the null maps are nilearn's balanced accuracy on
    the permuted labels, and the statistics read that output's map."""
    out = several / OUT
    table = read_samples_table(out / "samples.tsv")
    permuted = read_permutations(out / "permutations.tsv", table["label"], table["run"])
    null = nib.load(out / "searchlight_null.nii.gz").get_fdata()
    assert np.array_equal(null[..., 0], nilearn_map(several, permuted[:, 0], "balanced_accuracy"))
    assert read_json(out / "searchlight_logp.json")["inputs"]["searchlight"]["path"].endswith(
        "searchlight_balanced_accuracy.nii.gz"
    )


@pytest.mark.workflow
def test_workflow_writes_confusion_matrices_and_recall(several):
    out = several / OUT
    table = read_samples_table(out / "samples.tsv")
    process = np.asarray(nib.load(several / "results/config/sub-02/process_mask.nii.gz").dataobj) != 0
    confusion = nib.load(out / "searchlight_confusion.nii.gz").get_fdata()[process].reshape(-1, 2, 2)
    recall = nib.load(out / "searchlight_recall.nii.gz").get_fdata()[process]
    assert read_json(out / "searchlight_confusion.json")["conditions"] == ["face", "house"]
    # Each row sums to the condition's samples: every sample is tested once.
    counts = [np.count_nonzero(table["label"] == name) for name in ("face", "house")]
    assert np.array_equal(confusion.sum(axis=2), np.tile(counts, (process.sum(), 1)))
    assert np.array_equal(recall, np.diagonal(confusion, axis1=1, axis2=2) / counts)
    accuracy = nib.load(out / "searchlight.nii.gz").get_fdata()[process]
    assert np.allclose(np.trace(confusion, axis1=1, axis2=2) / len(table), accuracy)  # KFold(4) of equal folds
    # The report's cluster page shows the first cluster's peak sphere's confusion matrix.
    html = (out / "clusters.html").read_text()
    peak = pd.read_csv(out / "clusters.tsv", sep="\t").iloc[0]
    assert "Confusion matrix of cluster 1" in html
    ijk = np.rint(np.linalg.solve(nib.load(out / "searchlight.nii.gz").affine, [peak.x_mm, peak.y_mm, peak.z_mm, 1]))
    counts = nib.load(out / "searchlight_confusion.nii.gz").get_fdata()[tuple(ijk[:3].astype(int))].astype(int)
    assert f"<td>{counts[0]}</td>\n      <td>{counts[1]}</td>" in html


@pytest.mark.workflow
def test_bids_source_writes_each_scorers_map_and_the_first_as_the_statmap(tmp_path):
    """The bids source with two scorers: one map each; the BIDS derivative is the first's
    (stat-balancedAccuracy)."""
    from snakelight.data import synthetic_bids
    from tests.test_bids_workflow import SHAPE, bids_config, run_bids

    dataset = synthetic_bids.write_dataset(tmp_path / "ds", design="block", shape=SHAPE, n_runs=3)
    config = bids_config(dataset)
    config["searchlight"]["scoring"] = ["balanced_accuracy", "accuracy"]
    run_bids(tmp_path, config)
    (contrast,) = (tmp_path / "results/config").glob("sub-*/face_vs_house")
    (statmap,) = (tmp_path / "results/config/snakelight").glob("sub-*/func/*stat-balancedAccuracy_statmap.nii.gz")
    primary = nib.load(contrast / "searchlight.nii.gz").get_fdata()
    assert np.array_equal(nib.load(statmap).get_fdata(), primary)
    assert read_json(Path(str(statmap).replace(".nii.gz", ".json")))["Scoring"] == "balanced_accuracy"
    accuracy = nib.load(contrast / "searchlight_accuracy.nii.gz").get_fdata()
    assert accuracy.shape == primary.shape and accuracy.any()


@pytest.mark.workflow
def test_workflow_cross_classifies_as_nilearn_on_the_designs_folds(tmp_path):
    """A contrast of four conditions trained on face/house and tested on cat/chair mapped to
    them, both directions: the map equals nilearn's SearchLight on the design's targets and
    folds; its chance is 1/2 and the sidecar records the folds."""
    config = {
        **TINY_CONFIG,
        "contrasts": {"x": ["face", "house", "cat", "chair"]},
        "cross_classification": {"x": {"test": {"cat": "face", "chair": "house"}}},
        "searchlight": {**TINY_CONFIG["searchlight"], "scoring": ["accuracy", "balanced_accuracy"]},
    }
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    out = tmp_path / "results/config/sub-02/x"
    table = read_samples_table(out / "samples.tsv")
    design = cross_design(table["label"], table["run"], {"cat": "face", "chair": "house"}, directions="both")
    for name in SCORERS:
        searchlight = SearchLight(
            read_json(tmp_path / "results/config/sub-02/dataset.json")["mask"],
            process_mask_img=nib.load(tmp_path / "results/config/sub-02/process_mask.nii.gz"),
            radius=5.6,
            cv=design.folds,
            scoring=name,
        )
        expected = searchlight.fit(str(out / "samples.nii.gz"), design.targets).scores_
        assert np.array_equal(nib.load(out / map_file(name, SCORERS)).get_fdata(), expected), name
    record = read_json(out / "searchlight.json")["cross_validation"]
    assert record["method"] == "cross_classification" and record["n_splits"] == len(design.folds) == 8


@pytest.mark.workflow
def test_workflow_permutes_a_cross_classifications_training_and_test_sets_apart(tmp_path):
    """Inference on a cross-classification: permutations.tsv holds the targets, each set's
    permuted among themselves within runs; the first null map is nilearn's SearchLight on
    those targets and the design's folds; the statistics run."""
    mapping = {"cat": "face", "chair": "house"}
    config = {
        **TINY_CONFIG,
        "contrasts": {"x": ["face", "house", "cat", "chair"]},
        "cross_classification": {"x": {"test": mapping}},
        "inference": INFERENCE,
    }
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    out = tmp_path / "results/config/sub-02/x"
    table = read_samples_table(out / "samples.tsv")
    design = cross_design(table["label"], table["run"], mapping, directions="both")
    permuted = read_permutations(out / "permutations.tsv", design.targets, table["run"])
    sets = np.isin(table["label"], list(mapping))
    for run in np.unique(table["run"]):
        for in_set in (sets, ~sets):
            rows = in_set & (table["run"] == run).to_numpy()
            assert all(sorted(column) == sorted(design.targets[rows]) for column in permuted[rows].T)
    assert any(np.any(column != design.targets) for column in permuted.T)
    searchlight = SearchLight(
        read_json(tmp_path / "results/config/sub-02/dataset.json")["mask"],
        process_mask_img=nib.load(tmp_path / "results/config/sub-02/process_mask.nii.gz"),
        radius=5.6,
        cv=design.folds,
    )
    expected = searchlight.fit(str(out / "samples.nii.gz"), permuted[:, 0]).scores_
    assert np.array_equal(nib.load(out / "searchlight_null.nii.gz").get_fdata()[..., 0], expected)
    assert (out / "searchlight_logp_fwe.nii.gz").is_file()


@pytest.mark.workflow
def test_a_cross_classification_runs_through_every_group_method(tmp_path):
    """Five subjects' cross-classifications (6 runs), each with its null maps, then
    Stelzer, prevalence and sign-flip over them in one command: every method reads the
    five subjects' cross-classification maps."""
    config = {
        **TINY_CONFIG,
        "subjects": [1, 2, 3, 4, 5],
        "dataset": {"source": "synthetic", "synthetic": {**TINY_CONFIG["dataset"]["synthetic"], "n_runs": 6}},
        "contrasts": {"x": ["face", "house", "cat", "chair"]},
        "cross_classification": {"x": {"test": {"cat": "face", "chair": "house"}}},
        "searchlight": {**TINY_CONFIG["searchlight"], "estimator": "gnb", "n_chunks": 1},
        "inference": {"permutations": 19, "permutations_per_job": 19, "cluster_threshold": 0.05},
        "group": {
            "methods": ["stelzer", "prevalence", "signflip"],
            "stelzer": {"bootstraps": 1000, "p_voxel": 0.01},
            "prevalence": {"permutations": 2000},
            "signflip": {"n_perm": 100},
        },
    }
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    counts = job_counts(result.stdout)
    assert counts["merge_null"] == 5
    assert all(counts[f"group_{method}"] == 1 for method in config["group"]["methods"])
    group = tmp_path / "results/config/group/x"
    for method in config["group"]["methods"]:
        sidecar = read_json(next((group / method).glob("*.json")))
        assert sidecar["config"]["subjects"] == ["01", "02", "03", "04", "05"], method
        assert (group / method / "group.png").is_file()
    # The sign-flip's t map is the five cross-classification maps' one-sample t (chance 0.5).
    searched = nib.load(tmp_path / "results/config/sub-01/process_mask.nii.gz").get_fdata() > 0
    maps = [tmp_path / f"results/config/sub-0{s}/x/searchlight.nii.gz" for s in range(1, 6)]
    check_signflip_t(group, maps, searched, 0.5)


@pytest.mark.workflow
def test_workflow_splits_by_a_column_keeps_each_direction_of_each_scorer_and_permutes_each_part(tmp_path):
    """split: train on run 0's face/house, test on run 1's cat/chair (and the reverse), no
    CV, two scorers, inference on; directions: each writes each scorer's map of each
    direction: each equals nilearn's SearchLight with that scorer on that direction's one
    fold, and the primary map nilearn's on both. The permutations move the targets within
    each part of the split and condition set apart, the samples in neither part stay, and
    permutations.json's count is a brute-force count of the distinct relabellings."""
    mapping = {"cat": "face", "chair": "house"}
    cross = {"test": mapping, "directions": "each", "split": {"column": "run", "train": 0, "test": 1}}
    config = {
        **TINY_CONFIG,
        "contrasts": {"x": ["face", "house", "cat", "chair"]},
        "cross_classification": {"x": cross},
        "searchlight": {**TINY_CONFIG["searchlight"], "scoring": SCORERS},
        # Runs 0 and 1, one block per condition in each: 2^4 relabellings, 8 modulo the
        # renaming, so all 7 null maps (p >= 1/8).
        "inference": {**INFERENCE, "alpha": 0.25, "cluster_threshold": 0.25},
    }
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    out = tmp_path / "results/config/sub-02/x"
    table = read_samples_table(out / "samples.tsv")
    design = cross_design(table["label"], table["run"], mapping, split=(table["run"].to_numpy(), 0, 1))
    assert len(design.folds) == 2 and design.reverse.tolist() == [False, True]

    def nilearn(folds, scoring, targets=design.targets):
        searchlight = SearchLight(
            read_json(tmp_path / "results/config/sub-02/dataset.json")["mask"],
            process_mask_img=nib.load(tmp_path / "results/config/sub-02/process_mask.nii.gz"),
            radius=5.6,
            cv=folds,
            scoring=scoring,
        )
        return searchlight.fit(str(out / "samples.nii.gz"), targets).scores_

    assert np.array_equal(nib.load(out / "searchlight.nii.gz").get_fdata(), nilearn(design.folds, "accuracy"))
    for name in SCORERS:
        for direction, fold in (("forward", design.folds[0]), ("reverse", design.folds[1])):
            path = out / direction_file(name, direction, SCORERS)
            assert np.allclose(nib.load(path).get_fdata(), nilearn([fold], name)), (name, direction)
            sidecar = read_json(Path(str(path).replace(".nii.gz", ".json")))
            assert (sidecar["output"], sidecar["direction"], sidecar["folds"]) == (name, direction, 1)
    assert read_json(out / "searchlight.json")["cross_validation"]["n_splits"] == 2
    # Inference: each part of the split (run 0, run 1) and condition set permuted apart.
    permuted = read_permutations(out / "permutations.tsv", design.targets, table["run"])
    runs, tested = table["run"].to_numpy(), np.isin(table["label"], list(mapping))
    used = np.isin(runs, [0, 1])
    groups = [used & (runs == run) & (tested == in_set) for run in (0, 1) for in_set in (False, True)]
    for rows in groups:
        assert all(sorted(column) == sorted(design.targets[rows]) for column in permuted[rows].T)
    assert np.all(permuted[~used] == design.targets[~used, None])  # in no fold: never moved
    assert all(np.any(column[used] != design.targets[used]) for column in permuted.T)
    facts = read_json(out / "permutations.json")
    assert facts["distinct_null_maps"] == brute_force_distinct(design.targets, groups, table["volume"].to_numpy()) == 8
    assert facts["enumerated"]
    assert permuted.shape[1] == facts["null_maps"] == nib.load(out / "searchlight_null.nii.gz").shape[3]
    null = nilearn(design.folds, "accuracy", permuted[:, 0])
    assert np.array_equal(nib.load(out / "searchlight_null.nii.gz").get_fdata()[..., 0], null)


def brute_force_distinct(targets, groups, volumes):
    """Distinct null maps of a block design: every arrangement of each group's blocks (the
    consecutive volumes of one target), listed, restricted to the groups' samples, a vector
    and its face <-> house renaming counted once."""
    import itertools

    arrangements = []
    for rows in groups:
        index = np.flatnonzero(rows)
        starts = np.r_[True, (targets[index][1:] != targets[index][:-1]) | (np.diff(volumes[index]) != 1)]
        blocks = np.split(index, np.flatnonzero(starts)[1:])
        options = set()
        for order in itertools.permutations(range(len(blocks))):
            if all(len(blocks[a]) == len(blocks[b]) for a, b in zip(order, range(len(blocks)))):
                options.add(tuple(t for k in order for t in targets[blocks[k]]))
        arrangements.append(sorted(options))
    swap = {"face": "house", "house": "face"}
    seen = set()
    for combination in itertools.product(*arrangements):
        vector = tuple(t for part in combination for t in part)
        if tuple(swap[t] for t in vector) not in seen:
            seen.add(vector)
    return len(seen)


@pytest.mark.workflow
def test_haxby_source_writes_each_scorers_map_as_nilearn(haxby_dir, tmp_path):
    """The haxby source reading a dataset laid out as nilearn's fetch_haxby leaves it
    (conftest's generated subject 2; nothing downloaded) with two scorers: each map equals
    nilearn's SearchLight with that scorer. Only the maps are asked for."""
    config = {
        **TINY_CONFIG,
        "dataset": {"source": "haxby", "data_dir": str(haxby_dir.parent)},
        "searchlight": {**TINY_CONFIG["searchlight"], "scoring": SCORERS, "n_chunks": 1},
    }
    maps = [f"{OUT}/{map_file(name, SCORERS)}" for name in SCORERS]
    run_snakemake(tmp_path, *maps, "--cores", "2", "--configfile", write_config(tmp_path, config))
    out = tmp_path / OUT
    assert read_json(tmp_path / "results/config/sub-02/dataset.json")["source"] == "haxby"
    labels = read_samples_table(out / "samples.tsv")["label"].to_numpy()
    for name, path in zip(SCORERS, maps):
        assert np.array_equal(nib.load(tmp_path / path).get_fdata(), nilearn_map(tmp_path, labels, name)), name
    accuracy, balanced = (nib.load(tmp_path / path).get_fdata() for path in maps)
    assert not np.array_equal(accuracy, balanced)  # KFold's test folds are unbalanced


@pytest.mark.workflow
def test_table_source_writes_each_scorers_map_as_nilearn(tmp_path):
    """The table source (a BIDS-like study of one subject) with two scorers: each map equals
    nilearn's SearchLight with that scorer."""
    from tests.test_own_data import table_config, write_bids_like

    table, _ = write_bids_like(tmp_path / "study", subjects=(1,))
    config = table_config(table)
    config["searchlight"] = {**config["searchlight"], "scoring": SCORERS}
    run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    out = tmp_path / "results/config/sub-01/face_vs_house"
    labels = read_samples_table(out / "samples.tsv")["label"].to_numpy()
    for name in SCORERS:
        expected = nilearn_map(tmp_path, labels, name, subject="sub-01")
        assert np.array_equal(nib.load(out / map_file(name, SCORERS)).get_fdata(), expected), name
