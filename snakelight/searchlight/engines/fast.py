"""The ``fast`` engine: estimators computed for a batch of spheres and every fold at once.

Spheres are padded to the largest one with a voxel that is zero in every sample and is
masked out of every statistic, so a batch is a few dense arrays; batches keep those
arrays within a fixed memory budget. Three estimators:

- ``svc``: LinearSVC's objective (squared hinge, C=1, regularised intercept) solved to
  its exact optimum by a batched Newton method. liblinear stops at a tolerance, so a
  few spheres differ from nilearn by a test sample; the benchmark reports how many.
- ``gnb``: scikit-learn's GaussianNB, in closed form.
- ``lda``: scikit-learn's LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
  Ledoit-Wolf shrinkage included, in closed form.

Class statistics come from sufficient statistics per *group*: samples that share a
class and the same train/test role in every fold. Summing groups gives any fold's
training statistics, so each sample enters a sphere's scatter matrices once rather
than once per fold.
"""

import ctypes
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit
from threadpoolctl import ThreadpoolController

from snakelight.searchlight.cv import class_missing_from_training
from snakelight.searchlight.engines import _lda, _newton
from snakelight.searchlight.measures import Predictions, fold_starts

# Memory for one batch's largest arrays: each stays below glibc's largest mmap
# threshold (32 MiB), so that freed arrays can be reused (see _reuse_freed_memory).
BATCH_BYTES = 16 * 2**20
# glibc's mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _reuse_freed_memory():
    """Make glibc keep freed arrays for the next batch instead of returning them to the
    system: otherwise each batch faults in fresh pages, which costs as much as the
    arithmetic, by an amount that depends on the allocation history (measured whole
    brain: lda 2.2 s this way, 2.3-5.0 s without). Nothing to do off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
    libc.mallopt(_M_TRIM_THRESHOLD, 2**30)


class FlatFolds(NamedTuple):
    """A design's groups and folds as the compiled kernels take them: group g is samples
    ``group_start[g]:group_start[g + 1]``; fold f trains on ``train[train_start[f]:
    train_start[f + 1]]`` and tests on ``test[test_start[f]:test_start[f + 1]]``."""

    group_start: np.ndarray  # (G + 1,)
    train: np.ndarray
    train_start: np.ndarray  # (F + 1,)
    test: np.ndarray
    test_start: np.ndarray  # (F + 1,)


def flat_folds(groups, folds):
    """:class:`FlatFolds` of ``groups`` (contiguous slices) and ``folds`` (train, test) pairs."""
    train, train_start = _concatenated([train for train, _ in folds])
    test, test_start = _concatenated([test for _, test in folds])
    group_start = np.array([0] + [group.stop for group in groups], dtype=np.intp)
    return FlatFolds(group_start, train, train_start, test, test_start)


class FoldDesign:
    """Labels and folds, with the samples reordered so that each group is contiguous.

    ``codes`` are class indices (0..n_classes-1), ``folds`` (train, test) index pairs.
    Sample ``i`` of the new order is sample ``order[i]`` of the original; ``codes`` and
    ``folds`` are given in the new order, where group ``g`` is ``groups[g]``, a slice.
    """

    def __init__(self, codes, folds):
        codes = np.asarray(codes)
        self.n_classes = int(codes.max()) + 1
        in_train = np.zeros((len(folds), codes.size), dtype=bool)
        missing = class_missing_from_training(codes, folds)
        if missing is not None:
            raise ValueError(f"training fold {missing[0]} holds no sample of class {missing[1]}")
        for f, (train, _) in enumerate(folds):
            in_train[f, train] = True
        # A group: the samples with one class and one train/test pattern across folds.
        _, group_of = np.unique(np.vstack([in_train, codes]).T, axis=0, return_inverse=True)
        self.order = np.argsort(group_of, kind="stable")
        position = np.empty_like(self.order)
        position[self.order] = np.arange(codes.size)
        self.codes = codes[self.order]
        self.folds = [(np.sort(position[train]), np.sort(position[test])) for train, test in folds]
        self.group_of = group_of[self.order]  # (n,) in the new order
        bounds = np.searchsorted(self.group_of, np.arange(group_of.max() + 2))
        self.groups = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]
        first = bounds[:-1]
        group_class = self.codes[first]
        group_in_train = in_train[:, self.order][:, first]  # (F, G)
        # membership[f, c, g]: group g is training data of class c in fold f.
        self.membership = group_in_train[:, None, :] & (group_class == np.arange(self.n_classes)[:, None])
        self.counts = self.membership @ np.diff(bounds)  # samples per (fold, class)
        self.flat = flat_folds(self.groups, self.folds)

    @property
    def n_folds(self):
        return len(self.folds)

    @property
    def n_groups(self):
        return len(self.groups)


class PermutationDesign:
    """The real labels' folds with a block of P permuted labellings: FoldDesign's groups
    for the train/test patterns alone, since a sample's class now changes with the
    permutation while its folds do not.

    ``codes`` (P, n): each permutation's class indices, in the original sample order.
    ``order``, ``folds`` and ``groups`` are as FoldDesign's; in the new order, ``codes``
    (P, n) are the classes, ``indicator`` (P, F, C, n) float64 is 1 where a sample is
    training data of class c in fold f under permutation p, ``counts`` (P, F, C) its sums.
    """

    def __init__(self, codes, folds):
        codes = np.asarray(codes)
        for p, labels in enumerate(codes):
            missing = class_missing_from_training(labels, folds)
            if missing is not None:
                raise ValueError(f"permutation {p}: training fold {missing[0]} holds no sample of class {missing[1]}")
        patterns = FoldDesign(np.zeros(codes.shape[1], dtype=int), folds)
        self.order, self.folds, self.groups = patterns.order, patterns.folds, patterns.groups
        self.flat = patterns.flat
        self.n_classes = int(codes.max()) + 1
        self.codes = codes[:, self.order]
        in_train = patterns.membership[:, 0, :][:, patterns.group_of]  # (F, n)
        one_hot = self.codes[:, None, :] == np.arange(self.n_classes)[:, None]  # (P, C, n)
        self.indicator = (in_train[None, :, None, :] & one_hot[:, None]).astype(float)
        self.counts = self.indicator.sum(axis=-1)
        self.group_in_train = patterns.membership[:, 0, :].astype(float)  # (F, G)

    @property
    def n_permutations(self):
        return len(self.codes)

    @property
    def n_groups(self):
        return len(self.groups)

    @property
    def n_folds(self):
        return len(self.folds)


def padded_spheres(spheres, pad):
    """Spheres as one (n_spheres, max size) index array, short ones filled with ``pad``."""
    width = max(len(s) for s in spheres)
    index = np.full((len(spheres), width), pad, dtype=np.intp)
    for i, sphere in enumerate(spheres):
        index[i, : len(sphere)] = sphere
    return index


def _with_pad_voxel(X):
    """(voxels + 1, samples) float64: one contiguous row per voxel, then a zero row."""
    rows = np.zeros((X.shape[1] + 1, X.shape[0]))
    rows[:-1] = X.T
    return rows


def _accuracy(predicted, truth):
    return np.mean(predicted == truth, axis=-1)


def _fold_accuracies(predicted, design):
    """Accuracies (b, F) of the predictions (b, n_tests) of a FoldDesign's test samples,
    fold after fold."""
    start = 0
    scores = np.empty((len(predicted), design.n_folds))
    for f, (_, test) in enumerate(design.folds):
        scores[:, f] = _accuracy(predicted[:, start : start + test.size], design.codes[test])
        start += test.size
    return scores


class GaussianNBScorer:
    """scikit-learn's GaussianNB (var_smoothing=1e-9, priors from the training fold).

    Every statistic is per voxel, so it is computed once for the whole mask; a sphere
    sums its voxels' log-likelihood terms.
    """

    def __init__(self, X, design, var_smoothing=1e-9):
        self.design, self.var_smoothing = design, var_smoothing
        # Naive Bayes is translation invariant; centring keeps the expanded squares exact.
        self.rows = _with_pad_voxel(X - X.mean(axis=0))
        C = design.n_classes
        self.mean, self.var, self.total_var, self.log_prior = [], [], [], []
        for f, (train, _) in enumerate(design.folds):
            per_class = [self.rows[:, train[design.codes[train] == c]] for c in range(C)]
            self.mean.append(np.stack([x.mean(axis=1) for x in per_class]))
            self.var.append(np.stack([x.var(axis=1) for x in per_class]))
            self.total_var.append(self.rows[:, train].var(axis=1))
            self.log_prior.append(np.log(design.counts[f] / train.size))

    def batch_size(self, width):
        return max(1, BATCH_BYTES // (8 * width * self.rows.shape[1] * 3))

    def scores(self, index):
        return _fold_accuracies(self.predictions(index), self.design)

    def predictions(self, index):
        """Predicted classes (b, n_tests) of the spheres ``index`` (b, K), fold after fold."""
        valid = index < self.rows.shape[0] - 1
        powers = _powers(self.rows[index])
        return np.concatenate(
            [
                _gaussian_nb_predicted(
                    self.mean[f][:, index].transpose(1, 0, 2),
                    self.var[f][:, index].transpose(1, 0, 2),
                    self.smoothing(f, index, valid),
                    valid,
                    self.log_prior[f],
                    powers[:, :, test],
                )
                for f, (_, test) in enumerate(self.design.folds)
            ],
            axis=-1,
        )

    def smoothing(self, f, index, valid):
        """GaussianNB's epsilon for fold ``f``, per sphere (b,): var_smoothing times the
        largest variance of the sphere's voxels over the fold's training samples."""
        return self.var_smoothing * np.max(self.total_var[f][index] * valid, axis=1)


def _powers(x):
    """[x^2, x] of sphere data x (b, K, n): (b, 2K, n), the factor of every expanded square."""
    return np.concatenate([x**2, x], axis=1)


def _gaussian_nb_accuracy(mean, var, epsilon, valid, log_prior, powers, truth):
    """GaussianNB's accuracy on one fold's test samples, per sphere and model: (b, ...);
    ``truth`` (..., n_test): the test samples' classes (the rest: _gaussian_nb_predicted)."""
    return _accuracy(_gaussian_nb_predicted(mean, var, epsilon, valid, log_prior, powers), truth)


