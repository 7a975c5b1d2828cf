"""A generated dataset with Haxby et al. (2001)'s geometry and design, laid out on disk
exactly as ``nilearn.datasets.fetch_haxby`` expects, so the real fetcher reads it.

Each run has one 9-volume block per category, in a per-run random order, between
rest periods (121 volumes at TR = 2.5 s, as in Haxby's data). The BOLD signal is a
voxel-wise baseline, spatially smooth AR(1) noise with a slow drift, and two planted
category-selective regions (face, house) whose response follows the block design
convolved with nilearn's Glover HRF. The ground truth is written as ``truth.nii.gz``
(1 = face-selective, 2 = house-selective). Everything is seeded: the same
parameters give the same bytes.

A multi-subject study shares one grid (the mask); each subject has its own noise and
design (seeded by the seed and the subject number, each from a generator of its own) and, optionally, its own version of
the planted regions: each region's centre shifted by up to ``jitter_mm`` along each axis,
the amplitude scaled by a factor in [1 - amplitude_spread, 1 + amplitude_spread], or no
planted effect at all (``carries_effect=False``: the truth is empty). Those draws come
from a generator of their own, so with no jitter and no spread a subject's files are the
bytes of a single-subject run.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from snakelight.data.haxby_design import (
    BLOCK_VOLUMES,
    CATEGORIES,
    RATING_COLUMN,
    RUN_VOLUMES,
    SUBJECT_MASKS,
    T_R,
    haxby_affine,
)
from snakelight.io import atomic_path, write_nifti

# Rest volumes before the first block and between blocks.
_LEAD_REST, _GAP_REST = 6, 5
# Planted regions: centre as a fraction of the volume's half-extent, and radius (mm).
# On Haxby's grid both cross the seed's process mask (slice z = 29, i.e. -9.4 mm,
# posterior to y = 30, i.e. -5.6 mm): face at (35, -54, -9) mm, house at (-24, -42, -9).
_REGIONS = {"face": ((0.5, -0.45, -0.075), 10.0), "house": ((-0.35, -0.35, -0.075), 10.0)}
# The truth values each of fetch_haxby's ROI masks covers.
_MASK_REGIONS = dict(zip(SUBJECT_MASKS, [(1, 2), (1,), (2,), (1,), (2,)]))
# The noise's spatial smoothing: a Gaussian kernel of 1.5 voxels FWHM, cut at scipy's
# default radius (4 sigma).
_NOISE_SIGMA = 1.5 / 2.355
_NOISE_RADIUS = int(4.0 * _NOISE_SIGMA + 0.5)


def brain_mask(shape, voxel_size):
    """A brain-shaped mask: an ellipsoid flattened at the base, filling the grid like
    Haxby's mask (about 40,000 voxels on the 40x64x64 grid)."""
    affine = haxby_affine(shape, voxel_size)
    world = _world_grid(shape, affine)
    extent = np.abs(np.diag(affine)[:3]) * np.array(shape) / 2
    semi_axes = extent * np.array([0.88, 0.78, 0.78])
    centre = np.array([0.0, -0.05, 0.08]) * extent
    r = np.sqrt((((world - centre) / semi_axes) ** 2).sum(axis=-1))
    floor = world[..., 2] > centre[2] - 0.75 * semi_axes[2]
    return nib.Nifti1Image(((r <= 1.0) & floor).astype(np.uint8), affine)


def _world_grid(shape, affine):
    ijk = np.stack(np.meshgrid(*map(np.arange, shape), indexing="ij"), axis=-1)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def block_design(n_runs, rng):
    """Per-volume labels and runs: a DataFrame with Haxby's columns (labels, chunks)."""
    labels = []
    for _ in range(n_runs):
        run = ["rest"] * _LEAD_REST
        for i, category in enumerate(rng.permutation(CATEGORIES)):
            run += [str(category)] * BLOCK_VOLUMES + ["rest"] * (_GAP_REST if i < 7 else 0)
        run += ["rest"] * (RUN_VOLUMES - len(run))
        labels += run
    chunks = np.repeat(np.arange(n_runs), RUN_VOLUMES)
    return pd.DataFrame({"labels": labels, "chunks": chunks})


