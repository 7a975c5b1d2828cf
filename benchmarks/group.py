"""Time the group-level methods on a synthetic whole-brain study, and a straightforward
unblocked numpy Stelzer beside them.

    python benchmarks/group.py            # 100,000 bootstraps / second-level permutations
    python benchmarks/group.py --quick    # 10,000 of each; the full run is ~10x this

The study: 6 subjects x 100 permutation maps (plus the observed map) over the 43,786
voxels of an ellipsoid on Haxby's 40x64x64 grid; independent Gaussian accuracies around
0.5 (the cost does not depend on the values: each bootstrap map has about p_voxel x V
supra-threshold voxels either way). Wall and CPU seconds are those of the method's call
(not the study's generation); on a shared machine CPU is the steadier. Each run is a
separate single-threaded process, so its peak RSS is its own and includes the input maps
(6 x 101 x 43,786 float64 = 212 MB).
The unblocked version holds the whole B x V bootstrap, so it runs at 1,000 bootstraps;
its thresholds and cluster null are compared with the blocked ones.
"""

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHAPE, N_VOXELS, N_SUBJECTS, N_NULL = (40, 64, 64), 43_786, 6, 100
UNBLOCKED_BOOTSTRAPS = 1_000


def study():
    """mask (40x64x64 bool, 43,786 voxels: the innermost of an ellipsoid) and maps (N, P + 1, V)."""
    grid = np.indices(SHAPE, dtype=float).reshape(3, -1).T
    centre, semi_axes = (np.array(SHAPE) - 1) / 2, np.array(SHAPE) / 2
    radius = np.sqrt((((grid - centre) / semi_axes) ** 2).sum(axis=1))
    mask = np.zeros(np.prod(SHAPE), dtype=bool)
    mask[np.argsort(radius, kind="stable")[:N_VOXELS]] = True
    maps = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((N_SUBJECTS, N_NULL + 1, N_VOXELS))
    return mask.reshape(SHAPE), maps


def run_stelzer(count):
    from snakelight.inference.stelzer import stelzer_inference

    mask, maps = study()
    with timed() as elapsed:
        result = stelzer_inference(maps[:, 0], maps[:, 1:], mask, bootstraps=count, p_voxel=0.001)
    return elapsed, {"clusters": len(result.clusters), "mean largest null cluster": float(result.largest_null.mean())}


def run_prevalence(count):
    from snakelight.inference.prevalence import prevalence_inference

    _, maps = study()
    with timed() as elapsed:
        result = prevalence_inference(maps, permutations=count)
    return elapsed, {"smallest FWE p": float(result.p_global_fwe.min())}


def run_unblocked(count):
    """Stelzer as one would first write it: the whole (B, V) bootstrap, sorted per voxel,
    every bootstrap map labelled on the full grid; checked against the blocked version."""
    from snakelight.inference.stelzer import bootstrap_draws, stelzer_inference

    mask, maps = study()
    null = maps[:, 1:]
    draws = bootstrap_draws(count, N_SUBJECTS, N_NULL, seed=0)
    with timed() as elapsed:
        boot = sum(null[n][draws[:, n]] for n in range(N_SUBJECTS)) / N_SUBJECTS
        thresholds = np.sort(boot, axis=0)[int(np.ceil((1 - 0.001) * count)) - 1]
        largest = []
        volume = np.zeros(SHAPE, dtype=bool)
        for values in boot:
            volume[mask] = values > thresholds
            labels, _ = ndimage.label(volume)
            largest.append(np.bincount(labels[labels > 0], minlength=1).max(initial=0))
    blocked = stelzer_inference(maps[:, 0], null, mask, p_voxel=0.001, draws=draws)
    return elapsed, {
        "thresholds equal the blocked version's": bool(np.array_equal(thresholds, blocked.thresholds)),
        "cluster null equals the blocked version's": bool(np.array_equal(largest, blocked.largest_null)),
    }


@contextlib.contextmanager
def timed():
    """Yields a dict that gets the block's wall and CPU seconds."""
    elapsed = {}
    wall, cpu = time.perf_counter(), time.process_time()
    yield elapsed
    elapsed.update(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)


RUNS = {"stelzer": run_stelzer, "prevalence": run_prevalence, "unblocked stelzer": run_unblocked}


def child(name, count):
    elapsed, details = RUNS[name](count)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**elapsed, "peak_rss_mb": peak_rss_mb, **details}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 bootstraps / permutations instead of 100,000")
    parser.add_argument("--child", nargs=2, metavar=("RUN", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]))
    count = 10_000 if args.quick else 100_000
    print(f"{N_SUBJECTS} subjects x {N_NULL} permutation maps, {N_VOXELS} voxels on {SHAPE}; one thread per run")
    for name, n in [("stelzer", count), ("prevalence", count), ("unblocked stelzer", UNBLOCKED_BOOTSTRAPS)]:
        output = subprocess.run(
            [sys.executable, __file__, "--child", name, str(n)],
            check=True,
            text=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
        measured = json.loads(output.splitlines()[-1])
        others = ", ".join(
            f"{key} {value}" for key, value in measured.items() if key not in ("wall_s", "cpu_s", "peak_rss_mb")
        )
        print(
            f"{name:18} {n:>7} draws: wall {measured['wall_s']:7.1f} s ({measured['wall_s'] / n * 1e3:.2f} ms "
            f"per draw), CPU {measured['cpu_s']:7.1f} s, peak RSS {measured['peak_rss_mb']:6.0f} MB; "
            f"{others}"
        )


if __name__ == "__main__":
    main()
