"""Time every engine against nilearn at the resolution fMRIPrep studies use: the
MNI152NLin2009cAsym 2 mm grid, spheres of 4, 6 and 8 mm radius.

    python benchmarks/scale.py              # 400 centres per radius (~10 min on one core)
    python benchmarks/scale.py --centres 1500
    python benchmarks/scale.py --quick      # a 40x48x40 2 mm grid, 16 centres (a test runs it)

The grid is fMRIPrep's MNI152NLin2009cAsym at 2 mm (97x115x97, origin (-96, -132, -78)
mm) with a brain-shaped mask of about 200,000 voxels; 216 samples (12 runs of 18, two
classes in blocks of 9), KFold(4), one thread. The data are spatially smooth noise with
a planted two-class effect in part of the brain, generated on the fly (seeded).

Per radius, on the same random sample of centres in one process (runs of 8 consecutive
seeds from random places, as a chunk job's spheres overlap): nilearn's own
``search_light`` (the scoring loop ``SearchLight.fit`` runs, on the same spheres: the
tests check snakelight's spheres are nilearn's) and each engine's ``score_spheres``,
as CPU time per sphere; the ratio to nilearn; agreement (the svc engines with nilearn,
gnb and lda with scikit-learn's estimators run per sphere); the projected CPU hours of
a whole brain and of 100 null maps (the null path timed on a few permutations within
runs). Last, the peak memory of a chunk job on the whole brain at the largest radius:
a separate process loads the first of two chunks (half the brain's spheres, the most a
2-core run gives one job) and scores a sample of them with each engine.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Single-threaded BLAS everywhere, set before numpy loads.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "results" / "benchmark_scale"
# fMRIPrep's MNI152NLin2009cAsym, res-2 (templateflow's tpl-MNI152NLin2009cAsym_res-02).
MNI_SHAPE = (97, 115, 97)
MNI_AFFINE = np.array([[2.0, 0, 0, -96], [0, 2, 0, -132], [0, 0, 2, -78], [0, 0, 0, 1]])
QUICK_SHAPE = (40, 48, 40)
RADII = (4.0, 6.0, 8.0)
N_RUNS, RUN_LENGTH, BLOCK = 12, 18, 9
N_SPLITS = 4
RUN = 8  # consecutive centres per place sampled
NULL_PERMUTATIONS = 2  # per engine that scores permutations one by one
BATCHED_NULL_PERMUTATIONS = 20  # gnb and lda batch them
RUNS = [("exact", "svc"), ("fast", "svc"), ("newton", "svc"), ("fast", "gnb"), ("fast", "lda")]
# "newton": the fast svc's Newton method on every sphere, without the engine's hand-off
# of spheres past FAST_SVC_MAX_VOXELS to liblinear (which keeps its maps nilearn's).
CHUNKS = 2  # the chunk job whose memory is measured: 1 of 2 (a 2-core run's)


def grid(quick):
    """The grid's shape and affine."""
    if quick:
        affine = MNI_AFFINE.copy()
        affine[:3, 3] = -np.array(QUICK_SHAPE) + 1  # centred, as the MNI grid roughly is
        return QUICK_SHAPE, affine
    return MNI_SHAPE, MNI_AFFINE


def brain_mask(shape, affine):
    """A brain-shaped mask: an ellipsoid with a flattened base; on the MNI 2 mm grid about
    200,000 voxels (the size of fMRIPrep's brain mask there)."""
    ijk = np.stack(np.meshgrid(*map(np.arange, shape), indexing="ij"), axis=-1)
    world = ijk @ affine[:3, :3].T + affine[:3, 3]
    if shape == MNI_SHAPE:
        semi_axes, centre = np.array([70.0, 88.0, 68.0]), np.array([0.0, -18.0, 10.0])
    else:  # the same shape filling the small grid
        extent = np.array(shape) * 2 / 2
        semi_axes, centre = extent * np.array([0.88, 0.8, 0.85]), np.zeros(3)
    r = np.sqrt((((world - centre) / semi_axes) ** 2).sum(axis=-1))
    return (r <= 1) & (world[..., 2] > centre[2] - 0.7 * semi_axes[2])


