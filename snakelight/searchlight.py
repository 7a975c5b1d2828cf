"""Searchlight scoring in chunks, and the merge of chunks into maps.

:func:`score_spheres` is the one place spheres are scored; chunk jobs, tests and
benchmarks all go through it. Its result equals nilearn's ``SearchLight`` sphere by
sphere: the same estimator (built by nilearn from its name), the same
cross-validation, the same features in the same order.
"""

import logging
import time
import warnings

import nibabel as nib
import numpy as np
from nilearn.decoding._utils import validate_estimator
from nilearn.masking import apply_mask_fmri
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, LeaveOneGroupOut, cross_val_score

from snakelight.io import atomic_path, read_chunk, read_samples_table, write_chunk
from snakelight.spheres import process_seeds, sphere_members

log = logging.getLogger(__name__)


def make_cv(method, n_splits=4):
    """The cross-validation scheme: KFold without shuffling (the seed's) or one run out."""
    if method == "kfold":
        return KFold(n_splits=n_splits)
    if method == "leave_one_run_out":
        return LeaveOneGroupOut()
    raise ValueError(f"unknown cross-validation method {method!r}")


def make_estimator(name):
    """The scikit-learn estimator nilearn's SearchLight builds for ``name``."""
    return validate_estimator(name, owning_class_type="classifier")


def score_spheres(X, y, spheres, estimator, cv, groups=None, scoring=None, progress=None):
    """Cross-validated scores of each sphere: an array (n_spheres, n_folds).

    ``X`` is (samples, mask voxels), ``spheres`` a list of column indices into ``X``.
    ``progress(done, total)`` is called as spheres complete.
    """
    n_folds = cv.get_n_splits(X, y, groups)
    scores = np.empty((len(spheres), n_folds))
    # nilearn hands groups to every splitter but KFold.
    cv_groups = None if isinstance(cv, KFold) else groups
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, sphere in enumerate(spheres):
            scores[i] = cross_val_score(
                estimator, X[:, sphere], y, groups=cv_groups, cv=cv, scoring=scoring, n_jobs=1
            )
            if progress is not None:
                progress(i + 1, len(spheres))
    return scores


def chunk_positions(n_seeds, n_chunks, chunk):
    """Positions (in seed order) handled by chunk ``chunk`` of ``n_chunks``: contiguous,
    balanced, and together covering every seed exactly once."""
    if not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} is not in 0..{n_chunks - 1}")
    return np.array_split(np.arange(n_seeds), n_chunks)[chunk]


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


def run_chunk(samples_img, samples_table, mask_img, process_mask_img, *, chunk, n_chunks,
              radius, estimator, cv, scoring, output):
    """Score the spheres of one chunk and write them (``chunks/<i>.npz``)."""
    table = read_samples_table(samples_table)
    imgs, mask_img, process_mask_img = map(nib.load, (samples_img, mask_img, process_mask_img))
    seeds = process_seeds(np.asarray(process_mask_img.dataobj))
    positions = chunk_positions(len(seeds), n_chunks, chunk)
    log.info("chunk %d/%d: %d of %d spheres, radius %s mm", chunk + 1, n_chunks,
             len(positions), len(seeds), radius)
    spheres = sphere_members(np.asarray(mask_img.dataobj), imgs.affine, seeds[positions],
                             radius, seed_affine=process_mask_img.affine)
    X = apply_mask_fmri(imgs, mask_img)
    splitter = make_cv(**cv)
    scores = score_spheres(
        X, table["label"].to_numpy(), spheres, make_estimator(estimator), splitter,
        groups=table["run"].to_numpy(), scoring=scoring,
        progress=ProgressLog(f"chunk {chunk + 1}/{n_chunks}"),
    )
    write_chunk(output, positions, scores)
    return scores


def merge_chunks(chunk_paths, process_mask_img, map_path, folds_path):
    """Assemble chunk outputs into the score map (nilearn's ``scores_``) and the per-fold
    maps. Fails if the chunks do not cover every seed exactly once."""
    process_mask_img = nib.load(process_mask_img)
    process_mask = np.asarray(process_mask_img.dataobj) != 0
    n_seeds = int(process_mask.sum())
    chunks = [read_chunk(path) for path in chunk_paths]
    times_scored = np.bincount(np.concatenate([seeds for seeds, _ in chunks]), minlength=n_seeds)
    if times_scored.size != n_seeds or np.any(times_scored != 1):
        raise ValueError(f"chunks cover {np.count_nonzero(times_scored[:n_seeds])} of {n_seeds} seeds, "
                         f"{np.count_nonzero(times_scored > 1)} more than once")
    n_folds = chunks[0][1].shape[1]
    fold_scores = np.empty((n_seeds, n_folds))
    for seeds, scores in chunks:
        fold_scores[seeds] = scores
    seed_index = np.nonzero(process_mask)
    score_map = np.zeros(process_mask.shape)
    score_map[seed_index] = fold_scores.mean(axis=1)
    fold_maps = np.zeros((*process_mask.shape, n_folds))
    fold_maps[seed_index] = fold_scores
    for path, data in ((map_path, score_map), (folds_path, fold_maps)):
        with atomic_path(path) as tmp:
            nib.Nifti1Image(data, process_mask_img.affine).to_filename(tmp)
    return score_map