def truth_map(mask_img, shifts_mm=None):
    """Integer image: 1 inside the planted face region, 2 inside the house region.
    shifts_mm: (2, 3) world-space shift of each region's centre (face, house), or None."""
    world = _world_grid(mask_img.shape, mask_img.affine)
    half_extent = np.abs(np.diag(mask_img.affine)[:3]) * np.array(mask_img.shape) / 2
    mask = np.asarray(mask_img.dataobj) > 0
    truth = np.zeros(mask.shape, dtype=np.uint8)
    shifts_mm = np.zeros((len(_REGIONS), 3)) if shifts_mm is None else np.asarray(shifts_mm, dtype=float)
    for value, ((centre, radius), shift) in enumerate(zip(_REGIONS.values(), shifts_mm, strict=True), start=1):
        inside = np.linalg.norm(world - (np.array(centre) * half_extent + shift), axis=-1) <= radius
        truth[inside & mask] = value
    return nib.Nifti1Image(truth, mask_img.affine)


def subject_variation(seed, subject, *, jitter_mm, amplitude_spread):
    """One subject's version of the planted regions: (2, 3) centre shifts in mm, each
    uniform in [-jitter_mm, jitter_mm], and an amplitude factor uniform in
    [1 - amplitude_spread, 1 + amplitude_spread]; from a generator of their own."""
    rng = np.random.default_rng([seed, subject, 1])
    shifts = jitter_mm * rng.uniform(-1, 1, size=(len(_REGIONS), 3))
    return shifts, 1 + amplitude_spread * rng.uniform(-1, 1)


def geometry_patterns(truth, rng):
    """(categories, voxels) float32 response patterns of the ``rsa`` geometry over the mask
    voxels whose truth values are ``truth`` (voxels,): in region 1 the categories follow
    snakelight.rsa.synthetic.ANIMACY, in region 2 SHAPE (the categories of a group share one
    standard normal pattern); zero elsewhere."""
    from snakelight.rsa.synthetic import ANIMACY, SHAPE

    patterns = np.zeros((len(CATEGORIES), len(truth)), dtype=np.float32)
    for region, groups in enumerate((ANIMACY, SHAPE), start=1):
        inside = truth == region
        for members in groups.values():
            pattern = rng.standard_normal(int(inside.sum()))
            for category in members:
                patterns[CATEGORIES.index(category), inside] = pattern
    return patterns


def simulate_bold(mask_img, design, effect_size, rng, truth_img=None, *, threads=2, patterns=None):
    """int16 BOLD series (x, y, z, volumes) on the mask's grid; the signal is planted
    where ``truth_img`` (default: :func:`truth_map` of the mask) says: one response to
    each region's category (face, house), or with ``patterns`` (categories, mask voxels;
    :func:`geometry_patterns`) each category's response times its pattern.

    The calling thread draws the noise volume by volume (the generator's draws follow
    each other: the numbers of one (volumes, x, y, z) draw) while ``threads`` threads
    smooth it and write each run (scipy's filter and numpy's draws release the GIL); the
    values do not depend on ``threads``.
    """
    mask = np.asarray(mask_img.dataobj) > 0
    n_mask = int(mask.sum())
    truth = np.asarray((truth_map(mask_img) if truth_img is None else truth_img).dataobj)[mask]
    field = gaussian_filter(rng.random(mask.shape), 3)[mask]
    baseline = 700 + 600 * (field - field.min()) / np.ptp(field)
    noise_sd = 0.01 * baseline
    hrf = glover_hrf(T_R)
    labels, chunks = design["labels"].to_numpy(), design["chunks"].to_numpy()
    smooth_volume = _volume_smoother(mask)
    # (grid voxels, volumes) in Fortran order, as NIfTI stores the image: nibabel then
    # writes it without reordering (1.5 s), and each volume is one block, where the mask's
    # voxels (C order) are at ``positions``.
    data = np.zeros((mask.size, len(design)), dtype=np.int16, order="F")
    positions = np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")

    def write_run(volumes, smoothed, slopes):
        """Write the run's volumes into data from its smoothed innovations (a future per
        volume) and its drift's slopes (mask voxels)."""
        noise = _ar1_noise(np.stack([volume.result() for volume in smoothed]))
        # The planted signal per volume and truth value (0: none), in float32 as before.
        signal = np.zeros((len(volumes), len(_REGIONS) + 1), dtype=np.float32)
        for value, category in enumerate(_REGIONS, start=1):
            boxcar = (labels[volumes] == category).astype(float)
            response = np.convolve(boxcar, hrf)[: len(volumes)] / hrf.max()
            signal[:, value] = effect_size * response
        if patterns is not None:
            responses = [np.convolve((labels[volumes] == c).astype(float), hrf)[: len(volumes)] for c in CATEGORIES]
            planted = (effect_size * np.stack(responses, axis=1) / hrf.max()).astype(np.float32) @ patterns
        # baseline + noise_sd * (noise + drift + signal), rounded from float32: volume by
        # volume, the same operations on each value as on the whole run, with temporaries
        # that stay in cache rather than new (volumes, voxels) arrays, each of whose pages
        # the kernel zeroes (about 1 s of the 12 runs here).
        times = np.linspace(-1, 1, len(volumes))
        for i, (volume, volume_noise, volume_signal, time) in enumerate(zip(volumes, noise, signal, times)):
            series = volume_noise + slopes * time
            series += volume_signal[truth] if patterns is None else planted[i]
            series *= noise_sd
            series += baseline
            data[positions, volume] = np.round(series.astype(np.float32)).astype(np.int16)

    with ThreadPoolExecutor(threads) as pool:
        written = []
        for run in np.unique(chunks):
            volumes = np.flatnonzero(chunks == run)
            # The draws in the generator's order: the run's noise, then its drift. A run is
            # written once its volumes are smoothed (they come first in the pool's queue).
            smoothed = [pool.submit(smooth_volume, rng.standard_normal(mask.shape)) for _ in volumes]
            written.append(pool.submit(write_run, volumes, smoothed, rng.normal(0, 0.5, n_mask)))
            # At most two runs' innovations in memory (float64, 160 MB a run here).
            if len(written) > 1:
                written[-2].result()
        written[-1].result()
    return nib.Nifti1Image(data.reshape((*mask.shape, len(design)), order="F"), mask_img.affine)


