"""RSA searchlight: snakelight.rsa against rsatoolbox 0.3.2 on the same data and spheres.

    python benchmarks/rsa.py            # 22x22x22 box (10,648 spheres), 16 conditions, 8 runs
    python benchmarks/rsa.py --quick    # 10x10x10 box, 16 conditions, 4 runs

Spheres are rsatoolbox's ``get_volume_searchlight(mask, radius=3)`` neighbourhoods (voxels
less than 3 voxels from the centre), the samples 16 conditions x runs x 2 samples of
Gaussian noise with a condition effect. Timed, one core, per sphere:

- neighbourhoods: ``get_volume_searchlight``, theirs and ours (snakelight.rsa);
- correlation RDMs: rsatoolbox's ``get_searchlight_RDMs`` and ours;
- Spearman fits of one model: rsatoolbox's ``evaluate_models_searchlight`` with
  ``eval_fixed`` and ours;
- crossnobis with multivariate shrinkage (``prec_from_residuals(..., "shrinkage_diag")``
  then ``calc_rdm(method="crossnobis")`` per sphere, the residuals given) and ours.

rsatoolbox runs on a subset of the spheres (its time per sphere does not depend on how
many there are), ours on all of them; each ratio is rsatoolbox's time per sphere over ours,
measured in this run. The largest difference between the two on the shared spheres is
printed beside each.
"""

import argparse
import os
import resource
import time

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import numpy as np  # noqa: E402
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.data.noise import prec_from_residuals  # noqa: E402
from rsatoolbox.inference import eval_fixed  # noqa: E402
from rsatoolbox.model import ModelFixed  # noqa: E402
from rsatoolbox.rdm import calc_rdm  # noqa: E402
from rsatoolbox.util import searchlight as rsa_searchlight  # noqa: E402

from snakelight import rsa  # noqa: E402
from snakelight.rsa import distances, patterns  # noqa: E402

MODES = {
    "full": {"shape": (22, 22, 22), "n_runs": 8, "subset": 300, "subset_crossnobis": 40},
    "quick": {"shape": (10, 10, 10), "n_runs": 4, "subset": 30, "subset_crossnobis": 5},
}
N_CONDITIONS = 16
PER_CELL = 2
RADIUS = 3