def _gaussian_nb_predicted(mean, var, epsilon, valid, log_prior, powers):
    """GaussianNB's predicted classes of one fold's test samples, per sphere and model:
    (b, ..., n_test).

    A model is one set of labels (the real ones, or one permutation); ``...`` are its axes,
    none for one model. ``mean``, ``var`` (b, ..., C, K): the training classes' voxel
    statistics; ``epsilon`` (b,): the smoothing added to ``var``; ``valid`` (b, K): the
    sphere's real voxels; ``log_prior`` (..., C); ``powers`` (b, 2K, n_test): [x^2, x] of the
    test samples.
    """
    b, K = valid.shape
    valid = valid.reshape((b,) + (1,) * (var.ndim - 2) + (K,))
    var = var + epsilon.reshape((b,) + (1,) * (var.ndim - 1))
    var = np.where(valid, var, 1)
    inv_var = valid / var
    log_det = np.sum(np.log(2 * np.pi * var), axis=-1)  # (b, ..., C); padding adds log(2 pi)
    # sum_k (x_k - mean_k)^2 / var_k, expanded into one product with [x^2, x].
    weights = np.concatenate([inv_var, -2 * mean * inv_var], axis=-1)
    squares = (weights.reshape(b, -1, 2 * K) @ powers).reshape(weights.shape[:-1] + powers.shape[-1:])
    squares += np.sum(mean**2 * inv_var, axis=-1)[..., None]
    log_likelihood = log_prior[..., None] - 0.5 * log_det[..., None] - 0.5 * squares
    return log_likelihood.argmax(axis=-2)