def glover_hrf(t_r, time_length=32.0):
    """nilearn's ``glover_hrf(t_r, oversampling=1)``, to the bit (tests/test_data.py), as
    nilearn computes it (scipy's gamma pdf, written out): importing nilearn.glm for it
    took 2 s of the generating step's 16."""
    from scipy.special import gammaln, xlogy

    def gamma_pdf(x, shape, loc, scale):
        # scipy.stats.gamma.pdf(x, shape, loc=loc, scale=scale)
        x = np.asarray((x - loc) / scale, dtype=float)
        pdf = np.zeros(x.shape)
        inside = x >= 0
        pdf[inside] = np.exp(xlogy(shape - 1.0, x[inside]) - x[inside] - gammaln(shape)) / scale
        return pdf

    time_stamps = np.linspace(0, time_length, np.rint(float(time_length) / t_r).astype(int))
    # nilearn's Glover parameters: delay 6 s, undershoot 12 s, dispersions 0.9, ratio 0.48.
    hrf = gamma_pdf(time_stamps, 6 / 0.9, t_r, 0.9) - 0.48 * gamma_pdf(time_stamps, 12.0 / 0.9, t_r, 0.9)
    hrf /= hrf.sum()
    return hrf


def _volume_smoother(mask):
    """A function from one volume's innovations (x, y, z), float64, to their values in
    float32 smoothed in space (Gaussian kernel) at the mask's voxels (C order): that
    volume of the (volumes, x, y, z) array smoothed with no smoothing in time, to the bit.

    The filter's passes are line by line, and its value at a voxel only depends on the
    values within its radius along each axis: it is computed in the mask's box widened
    by the radius (a third fewer voxels here), each pass in place. That box's copy
    (40x56x50 here) also has strides that are not powers of two: on the whole 40x64x64
    grid the lines along x fell in one cache set, and took twice the time.
    """
    box = _mask_box(mask, _NOISE_RADIUS)
    voxels = np.flatnonzero(mask[box])

    def smooth(innovations):
        volume = innovations[box].astype(np.float32)
        return np.take(gaussian_filter(volume, _NOISE_SIGMA, output=volume, radius=_NOISE_RADIUS), voxels)

    return smooth


def _mask_box(mask, margin):
    """Slices of the mask's bounding box widened by ``margin`` voxels, within the grid."""
    box = []
    for axis, size in enumerate(mask.shape):
        inside = np.flatnonzero(mask.any(axis=tuple(other for other in range(mask.ndim) if other != axis)))
        box.append(slice(max(inside[0] - margin, 0), min(inside[-1] + margin + 1, size)))
    return tuple(box)


def _ar1_noise(smooth, rho=0.4):
    """Unit-variance noise, AR(1) in time, from smooth innovations (volumes, voxels),
    float32, computed in their array."""
    # np.std sums float32 in memory order: that of the 4D filter's smooth[:, mask], which
    # is in Fortran order, for the same std to the bit.
    smooth /= np.asfortranarray(smooth).std()
    # In place: row t - 1 already holds the noise when row t is computed.
    for t in range(1, len(smooth)):
        smooth[t] = rho * smooth[t - 1] + np.sqrt(1 - rho**2) * smooth[t]
    return smooth


