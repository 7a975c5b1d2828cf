"""Cross-classification: train on some conditions, test on others mapped to them (train
face vs house, test cat vs chair with cat -> face, chair -> house).

It is a design, not an engine: :func:`cross_design` gives every sample a target (its own
condition for a training condition, the one it maps to for a test condition) and the
folds, so that any engine and any scorer (:func:`snakelight.searchlight.scoring.score_outputs`)
cross-classify unchanged. Each fold trains on one set's samples and tests on the other
set's: over runs (train on the other runs, test on the left-out run) or on a fixed split
(a column of the samples table, e.g. the session: train on one value, test on another).
With ``directions="both"`` the reverse folds follow (train on the test conditions,
test on the training ones); :func:`by_direction` keeps each direction's folds apart,
their mean over all folds averages the two.
"""

from typing import NamedTuple

import numpy as np


class CrossDesign(NamedTuple):
    targets: np.ndarray  # (n_samples,) each sample's training condition (its own or mapped)
    folds: list  # (train, test) index pairs, the forward ones first
    reverse: np.ndarray  # (n_folds,) bool: the fold trains on the test conditions


def cross_design(labels, runs, mapping, *, directions="both", split=None):
    """The targets and folds of a cross-classification.

    ``labels``, ``runs`` (n_samples,): each sample's condition and run; ``mapping``:
    {test condition: training condition}; ``directions``: ``"forward"`` (train on the
    training conditions only) or ``"both"``. ``split``: None for folds over runs, else
    ``(values, train_value, test_value)``: each sample's value of a samples-table column,
    and the values whose samples train and test (one fold per direction, no CV).
    Samples of other conditions take part in no fold.
    """
    labels, runs = np.asarray(labels), np.asarray(runs)
    trained = sorted(set(mapping.values()))
    missing = sorted(set(mapping) - set(labels)) + [name for name in trained if name not in set(labels)]
    if missing:
        raise ValueError(f"cross-classification condition {missing[0]!r} has no sample")
    if set(mapping) & set(trained):
        raise ValueError("a condition cannot be both trained on and mapped to another")
    if directions not in ("forward", "both"):
        raise ValueError(f"directions must be 'forward' or 'both', not {directions!r}")
    targets = np.array([mapping.get(label, label) for label in labels], dtype=object)
    sets = {False: np.isin(labels, trained), True: np.isin(labels, list(mapping))}  # by reverse
    if split is None:
        parts = [(runs != run, runs == run) for run in np.unique(runs)]
    else:
        values, train_value, test_value = split
        values = np.asarray(values)
        parts = [(values == train_value, values == test_value)]
    folds, reverse = [], []
    for backwards in (False, True) if directions == "both" else (False,):
        for train_part, test_part in parts:
            train = np.flatnonzero(train_part & sets[backwards])
            test = np.flatnonzero(test_part & sets[not backwards])
            if train.size and test.size:
                folds.append((train, test))
                reverse.append(backwards)
    return CrossDesign(targets, folds, np.array(reverse))


def by_direction(scores, design):
    """{"forward": (n_spheres,), "reverse": (n_spheres,)}: the mean score over each
    direction's folds, from ``scores`` (n_spheres, n_folds) of ``design``'s folds."""
    return {
        name: scores[:, design.reverse == backwards].mean(axis=1)
        for name, backwards in (("forward", False), ("reverse", True))
        if np.any(design.reverse == backwards)
    }
