"""Cross-validation: the schemes the config names, and the folds as nilearn makes them.

Imports scikit-learn's splitters only, so that the data steps, which check the folds
before any chunk job, do not load the engines.
"""

from sklearn.model_selection import KFold, LeaveOneGroupOut


def make_cv(method, n_splits=4):
    """The cross-validation scheme: KFold without shuffling (the seed's) or one run out."""
    if method == "kfold":
        return KFold(n_splits=n_splits)
    if method == "leave_one_run_out":
        return LeaveOneGroupOut()
    raise ValueError(f"unknown cross-validation method {method!r}")


def make_folds(cv, X, y, groups):
    """(train, test) index pairs, as nilearn splits: it passes groups to every splitter
    but KFold."""
    return list(cv.split(X, y, None if isinstance(cv, KFold) else groups))


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
