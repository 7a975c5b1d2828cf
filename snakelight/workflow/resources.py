"""What each job asks a cluster scheduler for: memory (``mem_mb``) and wall time
(``runtime``, minutes), estimated from the job's data (docs: How-to, "Run on SLURM or another cluster").

A job's memory is its fixed cost (:data:`JOB_BASE_MB`) plus the image it holds, as
float64; its time is a start-up cost, the time to read that image and, for a
searchlight chunk, the scoring (spheres x samples x ``sphere_cost_us``). Both are
multiplied by ``margin``, raised to the floors ``min_mem_mb`` / ``min_runtime`` and
multiplied by the attempt number, so a job killed for memory or time gets twice as
much when Snakemake retries it. ``settings`` is the config's ``resources`` section.
"""

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from snakelight.searchlight.chunks import chunk_positions

# A cluster job runs two Snakemake processes (the SLURM plugin's job step, and the job)
# and the step's own Python with numpy, scikit-learn and nilearn imported: the step
# alone peaked at 190-240 MB RSS on the test data (Snakemake's benchmark files).
JOB_BASE_MB = 500
# Those three start-ups took 8 s on the 2-core development machine.
JOB_START_S = 30
# Reading and decompressing a NIfTI image, per MB of its float64 size.
READ_S_PER_MB = 0.05


@dataclass(frozen=True)
class Request:
    mem_mb: int
    runtime: int


def request(settings, *, attempt=1, image_mb=0.0, scoring_s=0.0):
    """The request of a job holding an image of ``image_mb`` and scoring for ``scoring_s``."""
    mem_mb = settings["margin"] * (JOB_BASE_MB + image_mb)
    minutes = settings["margin"] * (JOB_START_S + READ_S_PER_MB * image_mb + scoring_s) / 60
    return Request(
        mem_mb=attempt * max(settings["min_mem_mb"], math.ceil(mem_mb)),
        runtime=attempt * max(settings["min_runtime"], math.ceil(minutes)),
    )


def array_mb(shape):
    """Size in MB of a float64 array of ``shape``."""
    return math.prod(shape) * 8 / 1e6


def _load(path):
    """nib.load, but a missing file raises a FileNotFoundError naming ``path``: Snakemake
    then knows the input is not made yet and evaluates the resource once it is."""
    Path(path).stat()
    return nib.load(path)


def image_mb(path):
    """Size in MB of a NIfTI image as float64, from its header."""
    return array_mb(_load(path).shape)


def chunk_spheres(process_mask_img, n_chunks):
    """Spheres in the largest of ``n_chunks`` chunks of the process mask (the first)."""
    n_seeds = _seed_count(process_mask_img, Path(process_mask_img).stat().st_mtime_ns)
    return chunk_positions(n_seeds, n_chunks, 0).size


@functools.cache
def _seed_count(process_mask_img, mtime_ns):
    """Voxels in the process mask, read once per version of the file: Snakemake asks
    for every chunk's mem_mb and runtime."""
    return np.count_nonzero(np.asarray(_load(process_mask_img).dataobj))


# searchlight.n_chunks: auto gives no chunk less work than this, in spheres x samples:
# about 2 s of the exact svc engine's scoring (~2 us per sphere and sample), as much as
# a job's start-up. The seed's slice (650 spheres x 216 samples) is one chunk.
MIN_CHUNK_WORK = 1_000_000


def auto_chunks(process_mask_img, samples_img, parallelism):
    """The number of chunks for ``searchlight.n_chunks: auto``: one per core or cluster
    job (``parallelism``), but none scoring less than :data:`MIN_CHUNK_WORK`."""
    n_seeds = _seed_count(process_mask_img, Path(process_mask_img).stat().st_mtime_ns)
    work = n_seeds * _load(samples_img).shape[3]
    return max(1, min(parallelism, work // MIN_CHUNK_WORK))


def chunk_request(settings, samples_img, process_mask_img, n_chunks, *, attempt=1, n_maps=1):
    """The request of a searchlight chunk: the samples image, and its spheres' scoring for
    ``n_maps`` maps (a null-map job's block of permutations; the fast gnb and lda batch
    them, so this bounds their time from above)."""
    shape = _load(samples_img).shape
    spheres, samples = chunk_spheres(process_mask_img, n_chunks), shape[3]
    return request(
        settings,
        attempt=attempt,
        image_mb=array_mb(shape) + array_mb((n_maps, spheres)),
        scoring_s=n_maps * spheres * samples * settings["sphere_cost_us"] * 1e-6,
    )


# TFCE (exact, snakelight.inference.tfce) sorts each map's voxels once and merges their
# clusters: measured about 0.08 us per process-mask voxel and map on the development machine
# (3.4 ms per 43,786-voxel map); 0.2 leaves room for a slower one.
TFCE_US_PER_VOXEL = 0.2


def null_maps_request(settings, process_mask_img, n_maps, *, attempt=1, copies=1, tfce=False):
    """The request of a job holding ``copies`` float64 arrays of ``n_maps`` maps over the
    process mask (the null merge: one block; the statistics: all P + 1 maps, a few times
    over, and with ``tfce`` the TFCE of each map)."""
    seeds = chunk_spheres(process_mask_img, 1)
    tfce_s = n_maps * seeds * TFCE_US_PER_VOXEL * 1e-6
    return request(
        settings,
        attempt=attempt,
        image_mb=copies * array_mb((n_maps, seeds)),
        scoring_s=tfce_s if tfce else 0.0,
    )