def write_mask(haxby_dir, shape, voxel_size):
    """Write the dataset-wide files: ``mask.nii.gz`` and ``MD5SUMS``."""
    haxby_dir = Path(haxby_dir)
    haxby_dir.mkdir(parents=True, exist_ok=True)
    write_nifti(haxby_dir / "mask.nii.gz", brain_mask(shape, voxel_size))
    # fetch_haxby reads MD5SUMS; the md5 of an archive is only checked on download.
    with atomic_path(haxby_dir / "MD5SUMS") as path:
        Path(path).write_text("".join(f"0  subj{s}-2010.01.14.tar.gz\n" for s in range(1, 7)))


def write_subject(
    haxby_dir,
    subject,
    *,
    n_runs,
    effect_size,
    seed,
    jitter_mm=0.0,
    amplitude_spread=0.0,
    carries_effect=True,
    threads=2,
    geometry="selective",
    rating_effect=None,
):
    """Write ``subj<N>/`` as fetch_haxby lays it out, for a mask written by write_mask
    (the module docstring says what jitter_mm, amplitude_spread and carries_effect do;
    ``threads`` is :func:`simulate_bold`'s, which the bytes do not depend on; ``geometry``
    ``rsa`` plants :func:`geometry_patterns` in the two regions instead;
    ``rating_effect``: a number adds a ``rating`` column and its effect, :func:`rated`)."""
    haxby_dir = Path(haxby_dir)
    mask_img = nib.load(haxby_dir / "mask.nii.gz")
    rng = np.random.default_rng([seed, subject])
    # The design from a generator of its own: drawn from the noise's, the null calibration
    # (benchmarks/calibration.py) found the real labels' maxima above their permutations'
    # more often than chance (max-statistic FWE 8-9% over 300 null datasets; 3-4.5% apart).
    design = block_design(n_runs, np.random.default_rng([seed, subject, 2]))
    subject_dir = haxby_dir / f"subj{subject}"
    subject_dir.mkdir(parents=True, exist_ok=True)
    shifts, amplitude = subject_variation(seed, subject, jitter_mm=jitter_mm, amplitude_spread=amplitude_spread)
    truth = truth_map(mask_img, shifts)
    if not carries_effect:
        truth = nib.Nifti1Image(np.zeros(mask_img.shape, dtype=np.uint8), mask_img.affine)
    truth_data = np.asarray(truth.dataobj)
    patterns = None
    if geometry == "rsa":
        mask = np.asarray(mask_img.dataobj) > 0
        patterns = geometry_patterns(truth_data[mask], np.random.default_rng([seed, subject, 3]))
    for name, region in _MASK_REGIONS.items():
        data = np.isin(truth_data, region).astype(np.uint8)
        write_nifti(subject_dir / f"{name}.nii.gz", nib.Nifti1Image(data, truth.affine))
    write_nifti(subject_dir / "truth.nii.gz", truth)
    write_nifti(subject_dir / "anat.nii.gz", mask_img)
    bold = simulate_bold(mask_img, design, effect_size * amplitude, rng, truth, threads=threads, patterns=patterns)
    if rating_effect is not None:
        design, bold = rated(design, bold, truth_data == 1, rating_effect, np.random.default_rng([seed, subject, 4]))
    with atomic_path(subject_dir / "labels.txt") as path:
        design.to_csv(path, sep=" ", index=False)
    write_nifti(subject_dir / "bold.nii.gz", bold)


def rated(design, bold, region, effect, rng):
    """A planted parametric effect: each block of ``design`` (one label's consecutive
    volumes of a run, rest periods included) gets a ``rating`` column value, 1.. in a random
    order per run; RATING_COLUMN), and the voxels of ``region`` (the face region) move by ``effect`` x their
    standard deviation over time x the centred rating. Returns (design, image)."""
    labels, runs = design["labels"].to_numpy(), design["chunks"].to_numpy()
    block = np.cumsum(np.r_[True, (labels[1:] != labels[:-1]) | (runs[1:] != runs[:-1])]) - 1
    values = np.concatenate([1.0 + rng.permutation(np.unique(block[runs == run]).size) for run in np.unique(runs)])
    rating = values[block]
    data = np.asarray(bold.dataobj)
    planted = data[region].astype(np.float64)
    planted += effect * planted.std(axis=1, keepdims=True) * (rating - rating.mean())
    data = data.copy()
    data[region] = np.clip(np.rint(planted), np.iinfo(data.dtype).min, np.iinfo(data.dtype).max)
    return design.assign(**{RATING_COLUMN: rating}), nib.Nifti1Image(data, bold.affine, bold.header)
