"""Searchlight scoring, and the chunk job around it.

:func:`score_spheres` is the one place spheres are scored; chunk jobs, tests and
benchmarks all go through it. It runs one of two engines:

- ``exact`` (:mod:`snakelight.exact`): nilearn's ``SearchLight`` scores, bit for bit,
  with the estimator nilearn builds from its name;
- ``fast`` (:mod:`snakelight.batched`): batched estimators over many spheres at once.
"""

import logging
import time

import nibabel as nib
import numpy as np
from nilearn.decoding._utils import validate_estimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import KFold, LeaveOneGroupOut
from sklearn.naive_bayes import GaussianNB

from snakelight import batched
from snakelight.chunks import chunk_positions
from snakelight.exact import score_spheres_exact
from snakelight.io import read_masked_samples, read_samples_table, write_chunk
from snakelight.spheres import process_seeds, sphere_members

log = logging.getLogger(__name__)

NILEARN_ESTIMATORS = ("svc", "svc_l2", "svc_l1", "logistic", "logistic_l2", "logistic_l1",
                      "ridge_classifier", "dummy_classifier")
# Closed-form estimators and their scikit-learn counterparts (used by the exact engine).
OTHER_ESTIMATORS = {
    "gnb": lambda: GaussianNB(),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
}


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


def make_estimator(name):
    """The scikit-learn estimator for ``name``: nilearn's for its names, else the
    counterpart of a fast estimator."""
    if name in OTHER_ESTIMATORS:
        return OTHER_ESTIMATORS[name]()
    return validate_estimator(name, owning_class_type="classifier")


def resolve_engine(engine, estimator):
    """``auto``: exact for nilearn's estimators, fast for the closed-form ones."""
    if engine == "auto":
        return "exact" if estimator in NILEARN_ESTIMATORS else "fast"
    return engine


def score_spheres(X, y, spheres, estimator, folds, *, engine="auto", scoring=None,
                  progress=None, n_threads=1):
    """Cross-validated scores of each sphere: an array (n_spheres, n_folds).

    ``X`` is (samples, mask voxels), ``spheres`` a list of sorted column indices into
    ``X``, ``folds`` (train, test) index pairs. ``progress(done, total)`` is called as
    spheres complete.
    """
    engine = resolve_engine(engine, estimator)
    if len(spheres) == 0:
        return np.empty((0, len(folds)))
    if engine == "exact":
        return score_spheres_exact(X, y, spheres, make_estimator(estimator), folds,
                                   scoring=scoring, progress=progress)
    problem = batched.unsupported(estimator, scoring)
    if problem is not None:
        raise ValueError(problem[1])
    return batched.score_spheres_fast(X, y, spheres, estimator, folds, progress=progress,
                                      n_threads=n_threads)


class ProgressLog:
    """Logs processed/total and an estimated time left, at most every ``every`` seconds."""

    def __init__(self, name, every=10.0):
        self.name, self.every = name, every
        self.start = self.last = time.monotonic()

    def __call__(self, done, total):
        now = time.monotonic()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / done * (total - done)
        log.info("%s: %d/%d spheres (%.0f%%), %.1f s elapsed, ETA %.1f s",
                 self.name, done, total, 100 * done / total, elapsed, eta)


def run_chunk(samples_img, masked_samples, samples_table, mask_img, process_mask_img, *, chunk,
              n_chunks, radius, estimator, cv, scoring, output, engine="auto", n_threads=1):
    """Score the spheres of one chunk and write them (``chunks/<i>.npz``). The samples
    image gives only its affine (a header read); the data come from ``masked_samples``.

    With more chunks than process-mask voxels, the extra chunks have no sphere: they
    write an empty chunk (and warn), and the merge puts the others together as usual.
    """
    table = read_samples_table(samples_table)
    imgs, mask_img, process_mask_img = map(nib.load, (samples_img, mask_img, process_mask_img))
    seeds = process_seeds(np.asarray(process_mask_img.dataobj))
    positions = chunk_positions(len(seeds), n_chunks, chunk)
    log.info("chunk %d/%d: %d of %d spheres, radius %s mm", chunk + 1, n_chunks,
             len(positions), len(seeds), radius)
    if len(positions) == 0:
        log.warning("chunk %d/%d has no sphere: searchlight.n_chunks (%d) is larger than the number of "
                    "process-mask voxels (%d); writing an empty chunk", chunk + 1, n_chunks, n_chunks, len(seeds))
        spheres = []
    else:
        spheres = sphere_members(np.asarray(mask_img.dataobj), imgs.affine, seeds[positions],
                                 radius, seed_affine=process_mask_img.affine)
    if spheres and all(sphere.size == 1 for sphere in spheres):
        log.warning("searchlight.radius %s mm: every sphere of chunk %d/%d holds a single voxel "
                    "(voxel size %s mm), so this is a voxel-wise decoding", radius, chunk + 1, n_chunks,
                    " x ".join(f"{size:g}" for size in mask_img.header.get_zooms()[:3]))
    X = read_masked_samples(masked_samples)
    y = table["label"].to_numpy()
    folds = make_folds(make_cv(**cv), X, y, table["run"].to_numpy())
    log.info("engine %s, estimator %s", resolve_engine(engine, estimator), estimator)
    scores = score_spheres(X, y, spheres, estimator, folds, engine=engine, scoring=scoring,
                           progress=ProgressLog(f"chunk {chunk + 1}/{n_chunks}"), n_threads=n_threads)
    write_chunk(output, positions, scores)
    return scores