def labels(rng):
    """Two classes in blocks of 9, in a random order per run; the runs."""
    y, runs = [], []
    for run in range(N_RUNS):
        blocks = rng.permutation(["face", "house"])
        y += [label for label in blocks for _ in range(BLOCK)]
        runs += [run] * RUN_LENGTH
    return np.array(y), np.array(runs)


def samples(mask, y, rng):
    """(samples, mask voxels) float32: noise smoothed over ~1.5 voxels FWHM, plus an
    effect of one class in a third of the brain (strongest at its centre)."""
    from scipy.ndimage import gaussian_filter

    ijk = np.argwhere(mask)
    centre = ijk.mean(axis=0) + np.array([0.25, 0, 0]) * np.ptp(ijk, axis=0)
    distance = np.linalg.norm((ijk - centre) / np.ptp(ijk, axis=0), axis=1)
    pattern = np.where(distance < 0.3, 0.6 * (1 - distance / 0.3), 0.0) * rng.choice([-1.0, 1.0], size=len(ijk))
    X = np.empty((len(y), len(ijk)), dtype=np.float32)
    sign = np.where(y == "face", 1.0, -1.0)
    for i in range(len(y)):
        volume = gaussian_filter(rng.standard_normal(mask.shape, dtype=np.float32), 0.65)
        X[i] = volume[mask] / 0.3 + sign[i] * pattern
    return X


def peak_rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu(function, *args, **kwargs):
    """function's result and the CPU time it took."""
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - start


def nilearn_scores(X, y, spheres, folds):
    """nilearn's search_light (SearchLight.fit's scoring loop) on these spheres."""
    import scipy.sparse
    from nilearn.decoding.searchlight import search_light
    from sklearn.model_selection import KFold

    from snakelight._compat import validate_estimator

    indptr = np.concatenate([[0], np.cumsum([len(s) for s in spheres])])
    A = scipy.sparse.csr_matrix(
        (np.ones(indptr[-1]), np.concatenate(spheres), indptr), shape=(len(spheres), X.shape[1])
    ).tolil()
    estimator = validate_estimator("svc", owning_class_type="classifier", estimator_args=None, verbose=0)
    assert [list(f[1]) for f in KFold(N_SPLITS).split(X)] == [list(f[1]) for f in folds]
    return search_light(X, y, estimator, A, None, None, KFold(N_SPLITS), n_jobs=1, verbose=0)


def permutations_within_runs(y, runs, n, rng):
    """(samples, n) labels, each column y permuted within runs."""
    permuted = np.empty((len(y), n), dtype=y.dtype)
    for k in range(n):
        for run in np.unique(runs):
            where = np.flatnonzero(runs == run)
            permuted[where, k] = y[rng.permutation(where)]
    return permuted


