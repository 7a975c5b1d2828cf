"""Cross-classification (snakelight.searchlight.cross): the engines on its design equal a
hand-written loop of scikit-learn fits on the mapped labels, and a planted region whose
pattern code generalises across conditions is found, another that decodes only within
conditions is not."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from snakelight.searchlight.cross import by_direction, cross_design
from snakelight.searchlight.scoring import make_estimator, score_outputs

MAPPING = {"cat": "face", "chair": "house"}
CONDITIONS = ["face", "house", "cat", "chair"]


def planted(n_runs=6, per_condition=6, seed=0):
    """Samples (n, 20) of four conditions: voxels 0-9 code face/cat alike and house/chair
    alike (it generalises), voxels 10-19 code each condition by its own pattern (face vs
    house and cat vs chair decode, across does not)."""
    rng = np.random.default_rng(seed)
    shared = {"face": rng.standard_normal(10), "house": rng.standard_normal(10)}
    shared.update(cat=shared["face"], chair=shared["house"])
    own = {name: rng.standard_normal(10) for name in CONDITIONS}
    labels = np.tile(np.repeat(CONDITIONS, per_condition), n_runs)
    runs = np.repeat(np.arange(n_runs), len(CONDITIONS) * per_condition)
    X = np.stack([np.concatenate([shared[label], own[label]]) for label in labels])
    return X + rng.standard_normal(X.shape), labels, runs


def hand_written(X, labels, runs, sphere, estimator, directions):
    """Per fold: fit on the training set's samples of the other runs, predict the test
    set's of the left-out run, against the conditions they map to."""
    mapped = np.array([MAPPING.get(label, label) for label in labels])
    sets = [np.isin(labels, ["face", "house"]), np.isin(labels, ["cat", "chair"])]
    scores = []
    for train_set, test_set in [(0, 1), (1, 0)][: 2 if directions == "both" else 1]:
        for run in np.unique(runs):
            train = sets[train_set] & (runs != run)
            test = sets[test_set] & (runs == run)
            model = make_estimator(estimator).fit(X[train][:, sphere], mapped[train])
            scores.append(accuracy_score(mapped[test], model.predict(X[test][:, sphere])))
    return np.array(scores)


@pytest.mark.parametrize(("estimator", "engine"), [("svc", "exact"), ("logistic", "exact"), ("lda", "fast")])
@pytest.mark.parametrize("directions", ["forward", "both"])
def test_engines_on_the_design_equal_a_hand_written_loop(estimator, engine, directions):
    X, labels, runs = planted()
    design = cross_design(labels, runs, MAPPING, directions=directions)
    spheres = [np.arange(0, 10), np.arange(10, 20), np.arange(5, 15), np.array([3, 12])]
    scores = score_outputs(X, design.targets, spheres, estimator, design.folds, engine=engine, scoring="accuracy")
    scores = scores["accuracy"]
    for s, sphere in enumerate(spheres):
        reference = hand_written(X, labels, runs, sphere, estimator, directions)
        if engine == "exact":
            assert np.array_equal(scores[s], reference), s
        else:  # the fast LDA's float64 arithmetic against scikit-learn's
            assert np.allclose(scores[s], reference), s
    assert len(design.folds) == 6 * (2 if directions == "both" else 1)


def test_the_generalising_region_is_found_and_the_other_is_not():
    X, labels, runs = planted()
    design = cross_design(labels, runs, MAPPING)
    shared, own = np.arange(0, 10), np.arange(10, 20)
    cross = by_direction(score_outputs(X, design.targets, [shared, own], "svc", design.folds)["accuracy"], design)
    assert set(cross) == {"forward", "reverse"}
    assert cross["forward"][0] > 0.9 and cross["reverse"][0] > 0.9
    assert cross["forward"][1] < 0.75 and cross["reverse"][1] < 0.75
    # The second region decodes face vs house within conditions: it is there, only not shared.
    within = np.isin(labels, ["face", "house"])
    folds = [(np.flatnonzero(within & (runs != r)), np.flatnonzero(within & (runs == r))) for r in np.unique(runs)]
    assert score_outputs(X, labels, [own], "svc", folds)["accuracy"].mean() > 0.9


def test_a_fixed_split_by_a_column_trains_on_one_value_and_tests_on_the_other():
    X, labels, runs = planted()
    session = np.where(runs < 3, "one", "two")
    design = cross_design(labels, runs, MAPPING, split=(session, "one", "two"))
    assert [
        (np.unique(session[train]).tolist(), np.unique(session[test]).tolist()) for train, test in design.folds
    ] == [
        (["one"], ["two"]),
        (["one"], ["two"]),
    ]
    assert design.reverse.tolist() == [False, True]
    assert set(labels[design.folds[0][0]]) == {"face", "house"} and set(labels[design.folds[0][1]]) == {"cat", "chair"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"dog": "face"}, "condition 'dog' has no sample"),
        ({"cat": "face", "face": "house"}, "both trained on and mapped"),
    ],
)
def test_bad_mappings_are_refused(mapping, message):
    _, labels, runs = planted()
    with pytest.raises(ValueError, match=message):
        cross_design(labels, runs, mapping)
