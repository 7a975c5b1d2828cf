"""A searchlight *measure*: what an engine computes per sphere, and its named outputs,
each a reduction of that to a few values per sphere.

The contract, which a second measure (e.g. issue 26's RSA: per sphere a dissimilarity
matrix, reduced to one fit per model) follows:

- the engine computes, for a batch of spheres, one array-valued result per sphere (here
  :class:`Predictions`: the predicted class of every test sample of every fold);
- each output is a name and a function of that result returning an array (n_spheres,
  n_values): the per-fold scores for a scorer (their mean is the map, as nilearn's
  ``scores_``), or a fixed number of values (a confusion matrix);
- chunk files, the merge, null maps, inference, the group stage and the API hold and
  read outputs by name (:mod:`snakelight.searchlight.outputs` names their files).

This module is the classification measure's reductions. The exact engine's
scikit-learn path scores any scikit-learn scorer on each fitted fold model instead (so
that each map equals nilearn's SearchLight run with that scorer, bit for bit); the
reductions here serve the scorers an engine can compute from predictions alone:
accuracy and balanced accuracy, on every engine.
"""

from typing import NamedTuple

import numpy as np


class Predictions(NamedTuple):
    """What the classification measure's engines compute for spheres.

    ``predicted`` (n_spheres, n_tests): the class index (0..n_classes-1, as np.unique
    numbers the labels) predicted for each test sample, fold after fold; ``truth``
    (n_tests,): their true class indices; ``fold_start`` (n_folds + 1,): where each fold's
    test samples start in those columns.
    """

    predicted: np.ndarray
    truth: np.ndarray
    fold_start: np.ndarray
    n_classes: int


def fold_starts(folds):
    """(n_folds + 1,) where each fold's test samples start among all folds' test samples."""
    return np.concatenate([[0], np.cumsum([len(test) for _, test in folds])])


def fold_confusions(predictions):
    """(n_spheres, n_folds, C, C) counts of (true class, predicted class) per fold."""
    p = predictions
    C, n_folds = p.n_classes, p.fold_start.size - 1
    fold_of = np.repeat(np.arange(n_folds), np.diff(p.fold_start))
    cell = (fold_of * C + p.truth) * C + p.predicted  # (S, n_tests)
    offset = np.arange(len(cell))[:, None] * (n_folds * C * C)
    counts = np.bincount((cell + offset).ravel(), minlength=len(cell) * n_folds * C * C)
    return counts.reshape(len(cell), n_folds, C, C)


def accuracy(predictions):
    """(n_spheres, n_folds): accuracy per fold, as sklearn.metrics.accuracy_score."""
    p = predictions
    right = p.predicted == p.truth
    counts = np.add.reduceat(right, p.fold_start[:-1], axis=1)
    return counts / np.diff(p.fold_start)


def balanced_accuracy(predictions):
    """(n_spheres, n_folds): balanced accuracy per fold, as
    sklearn.metrics.balanced_accuracy_score: the mean recall over the classes of the
    fold's test samples."""
    confusion = fold_confusions(predictions)
    size = confusion.sum(axis=3)
    present = size[0] > 0  # (n_folds, C): classes among each fold's test samples
    recall = np.diagonal(confusion, axis1=2, axis2=3) / np.maximum(size, 1)
    scores = np.empty(confusion.shape[:2])
    for f, classes in enumerate(present):
        scores[:, f] = np.mean(recall[:, f, classes], axis=1)
    return scores


def confusion(predictions):
    """(n_spheres, C * C): the confusion matrix summed over folds, rows the true class,
    columns the predicted class (flattened row by row)."""
    return fold_confusions(predictions).sum(axis=1).reshape(len(predictions.predicted), -1)


# The reductions of snakelight.searchlight.outputs.PREDICTION_SCORERS, then the confusion matrix.
REDUCTIONS = {"accuracy": accuracy, "balanced_accuracy": balanced_accuracy, "confusion": confusion}


def recall(confusion_matrices):
    """(n_spheres, C): each class's recall (hits over its test samples, all folds) from
    confusion matrices (n_spheres, C * C) as :func:`confusion` flattens them."""
    n = int(round(np.sqrt(confusion_matrices.shape[1])))
    matrices = confusion_matrices.reshape(-1, n, n)
    return np.diagonal(matrices, axis1=1, axis2=2) / matrices.sum(axis=2)


def reduce(predictions, names):
    """{name: (n_spheres, n_values)} of the reductions ``names`` of ``predictions``."""
    return {name: REDUCTIONS[name](predictions) for name in names}
