"""Cross-validation: the schemes the config names, and the folds as nilearn makes them.

The config's two schemes are split here without scikit-learn (:func:`config_folds`, the
folds of scikit-learn's splitters to the index, tests/test_searchlight.py), so that the
data step that checks the folds before any chunk job does not import it (1.5 s).
scikit-learn's splitters are imported only where a scheme object is asked for.
"""

import numpy as np

from snakelight.io import InputError
from snakelight.searchlight.cross import cross_design, cross_sets


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


def contrast_targets_and_folds(cv, cross, table, target=None):
    """A contrast's targets and folds, from its samples table ``table`` (label, run, ...):
    with ``cross`` (its cross_classification config, or None) the cross-classification's,
    folds over runs or its fixed split; else its labels (or with ``target``, the numeric
    column it decodes) and the folds of searchlight.cv ``cv``."""
    labels = table["label"].to_numpy() if target is None else table[target].to_numpy(float)
    if cross is None:
        return labels, config_folds(cv, labels, table["run"].to_numpy())
    design = contrast_design(cross, table, labels)
    return design.targets, design.folds


def contrast_design(cross, table, labels=None):
    """The :class:`snakelight.searchlight.cross.CrossDesign` of a cross_classification
    config ``cross`` on the samples table ``table`` (``labels``: its label column unless
    given); ``directions: each`` runs both directions' folds."""
    labels = table["label"].to_numpy() if labels is None else labels
    directions = "both" if cross["directions"] == "each" else cross["directions"]
    return cross_design(
        labels, table["run"].to_numpy(), cross["test"], directions=directions, split=_split(cross, table)
    )


def _split(cross, table):
    """cross_design's ``split`` of a cross_classification config: (each sample's value of
    the split column as text, the training value, the test value), or None."""
    split = cross.get("split")
    if split is None:
        return None
    if split["column"] not in table.columns:
        raise InputError(
            f"config key cross_classification split.column: samples.tsv has no column {split['column']!r} "
            f"(columns: {', '.join(table.columns)})"
        )
    return table[split["column"]].astype(str).to_numpy(), str(split["train"]), str(split["test"])


def permutation_targets(cross, table):
    """What permutation inference permutes, and within which sets: ``(labels, None)``
    without a cross-classification; with one (its config ``cross``), the targets (a test
    sample carries the training condition it stands for, the score depends on nothing
    else) and the sets :func:`snakelight.searchlight.cross.cross_sets` (and with a fixed
    split, each part of it apart, and the samples in neither part in set -1, which never
    moves: they are in no fold), so that the training and the test sets are permuted apart
    and every fold keeps its samples."""
    labels = table["label"].to_numpy()
    if cross is None:
        return labels, None
    targets = np.array([cross["test"].get(label, label) for label in labels], dtype=object)
    sets = cross_sets(labels, cross["test"])
    split = _split(cross, table)
    if split is not None:
        values, train, test = split
        part = np.where(values == train, 0, np.where(values == test, 1, -1))
        sets = np.where(part < 0, -1, sets * 2 + part)
    return targets, sets


def folds_record(cv, table, n_folds, cross=None):
    """What the cross-validation ran, for the maps' sidecars: the method, the number of
    folds and, per fold, the runs its test samples come from and how many there are.
    ``table``: the contrast's samples table (label, run); ``n_folds``: the folds the
    chunks were scored on (a leave-one-run-out of 8 runs runs 8 folds, whatever
    ``cv["n_splits"]`` says). A count that differs from the folds of ``cv`` on ``table``
    is a ValueError: the chunks were not scored on these samples. ``cross``: the contrast's
    cross_classification config, whose folds replace ``cv``'s, or None."""
    runs = table["run"].to_numpy()
    _, folds = contrast_targets_and_folds(cv, cross, table)
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
