"""RSA searchlight: snakelight.rsa against rsatoolbox 0.3.2 on the same data and spheres.

    python benchmarks/rsa.py            # 22x22x22 box (10,648 spheres), 16 conditions, 8 runs
    python benchmarks/rsa.py --brain    # the generated brain (43,786 spheres), 8 conditions, 12 runs
    python benchmarks/rsa.py --quick    # 10x10x10 box, 16 conditions, 4 runs

Spheres are rsatoolbox's ``get_volume_searchlight(mask, radius=3, threshold=0,
truncate_at_boundary=True)`` neighbourhoods (the mask voxels less than 3 voxels from the
centre, for every mask voxel), the samples Gaussian noise with a condition effect,
2 samples per condition and run (3 with ``--brain``). Timed, one core, per sphere:

- neighbourhoods: ``get_volume_searchlight``, theirs and ours (snakelight.rsa);
- correlation RDMs: rsatoolbox's ``get_searchlight_RDMs`` and ours;
- Spearman fits of one model: rsatoolbox's ``evaluate_models_searchlight`` with
  ``eval_fixed`` and ours;
- crossnobis with univariate noise normalisation and with multivariate shrinkage
  (``prec_from_residuals(residuals, dof, "diag" or "shrinkage_diag")`` then
  ``calc_rdm(method="crossnobis")`` per sphere, the residuals given) and ours.

rsatoolbox runs on a subset of the spheres (its time per sphere does not depend on how
many there are), ours on all of them; each ratio is rsatoolbox's time per sphere over ours,
measured in this run; ours also prints its total for all the spheres. The largest
difference between the two on the shared spheres is printed beside each.
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
from snakelight.data.synthetic import brain_mask  # noqa: E402
from snakelight.rsa import patterns  # noqa: E402

MODES = {
    "full": {"shape": (22, 22, 22), "conditions": 16, "runs": 8, "per_cell": 2, "subset": 300, "few": 40},
    "brain": {"shape": (40, 64, 64), "conditions": 8, "runs": 12, "per_cell": 3, "subset": 300, "few": 20},
    "quick": {"shape": (10, 10, 10), "conditions": 16, "runs": 4, "per_cell": 2, "subset": 30, "few": 5},
}
RADIUS = 3
# The generated brain's voxel size (snakelight.data.synthetic, Haxby's grid).
VOXEL_SIZE = (3.5, 3.75, 3.75)


def samples(n_voxels, mode, seed=0):
    """(data_2d (N, n_voxels), events (N,), runs (N,)) with a condition effect."""
    rng = np.random.default_rng(seed)
    n_conditions = mode["conditions"]
    events = np.tile(np.repeat(np.arange(n_conditions), mode["per_cell"]), mode["runs"])
    runs = np.repeat(np.arange(mode["runs"]), n_conditions * mode["per_cell"])
    effects = rng.normal(size=(n_conditions, n_voxels))
    return effects[events] + 2 * rng.normal(size=(len(events), n_voxels)), events, runs


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def report(step, theirs_s, n_theirs, ours_s, n_ours, difference):
    theirs_ms, ours_ms = 1e3 * theirs_s / n_theirs, 1e3 * ours_s / n_ours
    print(
        f"{step:<26} rsatoolbox {theirs_ms:8.3f} ms/sphere ({n_theirs:>5} spheres)   "
        f"ours {ours_ms:8.4f} ms/sphere ({n_ours:>5} spheres, {ours_s:6.1f} s)   ratio {theirs_ms / ours_ms:7.1f}   "
        f"largest difference {difference:.1e}"
    )


def theirs_crossnobis(data_2d, events, runs, neighbors, residuals, dof, method):
    """rsatoolbox's crossnobis RDM of each sphere with its ``prec_from_residuals`` precision."""
    out = []
    for sphere, sphere_residuals in zip(neighbors, residuals, strict=True):
        precision = prec_from_residuals(sphere_residuals, dof=dof, method=method)
        ds = Dataset(data_2d[:, sphere], obs_descriptors={"events": events, "runs": runs})
        rdm = calc_rdm(ds, method="crossnobis", descriptor="events", cv_descriptor="runs", noise=precision)
        out.append(rdm.dissimilarities[0])
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small box, for the tests")
    parser.add_argument("--brain", action="store_true", help="the whole generated brain")
    args = parser.parse_args(argv)
    mode = MODES["quick" if args.quick else "brain" if args.brain else "full"]
    if args.brain:
        mask = brain_mask(mode["shape"], VOXEL_SIZE).get_fdata() > 0
    else:
        mask = np.ones(mode["shape"], dtype=bool)
    data_2d, events, runs = samples(mask.size, mode)
    print(f"{mask.sum()} voxels, {mode['conditions']} conditions, {mode['runs']} runs, {len(events)} samples")

    # Every mask voxel's sphere, of mask voxels only (as the workflow's spheres).
    searchlight = {"radius": RADIUS, "threshold": 0.0, "truncate_at_boundary": True}
    (centers, neighbors), ours_s = timed(rsa.get_volume_searchlight, mask, **searchlight)
    (_, theirs_neighbors), theirs_s = timed(rsa_searchlight.get_volume_searchlight, mask, **searchlight)
    difference = max(np.setxor1d(a, b).size for a, b in zip(neighbors, theirs_neighbors, strict=True))
    report("neighbourhoods", theirs_s, len(centers), ours_s, len(centers), difference)
    print(f"  spheres of {np.mean([len(n) for n in neighbors]):.0f} voxels on average")
    subset = np.linspace(0, len(centers) - 1, mode["subset"]).astype(int)
    few = subset[np.linspace(0, len(subset) - 1, mode["few"]).astype(int)]

    # Compile (or load) the compiled kernels before timing, and warm rsatoolbox up likewise.
    warm = rsa.get_searchlight_RDMs(data_2d, centers[:2], neighbors[:2], events)
    rsa.evaluate_models_searchlight(warm, np.ones(warm.dissimilarities.shape[1]), method="tau-a")
    rsa.get_searchlight_RDMs(
        data_2d, centers[:2], neighbors[:2], events, "crossnobis", runs=runs, noise="shrinkage_eye"
    )
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

    grouping = np.arange(mode["conditions"]) // 4
    model = ModelFixed("quarters", (grouping[:, None] != grouping[None, :]).astype(float))
    fits, ours_s = timed(rsa.evaluate_models_searchlight, sl, model, method="spearman")
    theirs, theirs_s = timed(
        rsa_searchlight.evaluate_models_searchlight, theirs_sl, model, eval_fixed, method="spearman"
    )
    theirs = np.array([float(np.squeeze(result.evaluations)) for result in theirs])
    difference = np.abs(theirs - fits[subset, 0]).max()
    report("Spearman fits", theirs_s, len(subset), ours_s, len(centers), difference)
    report(
        "correlation + Spearman", theirs_rdms_s + theirs_s, len(subset), ours_rdms_s + ours_s, len(centers), difference
    )

    # The residuals rsatoolbox is given: each sample minus its condition-run mean.
    used = np.unique(np.concatenate(neighbors))
    columns = [np.searchsorted(used, n) for n in neighbors]
    found = patterns.condition_patterns(data_2d[:, used], events, runs)
    residuals = [found.residuals[:, columns[i]] for i in few]
    for noise, method in (("univariate", "diag"), ("shrinkage_diag", "shrinkage_diag")):
        rdms, ours_s = timed(
            rsa.get_searchlight_RDMs, data_2d, centers, neighbors, events, "crossnobis", runs=runs, noise=noise
        )
        theirs, theirs_s = timed(
            theirs_crossnobis, data_2d, events, runs, [neighbors[i] for i in few], residuals, found.dof, method
        )
        found_rdms = rdms.dissimilarities[few]
        difference = np.abs(theirs - found_rdms).max() / np.abs(found_rdms).max()
        report(f"crossnobis {noise}", theirs_s, len(few), ours_s, len(centers), difference)
    print("  (crossnobis differences relative to the largest distance)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
