"""Cross-classification (snakelight.searchlight.cross): the engines on its design equal a
hand-written loop of scikit-learn fits on the mapped labels, and a planted region whose
pattern code generalises across conditions is found, another that decodes only within
conditions is not."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from snakelight.inference.permutations import (
    distinct_null_maps,
    distinct_relabellings,
    exchangeability,
    label_renamings,
    null_permutations,
)
from snakelight.searchlight.cross import by_direction, cross_design, cross_sets
from snakelight.searchlight.cv import permutation_targets
from snakelight.searchlight.scoring import make_estimator, score_outputs, score_spheres_permuted

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


def blocked_design(n_runs=3, block=2):
    """Per run one block of each condition, in CONDITIONS order: (labels, runs, volumes)."""
    labels = np.tile(np.repeat(CONDITIONS, block), n_runs)
    runs = np.repeat(np.arange(n_runs), len(CONDITIONS) * block)
    return labels, runs, np.tile(np.arange(len(CONDITIONS) * block), n_runs)


def test_permutations_move_the_training_and_the_test_targets_apart():
    """Every null relabelling of a cross-classification's blocks keeps which samples train
    and which test, and permutes each set's targets within runs; the distinct null maps are
    the brute-force count: 2 arrangements per run and set, 4^3 relabellings, halved by the
    one renaming that leaves every score unchanged (face <-> house in both sets at once)."""
    labels, runs, volumes = blocked_design()
    targets, sets = permutation_targets({"test": MAPPING}, pd.DataFrame({"label": labels}))
    design = exchangeability(targets, runs, volumes, "blocks", sets)
    assert distinct_relabellings(design) == 4**3 and label_renamings(design) == 2
    nulls = null_permutations(design, seed=0, ks=range(1, 100))
    assert nulls.shape == (targets.size, distinct_null_maps(design) - 1) == (targets.size, 31)
    for group in {(run, one_set) for run, one_set in zip(runs, sets)}:
        rows = (runs == group[0]) & (sets == group[1])
        assert all(sorted(column) == sorted(targets[rows]) for column in nulls[rows].T)
    # Brute force: the distinct target vectors, a vector and its renaming counted once.
    swap = {"face": "house", "house": "face"}
    seen = {tuple(targets)}
    for column in nulls.T:
        key = tuple(column)
        assert key not in seen and tuple(swap[t] for t in key) not in seen
        seen.add(key)
    units = [(run, one_set) for run in range(3) for one_set in (0, 1)]
    assert len(seen) == 2 ** len(units) // 2


def test_the_null_of_a_cross_classification_is_at_chance():
    """On the planted region that generalises, the permuted targets' scores centre on 1/2
    while the real one is near 1."""
    X, labels, runs = planted()
    design = cross_design(labels, runs, MAPPING)
    targets, sets = permutation_targets({"test": MAPPING}, pd.DataFrame({"label": labels}))
    assert np.array_equal(targets, design.targets)
    volumes = np.tile(np.arange(len(CONDITIONS) * 6), 6)
    nulls = null_permutations(exchangeability(targets, runs, volumes, "blocks", sets), seed=1, ks=range(1, 41))
    shared = [np.arange(0, 10)]
    null = score_spheres_permuted(X, nulls, shared, "svc", design.folds).mean(axis=2)[:, 0]
    real = score_outputs(X, design.targets, shared, "svc", design.folds)["accuracy"].mean()
    assert real > 0.9 and abs(null.mean() - 0.5) < 0.1 and np.all(null < real)


def test_a_split_permutes_each_part_apart():
    """With a fixed split, the sets are the condition sets within each part of the split:
    a training condition's sample of the test part never swaps with one of the training part."""
    labels, runs, _ = blocked_design(n_runs=2)
    table = pd.DataFrame({"label": labels, "run": runs, "half": np.tile([1, 1, 2, 2], 4)})
    cross = {"test": MAPPING, "split": {"column": "half", "train": 1, "test": 2}}
    _, sets = permutation_targets(cross, table)
    condition_sets = cross_sets(labels, MAPPING)
    assert np.array_equal(sets // 2, condition_sets)
    assert np.array_equal(sets % 2, np.where(table["half"] == 1, 0, 1))
    assert len(np.unique(sets)) == 4


def test_each_scorers_direction_maps_equal_a_hand_written_loop(tmp_path):
    """directions: each, every scorer (snakelight.searchlight.chunks.write_direction_maps on
    each output's per-fold maps, as the directions step runs it): each direction's map is
    the mean over that direction's folds of a hand-written loop of scikit-learn fits scored
    by that scorer. Unbalanced test sets (chair samples dropped) make the scorers differ."""
    import nibabel as nib
    from sklearn.metrics import balanced_accuracy_score

    from snakelight.searchlight.chunks import write_direction_maps

    X, labels, runs = planted(n_runs=3, per_condition=4)
    keep = ~((labels == "chair") & (np.arange(labels.size) % 4 < 2))
    X, labels, runs = X[keep], labels[keep], runs[keep]
    design = cross_design(labels, runs, MAPPING, directions="both")
    spheres = [np.arange(0, 10), np.arange(10, 20), np.array([3, 12])]
    scorers = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score}
    outputs = score_outputs(X, design.targets, spheres, "svc", design.folds, scoring=list(scorers))
    mapped = np.array([MAPPING.get(label, label) for label in labels])
    for name, scorer in scorers.items():
        folds_path = tmp_path / f"{name}_folds.nii.gz"
        nib.Nifti1Image(outputs[name].reshape(len(spheres), 1, 1, -1), np.eye(4)).to_filename(folds_path)
        paths = {direction: tmp_path / f"{name}_{direction}.nii.gz" for direction in ("forward", "reverse")}
        write_direction_maps(folds_path, design, paths)
        for direction, (train_set, test_set) in (("forward", (0, 1)), ("reverse", (1, 0))):
            sets = [np.isin(labels, ["face", "house"]), np.isin(labels, ["cat", "chair"])]
            expected = []
            for sphere in spheres:
                scores = []
                for run in np.unique(runs):
                    train, test = sets[train_set] & (runs != run), sets[test_set] & (runs == run)
                    model = make_estimator("svc").fit(X[train][:, sphere], mapped[train])
                    scores.append(scorer(mapped[test], model.predict(X[test][:, sphere])))
                expected.append(np.mean(scores))
            got = nib.load(paths[direction]).get_fdata().ravel()
            assert np.allclose(got, expected), (name, direction)
    assert not np.allclose(outputs["accuracy"], outputs["balanced_accuracy"])
