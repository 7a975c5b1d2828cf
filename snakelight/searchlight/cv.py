"""Cross-validation: the schemes the config names, and the folds as nilearn makes them.

The config's two schemes are split here without scikit-learn (:func:`config_folds`, the
folds of scikit-learn's splitters to the index, tests/test_searchlight.py), so that the
data step that checks the folds before any chunk job does not import it (1.5 s).
scikit-learn's splitters are imported only where a scheme object is asked for.
"""

import numpy as np

from snakelight.searchlight.cross import cross_design


def make_cv(method, n_splits=4):
    """The cross-validation scheme: KFold without shuffling (the seed's) or one run out."""
    from sklearn.model_selection import KFold, LeaveOneGroupOut

    if method == "kfold":
        return KFold(n_splits=n_splits)
    if method == "leave_one_run_out":
        return LeaveOneGroupOut()
    raise ValueError(f"unknown cross-validation method {method!r}")


def make_folds(cv, X, y, groups):
    """(train, test) index pairs, as nilearn splits: it passes groups to every splitter
    but KFold."""
    from sklearn.model_selection import KFold

    return list(cv.split(X, y, None if isinstance(cv, KFold) else groups))


def config_folds(cv, y, groups):
    """The folds of the searchlight.cv config ``cv`` (method, n_splits) on samples with
    labels ``y`` and runs ``groups``: ``make_folds(make_cv(**cv), X, y, groups)``, the
    same (train, test) index arrays, computed with numpy. A scheme that cannot split the
    samples is left to scikit-learn, which raises its ValueError."""
    n_samples = len(y)
    indices = np.arange(n_samples)
    if cv["method"] == "kfold" and 2 <= cv["n_splits"] <= n_samples:
        # KFold without shuffling: consecutive test folds, the first n % k one larger.
        sizes = np.full(cv["n_splits"], n_samples // cv["n_splits"], dtype=int)
        sizes[: n_samples % cv["n_splits"]] += 1
        tests = [np.zeros(n_samples, dtype=bool) for _ in sizes]
        for test, stop, size in zip(tests, np.cumsum(sizes), sizes):
            test[stop - size : stop] = True
    elif cv["method"] == "leave_one_run_out" and len(np.unique(groups)) > 1:
        tests = [np.asarray(groups) == group for group in np.unique(groups)]
    else:
        return make_folds(make_cv(**cv), np.zeros((n_samples, 1)), y, groups)
    return [(indices[~test], indices[test]) for test in tests]


def class_missing_from_training(y, folds):
    """The first (fold index, class) whose training samples hold no sample of that class
    (classes in order of first appearance in ``y``), or None when every training fold
    holds every class."""
    classes = list(dict.fromkeys(y))
    for number, (train, _) in enumerate(folds):
        trained = set(y[train])
        for label in classes:
            if label not in trained:
                return number, label
    return None


def contrast_targets_and_folds(cv, cross, labels, runs):
    """A contrast's targets and folds: with ``cross`` (its cross_classification config, or
    None) the cross-classification's, folds over runs; else its labels and the folds of
    searchlight.cv ``cv``."""
    if cross is None:
        return np.asarray(labels), config_folds(cv, labels, runs)
    design = cross_design(labels, runs, cross["test"], directions=cross["directions"])
    return design.targets, design.folds


def folds_record(cv, table, n_folds, cross=None):
    """What the cross-validation ran, for the maps' sidecars: the method, the number of
    folds and, per fold, the runs its test samples come from and how many there are.
    ``table``: the contrast's samples table (label, run); ``n_folds``: the folds the
    chunks were scored on (a leave-one-run-out of 8 runs runs 8 folds, whatever
    ``cv["n_splits"]`` says). A count that differs from the folds of ``cv`` on ``table``
    is a ValueError: the chunks were not scored on these samples. ``cross``: the contrast's
    cross_classification config, whose folds replace ``cv``'s, or None."""
    runs = table["run"].to_numpy()
    _, folds = contrast_targets_and_folds(cv, cross, table["label"].to_numpy(), runs)
    if len(folds) != n_folds:
        raise ValueError(f"the chunks hold {n_folds} folds; {cv} splits the samples into {len(folds)}")
    return {
        "method": cv["method"] if cross is None else "cross_classification",
        **({} if cross is None else {"cross_classification": cross}),
        "n_splits": len(folds),
        "test_runs": [sorted({_plain(run) for run in runs[test]}) for _, test in folds],
        "test_samples": [int(len(test)) for _, test in folds],
    }


def _plain(value):
    """A numpy scalar as the Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value