def sample_centres(n_seeds, n_centres, rng):
    """Runs of RUN consecutive seeds (in the mask's order) from random places: a chunk job
    scores consecutive seeds, whose spheres share voxels, and the fast engine's gnb
    computes its statistics once per voxel; isolated centres would charge each sphere
    with all of its voxels' statistics."""
    n_runs = max(1, min(n_centres, n_seeds) // RUN)
    starts = np.sort(rng.choice(n_seeds - RUN + 1, size=n_runs, replace=False))
    return np.unique((starts[:, None] + np.arange(RUN)).ravel())


def every_size(score):
    """``score`` taking engine "newton": the fast engine with its svc's Newton method on
    spheres of every size."""
    from snakelight.searchlight import scoring

    def scored(*args, engine, **kwargs):
        if engine != "newton":
            return score(*args, engine=engine, **kwargs)
        limit, scoring.FAST_SVC_MAX_VOXELS = scoring.FAST_SVC_MAX_VOXELS, sys.maxsize
        try:
            return score(*args, engine="fast", **kwargs)
        finally:
            scoring.FAST_SVC_MAX_VOXELS = limit

    return scored


def measure_radius(X, y, runs, mask, affine, radius, n_centres, rng):
    """One radius: the table rows (engine, ms per sphere, ratio, agreement, projections)."""
    from sklearn.model_selection import KFold

    from snakelight.searchlight.job import used_columns
    from snakelight.searchlight.scoring import score_spheres, score_spheres_permuted
    from snakelight.searchlight.spheres import sphere_members

    seeds = np.argwhere(mask)
    centres = sample_centres(len(seeds), n_centres, rng)
    # Only the spheres' voxels, as a chunk job reads them.
    X, spheres, _ = used_columns(X, sphere_members(mask, affine, seeds[centres], radius))
    sizes = np.array([s.size for s in spheres])
    folds = list(KFold(N_SPLITS).split(X))
    whole_brain = len(seeds)
    print(
        f"\nradius {radius:g} mm: {len(spheres)} centres, spheres of {sizes.min()}-{sizes.max()} voxels "
        f"(median {np.median(sizes):.0f}); the brain has {whole_brain} centres",
        flush=True,
    )
    nilearn_scores(X, y, spheres[:2], folds)  # imports and numba's caches, untimed
    for engine, estimator in RUNS:
        every_size(score_spheres)(X, y, spheres[:2], estimator, folds, engine=engine)
        every_size(score_spheres_permuted)(X, y[:, None], spheres[:2], estimator, folds, engine=engine)
    nilearn, nilearn_s = cpu(nilearn_scores, X, y, spheres, folds)
    per_sphere = {"nilearn svc": nilearn_s / len(spheres)}
    rows = [("nilearn svc", nilearn_s, "reference", None)]
    references = {}
    for engine, estimator in RUNS:
        scores, seconds = cpu(every_size(score_spheres), X, y, spheres, estimator, folds, engine=engine)
        mean = scores.mean(axis=1)
        if estimator == "svc":
            same = mean == nilearn
            agreement = (
                f"np.array_equal with nilearn: {np.array_equal(mean, nilearn)}"
                if engine == "exact"
                else f"identical to nilearn on {same.mean():.1%} of spheres, largest difference "
                f"{np.max(np.abs(mean - nilearn)):.4f}"
            )
        else:
            if estimator not in references:
                references[estimator] = score_spheres(
                    X.astype(np.float64), y, spheres, estimator, folds, engine="exact"
                ).mean(axis=1)
            same = mean == references[estimator]
            agreement = f"identical to scikit-learn's on {same.sum()} of {same.size} spheres" + (
                "" if same.all() else f", largest difference {np.max(np.abs(mean - references[estimator])):.4f}"
            )
        name = f"{engine} {estimator}"
        per_sphere[name] = seconds / len(spheres)
        n_null = BATCHED_NULL_PERMUTATIONS if engine == "fast" and estimator in ("gnb", "lda") else NULL_PERMUTATIONS
        permuted = permutations_within_runs(y, runs, n_null, rng)
        _, null_s = cpu(every_size(score_spheres_permuted), X, permuted, spheres, estimator, folds, engine=engine)
        rows.append((name, seconds, agreement, null_s / n_null))

    header = (
        f"{'run':<12}{'ms/sphere':>10}{'spheres/s':>10}{'x nilearn':>10}{'brain CPU h':>12}"
        f"{'null ms/sphere':>15}{'100 nulls CPU h':>16}  agreement"
    )
    print(header + "\n" + "-" * len(header))
    for name, seconds, agreement, null_seconds in rows:
        ms = 1000 * seconds / len(spheres)
        null = "-" if null_seconds is None else f"{1000 * null_seconds / len(spheres):.2f}"
        nulls_h = "-" if null_seconds is None else f"{100 * null_seconds / len(spheres) * whole_brain / 3600:.1f}"
        print(
            f"{name:<12}{ms:>10.2f}{len(spheres) / seconds:>10.0f}{nilearn_s / seconds:>9.1f}x"
            f"{ms / 1000 * whole_brain / 3600:>12.2f}{null:>15}{nulls_h:>16}  {agreement}",
            flush=True,
        )
    return per_sphere


def write_chunk_inputs(X, y, runs, mask, affine, work):
    """The files a chunk job reads, for the whole brain."""
    from snakelight.io import write_masked_samples

    work.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(mask.astype(np.uint8), affine)
    paths = {name: str(work / f"{name}.nii.gz") for name in ("samples", "mask", "process_mask")}
    for name in paths:  # a chunk job reads only the samples image's affine
        image.to_filename(paths[name])
    paths["masked"], paths["table"] = str(work / "masked_samples.npy"), str(work / "samples.tsv")
    write_masked_samples(paths["masked"], X)
    pd.DataFrame({"label": y, "run": runs}).to_csv(paths["table"], sep="\t", index=False)
    return paths


def chunk_worker(job):
    """A chunk job's peak memory: load chunk 1 of CHUNKS, score a sample of its spheres."""
    from snakelight.searchlight.job import ChunkInputs, load_chunk
    from snakelight.searchlight.scoring import score_spheres

    paths = job["paths"]
    inputs = ChunkInputs(paths["samples"], paths["masked"], paths["table"], paths["mask"], paths["process_mask"])
    problem = load_chunk(
        inputs, chunk=0, n_chunks=CHUNKS, radius=job["radius"], cv={"method": "kfold", "n_splits": N_SPLITS}
    )
    loaded = peak_rss_mb()
    every = max(1, len(problem.spheres) // job["n_spheres"])
    score_spheres(
        problem.X,
        problem.table["label"].to_numpy(),
        problem.spheres[::every],
        job["estimator"],
        problem.folds,
        engine=job["engine"],
    )
    print(json.dumps({"spheres": len(problem.spheres), "loaded_mb": loaded, "peak_mb": peak_rss_mb()}))


def chunk_memory(paths, radius, n_spheres):
    print(
        f"\nchunk job 1 of {CHUNKS} on the whole brain, radius {radius:g} mm "
        f"(peak RSS: loading the chunk, then scoring {n_spheres} of its spheres)"
    )
    for engine, estimator in (run for run in RUNS if run[0] != "newton"):
        job = {"paths": paths, "radius": radius, "engine": engine, "estimator": estimator, "n_spheres": n_spheres}
        result = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True, check=True
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"{engine + ' ' + estimator:<12}{figures['spheres']:>8} spheres  loaded {figures['loaded_mb']:>6.0f} MB  "
            f"peak {figures['peak_mb']:>6.0f} MB",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 40x48x40 2 mm grid and 16 centres per radius")
    parser.add_argument("--centres", type=int, help="random centres per radius (default 400; 16 with --quick)")
    parser.add_argument("--radii", type=float, nargs="+", default=RADII)
    parser.add_argument("--no-memory", action="store_true", help="skip the chunk jobs' memory")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return chunk_worker(json.loads(args.worker))

    n_centres = args.centres or (16 if args.quick else 400)
    rng = np.random.default_rng(0)
    shape, affine = grid(args.quick)
    mask = brain_mask(shape, affine)
    y, runs = labels(rng)
    start = time.perf_counter()
    X = samples(mask, y, rng)
    print(
        f"{'quick: ' if args.quick else ''}{'x'.join(map(str, shape))} grid at 2 mm, {mask.sum()} brain voxels, "
        f"{len(y)} samples, KFold({N_SPLITS}), one thread; data generated in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    print(
        "ms/sphere: CPU time of the scoring over the centres; x nilearn: nilearn's CPU time over the run's;\n"
        "brain CPU h: the whole brain's spheres at that rate; null: per sphere and null map (permutations\n"
        "within runs), and 100 null maps of the whole brain."
    )
    for radius in args.radii:
        measure_radius(X, y, runs, mask, affine, radius, n_centres, rng)
    if not args.no_memory:
        paths = write_chunk_inputs(X, y, runs, mask, affine, WORK)
        chunk_memory(paths, max(args.radii), n_centres)


if __name__ == "__main__":
    main()
