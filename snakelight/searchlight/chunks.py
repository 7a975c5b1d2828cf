"""Chunks: how the process-mask seeds are split between jobs, and put back together.

Kept apart from the engines so that the merge job imports neither
scikit-learn nor nilearn.
"""

import nibabel as nib
import numpy as np

from snakelight.io import read_chunk, write_nifti
from snakelight.searchlight.measures import recall


def chunk_positions(n_seeds, n_chunks, chunk):
    """Positions (in seed order) handled by chunk ``chunk`` of ``n_chunks``: contiguous,
    balanced, and together covering every seed exactly once."""
    if not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} is not in 0..{n_chunks - 1}")
    return np.array_split(np.arange(n_seeds), n_chunks)[chunk]


def merge_chunks(chunk_paths, process_mask_img, paths, confusion_paths=None, rdms_path=None):
    """Assemble chunk outputs into each output's score map (nilearn's ``scores_``) and
    per-fold maps, written to ``paths`` {output name: (map path, folds path)}, and with
    ``confusion_paths`` (confusion path, recall path) the confusion matrices (one volume
    per (true, predicted) class pair, row by row) and each class's recall (one volume per
    class), and with ``rdms_path`` the RSA measure's RDMs (one volume per condition pair);
    returns the number of folds the chunks were scored on. Fails if the chunks do
    not cover every seed exactly once, or lack an output."""
    process_mask_img = nib.load(process_mask_img)
    process_mask = np.asarray(process_mask_img.dataobj) != 0
    n_seeds = int(process_mask.sum())
    chunks = [read_chunk(path) for path in chunk_paths]
    times_scored = np.bincount(np.concatenate([seeds for seeds, _ in chunks]), minlength=n_seeds)
    if times_scored.size != n_seeds or np.any(times_scored != 1):
        raise ValueError(
            f"chunks cover {np.count_nonzero(times_scored[:n_seeds])} of {n_seeds} seeds, "
            f"{np.count_nonzero(times_scored > 1)} more than once"
        )

    def gathered(name):
        missing = [str(path) for path, (_, outputs) in zip(chunk_paths, chunks) if name not in outputs]
        if missing:
            raise ValueError(f"{missing[0]} holds no output {name!r}; delete it to have it scored again")
        values = np.empty((n_seeds, chunks[0][1][name].shape[1]))
        for seeds, outputs in chunks:
            values[seeds] = outputs[name]
        return values

    def write(path, data):
        write_nifti(path, nib.Nifti1Image(data, process_mask_img.affine))

    for name, (map_path, folds_path) in paths.items():
        fold_scores = gathered(name)
        score_map, fold_maps = score_maps(process_mask, fold_scores)
        write(map_path, score_map)
        write(folds_path, fold_maps)
    if confusion_paths is not None:
        confusion = gathered("confusion")
        for path, values in zip(confusion_paths, (confusion, recall(confusion))):
            write(path, score_maps(process_mask, values)[1])
    if rdms_path is not None:
        write(rdms_path, score_maps(process_mask, gathered("rdms"))[1])
    return fold_scores.shape[1]


def score_maps(process_mask, fold_scores):
    """The score map (nilearn's ``scores_``: the mean over folds, zero outside the process
    mask; the mask's shape) and the per-fold maps (the mask's shape, n_folds) of the
    scores (n_seeds, n_folds) of the seeds in C order of the 3D ``process_mask``."""
    seed_index = np.nonzero(process_mask)
    score_map = np.zeros(process_mask.shape)
    score_map[seed_index] = fold_scores.mean(axis=1)
    fold_maps = np.zeros((*process_mask.shape, fold_scores.shape[1]))
    fold_maps[seed_index] = fold_scores
    return score_map, fold_maps


def write_direction_maps(folds_path, design, paths):
    """A cross-classification's map of each direction apart (``directions: each``): the
    mean over that direction's folds of the per-fold maps ``folds_path`` (x, y, z, folds)
    of ``design`` (:class:`snakelight.searchlight.cross.CrossDesign`), written to
    ``paths`` {direction: path}, in the per-fold maps' data type."""
    from snakelight.searchlight.cross import by_direction

    folds = nib.load(folds_path)
    data = np.asarray(folds.dataobj)
    if data.shape[-1] != len(design.folds):
        raise ValueError(f"{folds_path}: {data.shape[-1]} folds; the design of samples.tsv has {len(design.folds)}")
    means = by_direction(data.reshape(-1, data.shape[-1]), design)
    for direction, path in paths.items():
        write_nifti(path, nib.Nifti1Image(means[direction].reshape(data.shape[:-1]).astype(data.dtype), folds.affine))
