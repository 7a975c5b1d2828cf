"""The chunk jobs: score the spheres of one share of the process mask, under the real labels
(:func:`run_chunk`) or under a block of permutations (:func:`run_null_chunk`), and write them."""

import logging
import time
from typing import NamedTuple

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.inference.permutations import COLUMN_PREFIX, read_permutations
from snakelight.io import InputError, read_json, read_masked_samples, read_samples_table, write_chunk, write_null_chunk
from snakelight.searchlight.chunks import chunk_positions
from snakelight.searchlight.cv import contrast_targets_and_folds
from snakelight.searchlight.engines import resolve_engine
from snakelight.searchlight.outputs import output_scorer
from snakelight.searchlight.scoring import check_finite_scores, score_outputs, score_spheres_permuted
from snakelight.searchlight.spheres import process_seeds, sphere_members

log = logging.getLogger(__name__)


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
        log.info(
            "%s: %d/%d spheres (%.0f%%), %.1f s elapsed, ETA %.1f s",
            self.name,
            done,
            total,
            100 * done / total,
            elapsed,
            eta,
        )


def used_columns(X, spheres):
    """The columns of ``X`` (samples, mask voxels) that ``spheres`` (sorted column
    indices) hold, in order, the spheres as indices into those columns, and the
    columns' indices (all of them without spheres)."""
    if not spheres:
        return X, spheres, np.arange(X.shape[1])
    columns = np.unique(np.concatenate(spheres))
    return X[:, columns], [np.searchsorted(columns, sphere) for sphere in spheres], columns


class ChunkProblem(NamedTuple):
    positions: np.ndarray  # (S,) the chunk's positions among the process-mask seeds
    spheres: list  # S sorted arrays of column indices into X
    X: np.ndarray  # (samples, mask voxels)
    table: pd.DataFrame  # samples.tsv: label and run per sample
    folds: list  # (train, test) index pairs of the real labels
    targets: np.ndarray  # (samples,) what is decoded: the labels, or a cross-classification's targets
    columns: np.ndarray  # (X's columns,) their indices among the mask voxels


class ChunkInputs(NamedTuple):
    """The files a chunk job reads (snakelight/io.py says what each holds)."""

    samples_img: str  # samples.nii.gz: only its affine is read (a header read)
    masked_samples: str  # masked_samples.npy: the data scored
    samples_table: str  # samples.tsv
    mask_img: str  # the brain mask
    process_mask_img: str  # process_mask.nii.gz
    residuals: str | None = None  # a GLM's residuals (snakelight.data.glm.Residuals), if the source has them


def chunk_inputs(job_input):
    """ChunkInputs from a chunk rule's input (``samples``, ``masked_samples``, ``table``,
    ``dataset``, whose manifest names the brain mask and any residuals, and ``process_mask``)."""
    manifest = read_json(job_input.dataset)
    return ChunkInputs(
        job_input.samples,
        job_input.masked_samples,
        job_input.table,
        manifest["mask"],
        job_input.process_mask,
        manifest.get("residuals"),
    )


def load_chunk(inputs, *, chunk, n_chunks, radius, cv, cross=None, target=None):
    """What a chunk job scores: its spheres, the samples, the targets and the folds, from
    ``inputs`` (:class:`ChunkInputs`); ``cross``: the contrast's cross_classification
    config, or None; ``target``: the samples table's numeric column the contrast decodes
    (its continuous_targets entry), or None for its labels.

    With more chunks than process-mask voxels, the extra chunks have no sphere (and warn).
    """
    table = read_samples_table(inputs.samples_table)
    imgs, mask_img, process_mask_img = map(nib.load, (inputs.samples_img, inputs.mask_img, inputs.process_mask_img))
    seeds = process_seeds(np.asarray(process_mask_img.dataobj))
    positions = chunk_positions(len(seeds), n_chunks, chunk)
    log.info("chunk %d/%d: %d of %d spheres, radius %s mm", chunk + 1, n_chunks, len(positions), len(seeds), radius)
    if len(positions) == 0:
        log.warning(
            "chunk %d/%d has no sphere: searchlight.n_chunks (%d) is larger than the number of "
            "process-mask voxels (%d); writing an empty chunk",
            chunk + 1,
            n_chunks,
            n_chunks,
            len(seeds),
        )
        spheres = []
    else:
        spheres = sphere_members(
            np.asarray(mask_img.dataobj), imgs.affine, seeds[positions], radius, seed_affine=process_mask_img.affine
        )
    if spheres and all(sphere.size == 1 for sphere in spheres):
        log.warning(
            "searchlight.radius %s mm: every sphere of chunk %d/%d holds a single voxel "
            "(voxel size %s mm), so this is a voxel-wise decoding",
            radius,
            chunk + 1,
            n_chunks,
            " x ".join(f"{size:g}" for size in mask_img.header.get_zooms()[:3]),
        )
    # Only the voxels the chunk's spheres hold: a slice's chunk converts and reads a
    # fraction of the brain (the values, and so the scores, are the same).
    X, spheres, columns = used_columns(read_masked_samples(inputs.masked_samples), spheres)
    targets, folds = contrast_targets_and_folds(cv, cross, table, target)
    return ChunkProblem(positions, spheres, X, table, folds, targets, columns)