class ShrinkageLDAScorer:
    """scikit-learn's LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"), compiled
    sphere by sphere (:func:`snakelight.searchlight.engines._lda.lda_predictions`).
    """

    def __init__(self, X, design):
        self.design = design
        # LDA's decisions are translation invariant; centring avoids cancellation in
        # the scatter matrices built from sums.
        self.rows = _with_pad_voxel(X - X.mean(axis=0))

    def batch_size(self, width):
        return max(1, BATCH_BYTES // (8 * width * self.rows.shape[1]))

    def scores(self, index):
        return _fold_accuracies(self.predictions(index), self.design)

    def predictions(self, index):
        """Predicted classes (b, n_tests) of the spheres ``index`` (b, K), fold after fold."""
        flat = self.design.flat
        return _lda.lda_predictions(
            self.rows,
            index,
            np.count_nonzero(index < self.rows.shape[0] - 1, axis=1),
            flat.group_start,
            self.design.membership,
            self.design.counts.astype(float),
            flat.test,
            flat.test_start,
        )


class SquaredHingeSVCScorer:
    """LinearSVC's problem, min_w 1/2 |w|^2 + C sum_i max(0, 1 - y_i w.x_i)^2 with x_i
    extended by a constant 1 (intercept_scaling=1, regularised as liblinear does),
    solved exactly by a finite Newton method, compiled, sphere by sphere
    (:func:`snakelight.searchlight.engines._newton.svc_predictions`).
    """

    max_iter = 100
    tie = 1e-9

    def __init__(self, X, design, C=1.0):
        if design.n_classes != 2:
            raise ValueError("the fast 'svc' engine handles two classes; use engine 'exact'")
        self.design, self.C = design, C
        self.rows = _with_pad_voxel(X)  # raw values: the intercept penalty is not shift invariant
        self.sign = np.where(design.codes == 1, 1.0, -1.0)
        self.fold_groups = design.membership.any(axis=1)  # (F, G)

    def batch_size(self, width):
        return max(1, BATCH_BYTES // (8 * (width + 1) * self.rows.shape[1]))

    def scores(self, index):
        return _fold_accuracies(self.predictions(index), self.design)

    def predictions(self, index):
        """Predicted classes (b, n_tests) of the spheres ``index`` (b, K), fold after fold."""
        flat = self.design.flat
        predicted, failed = _newton.svc_predictions(
            self.rows,
            index,
            np.count_nonzero(index < self.rows.shape[0] - 1, axis=1),
            self.sign,
            flat.group_start,
            self.fold_groups,
            flat.train,
            flat.train_start,
            flat.test,
            flat.test_start,
            self.C,
            self.tie,
            self.max_iter,
        )
        if failed:
            raise RuntimeError(f"Newton did not converge in {self.max_iter} iterations for {failed} problems")
        return predicted


class PermutedGaussianNBScorer(GaussianNBScorer):
    """GaussianNBScorer for a block of permutations (a PermutationDesign): every
    permutation's per-voxel class statistics come from products of its class indicators
    with the data, and each sphere's data is gathered once for all the permutations."""

    # Memory for the block's per-voxel statistics: it sets how many permutations share a pass.
    statistics_bytes = 256 * 2**20

    def __init__(self, X, design, var_smoothing=1e-9):
        self.design, self.var_smoothing = design, var_smoothing
        self.rows = _with_pad_voxel(X - X.mean(axis=0))
        P, F, C, n = design.indicator.shape
        # (F, voxels + 1, P, C): a sphere's voxels are contiguous blocks.
        self.mean = np.empty((F, self.rows.shape[0], P, C))
        self.var = np.empty_like(self.mean)
        squares = self.rows**2
        for p in range(P):  # one product per permutation: its statistics do not depend on the block
            indicator = design.indicator[p].reshape(F * C, n)
            mean = (indicator @ self.rows.T) / design.counts[p].reshape(-1, 1)  # (F C, voxels + 1)
            var = (indicator @ squares.T) / design.counts[p].reshape(-1, 1) - mean**2
            self.mean[:, :, p] = mean.reshape(F, C, -1).transpose(0, 2, 1)
            self.var[:, :, p] = var.reshape(F, C, -1).transpose(0, 2, 1)
        self.total_var = [self.rows[:, train].var(axis=1) for train, _ in design.folds]
        self.log_prior = np.log(design.counts / design.counts.sum(axis=-1, keepdims=True))  # (P, F, C)

    @classmethod
    def permutations_per_pass(cls, n_voxels, n_folds, n_classes):
        return max(1, cls.statistics_bytes // (2 * 8 * n_voxels * n_folds * n_classes))

    def batch_size(self, width):
        d = self.design
        n_test = max(test.size for _, test in d.folds)
        per_sphere = 8 * (3 * width * self.rows.shape[1] + d.n_permutations * d.n_classes * (6 * width + 3 * n_test))
        return max(1, BATCH_BYTES // per_sphere)

    def scores(self, index):
        """Accuracies (P, b, F) of the spheres ``index`` (b, K) under each permutation."""
        d = self.design
        valid = index < self.rows.shape[0] - 1
        powers = _powers(self.rows[index])
        scores = np.empty((d.n_permutations, len(index), d.n_folds))
        for f, (_, test) in enumerate(d.folds):
            scores[:, :, f] = _gaussian_nb_accuracy(
                self.mean[f][index].transpose(0, 2, 3, 1),  # (b, P, C, K)
                self.var[f][index].transpose(0, 2, 3, 1),
                self.smoothing(f, index, valid),
                valid,
                self.log_prior[:, f],
                powers[:, :, test],
                d.codes[:, test],
            ).T
        return scores


class PermutedShrinkageLDAScorer:
    """ShrinkageLDAScorer for a block of permutations (a PermutationDesign).

    A class's training sums and scatter matrix under a permutation are a product of its
    indicator with the samples' features [x, x_k x_l (k <= l)], group by group: one
    matrix product per sphere and group serves every permutation of the block; the last
    class's is the total minus the others'. The rest is small (K <= ~20 voxels) but is
    done for every sphere, permutation and fold, so it runs compiled
    (:func:`_permuted_lda_scores`), with the permutations as the innermost axis of every
    array: each step is one vector operation over the block. Its arithmetic differs from
    ShrinkageLDAScorer's (sums in another order) by roundings only;
    tests/test_null_maps.py checks that the accuracies are identical.
    """

    # Permutations scored together: enough to make the products and the vectors efficient.
    permutations_per_pass = 64

    def __init__(self, X, design):
        d = self.design = design
        self.rows = _with_pad_voxel(X - X.mean(axis=0))  # centred, as ShrinkageLDAScorer
        # (C, n, P): 1 where a sample has class c under permutation p.
        self.membership = np.ascontiguousarray(d.indicator.any(axis=1).transpose(1, 2, 0)).astype(float)
        # Per sample: its class indicators but the last class's, (C - 1) P, then a 1 (for
        # the total over all classes); group by group, each a contiguous block.
        one_hot = np.ones((d.codes.shape[1], (d.n_classes - 1) * d.n_permutations + 1))
        one_hot[:, :-1] = self.membership[:-1].transpose(1, 0, 2).reshape(d.codes.shape[1], -1)
        self.one_hot = np.concatenate([one_hot[group].ravel() for group in d.groups])

    def batch_size(self, width):
        return max(1, BATCH_BYTES // (8 * width * self.rows.shape[1]))

    def scores(self, index):
        """Accuracies (P, b, F) of the spheres ``index`` (b, K) under each permutation."""
        d, flat = self.design, self.design.flat
        return _permuted_lda_scores(
            self.rows[index],
            np.count_nonzero(index < self.rows.shape[0] - 1, axis=1),
            self.one_hot,
            flat.group_start,
            self.membership,
            np.ascontiguousarray(d.counts.transpose(1, 2, 0)),
            d.group_in_train,
            flat.train,
            flat.train_start,
            flat.test,
            flat.test_start,
        )


def _concatenated(index_arrays):
    """Index arrays as one array and the (len + 1,) offsets of each's entries."""
    start = np.concatenate([[0], np.cumsum([a.size for a in index_arrays])])
    return np.concatenate(index_arrays).astype(np.intp), start.astype(np.intp)


# The permuted lda's kernels. error_model="numpy": a division by zero gives inf, as in
# numpy, rather than a check in every loop that would keep it from vectorising.
@njit(cache=True, nogil=True, error_model="numpy")
def _permuted_lda_scores(
    x, sizes, one_hot, group_start, membership, counts, group_in_train, train, train_start, test, test_start
):
    """The accuracy of _lda.lda_predictions for each sphere, permutation and fold: (P, b, F).

    ``x`` (b, K, n): the spheres' data, sphere s's voxels the first ``sizes[s]``;
    ``membership`` (C, n, P): 1 where sample i has class c under permutation p;
    ``one_hot``: for each group g in turn, a (group size, (C - 1) P + 1) block: its
    samples' ``membership`` of all classes but the last, then a column of ones; group g's
    samples are ``group_start[g]:group_start[g + 1]``; ``counts`` (F, C, P) the training classes'
    sizes; ``group_in_train`` (F, G) float, 1 where fold f trains on group g; fold f's
    training samples are ``train[train_start[f]:train_start[f + 1]]``, its test samples
    likewise in ``test``.
    """
    C, n, P = membership.shape
    F = counts.shape[0]
    scores = np.empty((P, x.shape[0], F))
    for s in range(x.shape[0]):
        K = sizes[s]
        data = np.ascontiguousarray(x[s, :K])  # (K, n)
        group_sums = _group_sums(data, one_hot, group_start)  # (G, M ((C - 1) P + 1))
        fold_sums = np.dot(group_in_train, group_sums).reshape((F, -1, (C - 1) * P + 1))
        powers = np.empty((n, 2 * K))  # [x^2, x] per sample: |z_i|^2 is a product with them
        powers[:, :K] = data.T**2
        powers[:, K:] = data.T
        for f in range(F):
            mean, cov, scale2, weights, offset, trace, squares = _class_statistics(fold_sums[f], counts[f], K)
            train_f = train[train_start[f] : train_start[f + 1]]
            train_powers = powers[train_f]
            fourth = np.zeros((C, P))  # sum over the class's training samples of |z_i|^4
            for c in range(C):
                norms = np.dot(train_powers, weights[c])  # (n_train, P): |z_i|^2 less the offset
                _add_masked_squares(fourth[c], norms, offset[c], membership[c], train_f)
            within, prior = _shrunk_within(cov, scale2, trace, squares, fourth, counts[f])
            coef = mean.copy()
            _cholesky_solve(within, coef)
            test_f = test[test_start[f] : test_start[f + 1]]
            right = _right_predictions(data[:, test_f], membership[:, test_f], mean, coef, prior)
            scores[:, s, f] = right / test_f.size
    return scores


@njit(cache=True, nogil=True, error_model="numpy")
def _group_sums(data, one_hot, group_start):
    """Products of each group's ``one_hot`` block (group size, width) with its samples'
    features [x, x_k x_l (k <= l)] (M = K + K (K + 1) / 2 of them) of a sphere's ``data``
    (K, n): (G, M width)."""
    K = data.shape[0]
    M = K + K * (K + 1) // 2
    G = group_start.size - 1
    width = one_hot.size // data.shape[1]
    sums = np.empty((G, M * width))
    for g in range(G):
        start, stop = group_start[g], group_start[g + 1]
        features = np.empty((M, stop - start))  # feature-major: each row one vector operation
        features[:K] = data[:, start:stop]
        at = K
        for k in range(K):
            for h in range(k, K):
                for i in range(stop - start):
                    features[at, i] = data[k, start + i] * data[h, start + i]
                at += 1
        block = one_hot[width * start : width * stop].reshape((stop - start, width))
        sums[g] = np.dot(features, block).ravel()
    return sums


@njit(cache=True, nogil=True, error_model="numpy")
def _add_masked_squares(out, norms, offset, mask, rows):
    """out[p] += sum_j mask[rows[j], p] (norms[j, p] + offset[p])^2: ``out``, ``offset``
    (P,), ``norms`` (len(rows), P), ``mask`` (n, P)."""
    for j in range(rows.size):
        norm, weight = norms[j], mask[rows[j]]
        for p in range(out.size):
            z = norm[p] + offset[p]
            out[p] += weight[p] * z * z


@njit(cache=True, nogil=True, error_model="numpy")
def _class_statistics(sums, n, K):
    """Each training class's statistics under each permutation, from the training
    samples' feature sums ``sums`` (M, (C - 1) P + 1), per class but the last and
    permutation, then over all classes (the last class's: that less the others'), and
    the class sizes ``n`` (C, P): mean (C, K, P), covariance (C, K, K, P; its upper
    triangle), standardising variances scale2 (C, K, P), the weights (C, 2K, P) and
    offset (C, P) that give the squared norm of a standardised sample, |z_i|^2 =
    weights . [x_i^2, x_i] + offset, and the trace and squared norm of the correlation
    matrix (C, P)."""
    C, P = n.shape
    M = sums.shape[0]
    mean = np.empty((C, K, P))
    cov = np.empty((C, K, K, P))
    scale2 = np.empty((C, K, P))
    weights = np.empty((C, 2 * K, P))
    offset = np.zeros((C, P))
    trace = np.zeros((C, P))
    squares = np.zeros((C, P))
    last = np.empty((M, P))
    for m in range(M):
        for p in range(P):
            last[m, p] = sums[m, -1]
        for c in range(C - 1):
            for p in range(P):
                last[m, p] -= sums[m, c * P + p]
    for c in range(C):
        class_sums = sums[:, c * P : (c + 1) * P] if c < C - 1 else last  # (M, P)
        inverse = 1 / n[c]
        for k in range(K):
            for p in range(P):
                mean[c, k, p] = class_sums[k, p] * inverse[p]
        diagonal = K  # the feature index of x_k^2
        for k in range(K):
            for p in range(P):
                var = class_sums[diagonal, p] * inverse[p] - mean[c, k, p] * mean[c, k, p]
                cov[c, k, k, p] = var
                scale2[c, k, p] = var if var > 0 else 1.0  # StandardScaler leaves constant features unscaled
                weights[c, k, p] = 1 / scale2[c, k, p]
                weights[c, K + k, p] = -2 * mean[c, k, p] * weights[c, k, p]
                trace[c, p] += var * weights[c, k, p]
                offset[c, p] += mean[c, k, p] ** 2 * weights[c, k, p]
                squares[c, p] += (var * weights[c, k, p]) ** 2
            diagonal += K - k
        at = K
        for k in range(K):
            for h in range(k + 1, K):
                for p in range(P):
                    v = class_sums[at + h - k, p] * inverse[p] - mean[c, k, p] * mean[c, h, p]
                    cov[c, k, h, p] = v
                    squares[c, p] += 2 * (v * v * weights[c, k, p] * weights[c, h, p])
            at += K - k
    return mean, cov, scale2, weights, offset, trace, squares


@njit(cache=True, nogil=True, error_model="numpy")
def _shrunk_within(cov, scale2, trace, squares, fourth, n):
    """The within-class covariance (K, K, P; its upper triangle) of classes with
    covariances ``cov`` (C, K, K, P; upper triangles), each shrunk with its Ledoit-Wolf
    coefficient (from ``trace``, ``squares``, ``fourth`` (C, P): the standardised data's
    statistics) and weighted by its prior; ``n`` (C, P) the class sizes. Returns it and
    the priors (C, P)."""
    C, K, _, P = cov.shape
    prior = n / n.sum(axis=0)
    weight = np.empty((C, P))
    diagonal = np.empty((C, P))
    for c in range(C):
        for p in range(P):
            mu = trace[c, p] / K
            delta = (squares[c, p] - 2 * mu * trace[c, p] + K * mu**2) / K
            beta = min((fourth[c, p] / n[c, p] - squares[c, p]) / (K * n[c, p]), delta)
            shrinkage = 0.0 if beta == 0 else beta / (delta if delta != 0 else 1.0)
            weight[c, p] = prior[c, p] * (1 - shrinkage)
            diagonal[c, p] = prior[c, p] * shrinkage * mu
    within = np.zeros((K, K, P))
    for c in range(C):
        for k in range(K):
            for h in range(k, K):
                for p in range(P):
                    within[k, h, p] += weight[c, p] * cov[c, k, h, p]
            for p in range(P):
                within[k, k, p] += diagonal[c, p] * scale2[c, k, p]
    return within, prior


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky_solve(a, rhs):
    """Solve a x = r in place for symmetric positive definite matrices ``a`` (K, K, P)
    (overwritten by their Cholesky factors) and the rows r of ``rhs`` (m, K, P)."""
    K, _, P = a.shape
    inverse = np.empty((K, P))  # of the factors' diagonals
    for j in range(K):  # a = U^T U, U upper triangular, row by row
        for p in range(P):
            inverse[j, p] = 1 / np.sqrt(a[j, j, p])
        for h in range(j, K):
            for p in range(P):
                a[j, h, p] *= inverse[j, p]
        for i in range(j + 1, K):
            for h in range(i, K):
                for p in range(P):
                    a[i, h, p] -= a[j, i, p] * a[j, h, p]
    for r in range(rhs.shape[0]):
        for j in range(K):  # U^T y = r
            for p in range(P):
                rhs[r, j, p] *= inverse[j, p]
            for h in range(j + 1, K):
                for p in range(P):
                    rhs[r, h, p] -= rhs[r, j, p] * a[j, h, p]
        for j in range(K - 1, -1, -1):  # U x = y
            for p in range(P):
                rhs[r, j, p] *= inverse[j, p]
            for h in range(j):
                for p in range(P):
                    rhs[r, h, p] -= rhs[r, j, p] * a[h, j, p]


@njit(cache=True, nogil=True, error_model="numpy")
def _right_predictions(test_data, truth, mean, coef, prior):
    """How many test samples ``test_data`` (K, n_test) each permutation classifies
    right, (P,): from the class means (C, K, P), discriminant coefficients ``coef``
    (C, K, P) and priors (C, P); ``truth`` (C, n_test, P) is 1 at each sample's class."""
    C, K, P = coef.shape
    n_test = test_data.shape[1]
    decision = np.empty((C, n_test, P))
    for c in range(C):
        intercept = np.log(prior[c])
        for k in range(K):
            for p in range(P):
                intercept[p] -= 0.5 * mean[c, k, p] * coef[c, k, p]
        decision[c] = np.dot(test_data.T, coef[c])
        for j in range(n_test):
            for p in range(P):
                decision[c, j, p] += intercept[p]
    right = np.zeros(P)
    for j in range(n_test):
        for p in range(P):
            if C == 2:
                predicted = 1 if decision[1, j, p] - decision[0, j, p] > 0 else 0
            else:
                predicted = np.argmax(decision[:, j, p])
            right[p] += truth[predicted, j, p]
    return right


# The scorer of each estimator name: built once for a data matrix and its folds, it
# scores batches of spheres.
SCORERS = {
    "svc": SquaredHingeSVCScorer,
    "svc_l2": SquaredHingeSVCScorer,
    "gnb": GaussianNBScorer,
    "lda": ShrinkageLDAScorer,
}


@functools.cache
def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, made once per process:
    making one inspects every loaded library (30 ms in a chunk job, which the fast svc's
    null maps paid once per permutation). scipy's OpenBLAS, whose LAPACK the compiled
    lda calls, is loaded first so that the controller holds it too."""
    import scipy.linalg  # noqa: F401

    return ThreadpoolController()


def _one_blas_thread():
    """BLAS on one thread: the batches' products are small, and a threaded BLAS spends
    more time starting and waiting for its threads than multiplying (measured: the svc
    at 6 mm 3 times slower on 2 busy cores); ``n_threads`` parallelises the batches."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _slices(n, size):
    """0..n in consecutive slices of ``size`` (the last shorter)."""
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def score_spheres_fast(X, y, spheres, estimator, folds, progress=None, n_threads=1):
    """Accuracies (n_spheres, n_folds) of ``estimator``, one of the fast engine's estimators.

    Batches run on ``n_threads`` threads: numpy releases the GIL in the array work.
    """
    return _by_batch(X, y, spheres, estimator, folds, "scores", len(folds), progress, n_threads)[0]


def predict_spheres_fast(X, y, spheres, estimator, folds, progress=None, n_threads=1):
    """The classification measure's :class:`~snakelight.searchlight.measures.Predictions`
    of ``estimator`` (one of the fast engine's estimators) for ``spheres``."""
    n_tests = sum(len(test) for _, test in folds)
    predicted, design = _by_batch(X, y, spheres, estimator, folds, "predictions", n_tests, progress, n_threads)
    # Back to the folds' own order of test samples, from the design's.
    position = np.empty_like(design.order)
    position[design.order] = np.arange(design.order.size)
    start = fold_starts(folds)
    columns = np.concatenate(
        [
            first + np.searchsorted(ordered, position[test])
            for first, (_, test), (_, ordered) in zip(start, folds, design.folds)
        ]
    )
    truth = design.codes[np.concatenate([position[test] for _, test in folds])]
    return Predictions(predicted[:, columns], truth, start, design.n_classes)


def _by_batch(X, y, spheres, estimator, folds, method, width, progress, n_threads):
    """The model's ``method`` ("scores" or "predictions") of every sphere, (n_spheres,
    width), computed in batches on ``n_threads`` threads; and the FoldDesign."""
    _reuse_freed_memory()
    _, codes = np.unique(y, return_inverse=True)
    design = FoldDesign(codes, folds)
    model = SCORERS[estimator](np.asarray(X, dtype=np.float64)[design.order], design)
    index = padded_spheres(spheres, pad=X.shape[1])
    size = model.batch_size(index.shape[1])
    batches = _slices(len(spheres), size)
    result = np.empty((len(spheres), width), dtype=np.float64 if method == "scores" else np.intp)
    compute = getattr(model, method)
    with _one_blas_thread(), ThreadPoolExecutor(max_workers=n_threads) as pool:
        done = 0
        for batch, batch_result in zip(batches, pool.map(lambda b: compute(index[b]), batches)):
            result[batch] = batch_result
            done += batch.stop - batch.start
            if progress is not None:
                progress(done, len(spheres))
    return result, design


# The scorers that batch permutations; the others score them one by one (svc: a Newton
# solve per problem, which shares nothing between permutations).
PERMUTED_SCORERS = {"gnb": PermutedGaussianNBScorer, "lda": PermutedShrinkageLDAScorer}
# Spheres larger than this are scored one permutation at a time by the real labels'
# scorer: the batched lda's features [x, x_k x_l] grow as K^2, and past ~90 voxels one
# lda_predictions per permutation is faster (at 123 voxels 0.92 against 1.85 ms per
# sphere and permutation, KFold(4), 216 samples).
PERMUTED_MAX_VOXELS = {"gnb": np.inf, "lda": 90}


def score_permutations_fast(X, permuted_codes, spheres, estimator, folds, progress=None, n_threads=1):
    """Accuracies (P, n_spheres, n_folds) of ``estimator`` (one of PERMUTED_SCORERS) under
    each row of ``permuted_codes`` (P, samples): class indices, the classes numbered as
    np.unique numbers the labels.

    Only the voxels of ``spheres`` are read, so a chunk's statistics cost its own voxels.
    Permutations are scored in passes of the scorer's size, spheres in batches on
    ``n_threads`` threads.
    """
    _reuse_freed_memory()
    P, n_folds = len(permuted_codes), len(folds)
    used = np.unique(np.concatenate(spheres))
    X = np.asarray(X, dtype=np.float64)[:, used]
    index = padded_spheres([np.searchsorted(used, sphere) for sphere in spheres], pad=used.size)
    scorer = PERMUTED_SCORERS[estimator]
    per_pass = scorer.permutations_per_pass
    if callable(per_pass):
        per_pass = per_pass(used.size, n_folds, int(np.max(permuted_codes)) + 1)
    scores = np.empty((P, len(spheres), n_folds))
    done = 0
    with _one_blas_thread(), ThreadPoolExecutor(max_workers=n_threads) as pool:
        for block in _slices(P, per_pass):
            design = PermutationDesign(permuted_codes[block], folds)
            model = scorer(X[design.order], design)
            size = model.batch_size(index.shape[1])
            batches = _slices(len(spheres), size)
            for batch, batch_scores in zip(batches, pool.map(model.scores, (index[b] for b in batches))):
                scores[block, batch] = batch_scores
                done += (batch.stop - batch.start) * (block.stop - block.start)
                if progress is not None:
                    progress(done, P * len(spheres))
    return scores