def samples(shape, n_runs, seed=0):
    """(data_2d (N, voxels of the volume), events (N,), runs (N,)) with a condition effect."""
    rng = np.random.default_rng(seed)
    n_voxels = int(np.prod(shape))
    events = np.tile(np.repeat(np.arange(N_CONDITIONS), PER_CELL), n_runs)
    runs = np.repeat(np.arange(n_runs), N_CONDITIONS * PER_CELL)
    effects = rng.normal(size=(N_CONDITIONS, n_voxels))
    return effects[events] + 2 * rng.normal(size=(len(events), n_voxels)), events, runs


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def report(step, theirs_s, n_theirs, ours_s, n_ours, difference):
    theirs_ms, ours_ms = 1e3 * theirs_s / n_theirs, 1e3 * ours_s / n_ours
    print(
        f"{step:<26} rsatoolbox {theirs_ms:8.3f} ms/sphere ({n_theirs:>5} spheres)   "
        f"ours {ours_ms:8.4f} ms/sphere ({n_ours:>5} spheres)   ratio {theirs_ms / ours_ms:7.1f}   "
        f"largest difference {difference:.1e}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small box, for the tests")
    mode = MODES["quick" if parser.parse_args(argv).quick else "full"]
    mask = np.ones(mode["shape"], dtype=bool)
    data_2d, events, runs = samples(mode["shape"], mode["n_runs"])
    print(f"{mask.sum()} voxels, {N_CONDITIONS} conditions, {mode['n_runs']} runs, {len(events)} samples")

    (centers, neighbors), ours_s = timed(rsa.get_volume_searchlight, mask, radius=RADIUS)
    subset = np.linspace(0, len(centers) - 1, mode["subset"]).astype(int)
    mask_subset = np.zeros_like(mask)
    mask_subset[np.unravel_index(centers[subset], mask.shape)] = True
    (_, theirs_neighbors), theirs_s = timed(rsa_searchlight.get_volume_searchlight, mask, radius=RADIUS)
    difference = max(np.setxor1d(a, b).size for a, b in zip(neighbors, theirs_neighbors, strict=True))
    report("neighbourhoods", theirs_s, len(centers), ours_s, len(centers), difference)
    print(f"  spheres of {np.mean([len(n) for n in neighbors]):.0f} voxels on average")

    # Compile (or load) the compiled kernels before timing, and warm rsatoolbox up likewise.
    warm = rsa.get_searchlight_RDMs(data_2d, centers[:2], neighbors[:2], events)
    rsa.evaluate_models_searchlight(warm, np.ones(warm.dissimilarities.shape[1]), method="tau-a")
    rsa_searchlight.get_searchlight_RDMs(data_2d, centers[:2], neighbors[:2], events, verbose=False)
    # rsatoolbox's get_searchlight_RDMs chunks above 1000 centres: time it on the subset.
    sl, ours_s = timed(rsa.get_searchlight_RDMs, data_2d, centers, neighbors, events)
    sub_neighbors = [neighbors[i] for i in subset]
    theirs_sl, theirs_s = timed(
        rsa_searchlight.get_searchlight_RDMs, data_2d, centers[subset], sub_neighbors, events, verbose=False
    )
    difference = np.abs(theirs_sl.dissimilarities - sl.dissimilarities[subset]).max()
    report("correlation RDMs", theirs_s, len(subset), ours_s, len(centers), difference)
    theirs_rdms_s, ours_rdms_s = theirs_s, ours_s

    grouping = np.arange(N_CONDITIONS) // 4
    model = ModelFixed("quarters", (grouping[:, None] != grouping[None, :]).astype(float))
    fits, ours_s = timed(rsa.evaluate_models_searchlight, sl, model, method="spearman")
    theirs, theirs_s = timed(
        rsa_searchlight.evaluate_models_searchlight, theirs_sl, model, eval_fixed, method="spearman"
    )
    theirs = np.array([float(np.squeeze(result.evaluations)) for result in theirs])
    report("Spearman fits", theirs_s, len(subset), ours_s, len(centers), np.abs(theirs - fits[subset, 0]).max())
    rdms_and_fits = (theirs_rdms_s + theirs_s, len(subset), ours_rdms_s + ours_s, len(centers))
    report("correlation + Spearman", *rdms_and_fits, np.abs(theirs - fits[subset, 0]).max())

    used = np.unique(np.concatenate(neighbors))
    columns = [np.searchsorted(used, n) for n in neighbors]
    found, prepare_s = timed(patterns.condition_patterns, data_2d[:, used], events, runs)
    rdms, ours_s = timed(distances.crossnobis_rdms, found, columns, "shrinkage_diag")
    ours_s += prepare_s
    few = subset[:: max(1, len(subset) // mode["subset_crossnobis"])][: mode["subset_crossnobis"]]
    start = time.perf_counter()
    theirs = []
    for i in few:
        sphere_data = data_2d[:, neighbors[i]]
        residuals = found.residuals[:, columns[i]]
        precision = prec_from_residuals(residuals, dof=found.dof, method="shrinkage_diag")
        ds = Dataset(sphere_data, obs_descriptors={"events": events, "runs": runs})
        rdm = calc_rdm(ds, method="crossnobis", descriptor="events", cv_descriptor="runs", noise=precision)
        theirs.append(rdm.dissimilarities[0])
    theirs_s = time.perf_counter() - start
    difference = np.abs(np.array(theirs) - rdms[few]).max() / np.abs(rdms[few]).max()
    report("crossnobis shrinkage_diag", theirs_s, len(few), ours_s, len(centers), difference)
    print("  (crossnobis difference relative to the largest distance)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