def run_chunk(
    inputs,
    *,
    chunk,
    n_chunks,
    radius,
    estimator,
    cv,
    scoring,
    output,
    confusion=False,
    cross=None,
    target=None,
    engine="auto",
    n_threads=1,
):
    """Score the spheres of one chunk of ``inputs`` (:func:`load_chunk`) for every scorer of
    ``scoring`` (and with ``confusion`` their confusion matrices) and write them
    (``chunks/<i>.npz``), {output name: (spheres, values)}; a chunk without spheres writes
    an empty chunk, which the merge puts together as usual."""
    problem = load_chunk(inputs, chunk=chunk, n_chunks=n_chunks, radius=radius, cv=cv, cross=cross, target=target)
    log.info("engine %s, estimator %s", resolve_engine(engine, estimator), estimator)
    outputs = score_outputs(
        problem.X,
        problem.targets,
        problem.spheres,
        estimator,
        problem.folds,
        engine=engine,
        scoring=scoring,
        confusion=confusion,
        progress=ProgressLog(f"chunk {chunk + 1}/{n_chunks}"),
        n_threads=n_threads,
    )
    for name, scores in outputs.items():
        if name == "confusion":
            continue  # counts
        check_finite_scores(
            scores, estimator=estimator, scoring=output_scorer(scoring, name), where=f"chunk {chunk + 1}/{n_chunks}"
        )
    write_chunk(output, problem.positions, outputs)
    return outputs


def run_null_chunk(
    inputs,
    permutations_tsv,
    *,
    chunk,
    n_chunks,
    first,
    last,
    radius,
    estimator,
    cv,
    scoring,
    output,
    cross=None,
    target=None,
    engine="auto",
    n_threads=1,
):
    """Score the spheres of one chunk under permutations ``first`` .. ``last`` (the columns of
    the block's permutations file, checked to be permutations within runs) and write each sphere's
    mean score over the folds (``null_chunks/<i>/<first>-<last>.npz``). The folds are the
    real labels' (:func:`snakelight.searchlight.scoring.score_spheres_permuted`). A block
    past a design's listed relabellings holds fewer columns, or none: its chunk has as few
    maps (merge_null checks the total against permutations.tsv). ``cross``: the contrast's
    cross_classification config, whose permutations are of its targets; ``target``: its
    continuous target's column, whose values are permuted."""
    problem = load_chunk(inputs, chunk=chunk, n_chunks=n_chunks, radius=radius, cv=cv, cross=cross, target=target)
    permuted = read_permutations(permutations_tsv, problem.targets, problem.table["run"], first=first)
    if target is not None:
        permuted = permuted.astype(float)  # the values as written, read back exactly
    if permuted.shape[1] > last - first + 1:
        raise InputError(
            f"{permutations_tsv}: {permuted.shape[1]} permutations from {COLUMN_PREFIX}{first}, but this job "
            f"scores {COLUMN_PREFIX}{first} .. {COLUMN_PREFIX}{last}; delete it to have it written again"
        )
    last = first + permuted.shape[1] - 1
    if last < first:
        log.info("permutations %d..: none (past the design's distinct relabellings)", first)
        write_null_chunk(output, problem.positions, np.arange(first, first), np.empty((0, len(problem.positions))))
        return np.empty((0, len(problem.positions)))
    where = f"chunk {chunk + 1}/{n_chunks}, permutations {first}..{last}"
    log.info("permutations %d..%d, engine %s, estimator %s", first, last, resolve_engine(engine, estimator), estimator)
    null = score_spheres_permuted(
        problem.X,
        permuted,
        problem.spheres,
        estimator,
        problem.folds,
        engine=engine,
        scoring=scoring,
        progress=ProgressLog(where),
        n_threads=n_threads,
    )
    # (P, spheres, folds) -> (spheres, P x folds): a sphere is bad if any permutation's fold is.
    by_sphere = null.transpose(1, 0, 2).reshape(null.shape[1], -1)
    check_finite_scores(by_sphere, estimator=estimator, scoring=scoring, where=where)
    null_scores = null.mean(axis=2)
    write_null_chunk(output, problem.positions, np.arange(first, last + 1), null_scores)
    return null_scores
