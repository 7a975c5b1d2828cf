"""The chunk job: score the spheres of one share of the process mask and write them."""

import logging
import time

import nibabel as nib
import numpy as np

from snakelight.io import read_masked_samples, read_samples_table, write_chunk
from snakelight.searchlight.chunks import chunk_positions
from snakelight.searchlight.cv import make_cv, make_folds
from snakelight.searchlight.engines import resolve_engine
from snakelight.searchlight.scoring import check_finite_scores, score_spheres
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


def run_chunk(
    samples_img,
    masked_samples,
    samples_table,
    mask_img,
    process_mask_img,
    *,
    chunk,
    n_chunks,
    radius,
    estimator,
    cv,
    scoring,
    output,
    engine="auto",
    n_threads=1,
):
    """Score the spheres of one chunk and write them (``chunks/<i>.npz``). The samples
    image gives only its affine (a header read); the data come from ``masked_samples``.

    With more chunks than process-mask voxels, the extra chunks have no sphere: they
    write an empty chunk (and warn), and the merge puts the others together as usual.
    """
    table = read_samples_table(samples_table)
    imgs, mask_img, process_mask_img = map(nib.load, (samples_img, mask_img, process_mask_img))
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
    X = read_masked_samples(masked_samples)
    y = table["label"].to_numpy()
    folds = make_folds(make_cv(**cv), X, y, table["run"].to_numpy())
    log.info("engine %s, estimator %s", resolve_engine(engine, estimator), estimator)
    scores = score_spheres(
        X,
        y,
        spheres,
        estimator,
        folds,
        engine=engine,
        scoring=scoring,
        progress=ProgressLog(f"chunk {chunk + 1}/{n_chunks}"),
        n_threads=n_threads,
    )
    check_finite_scores(scores, estimator=estimator, scoring=scoring, where=f"chunk {chunk + 1}/{n_chunks}")
    write_chunk(output, positions, scores)
    return scores
