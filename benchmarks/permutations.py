"""Time null maps (score_spheres_permuted) against scoring the permutations one by one.

    python benchmarks/permutations.py            # 2,000 spheres, 50 permutations (fast), 2 (exact)
    python benchmarks/permutations.py --quick    # 200 spheres, 8 permutations, 1 (exact)
    python benchmarks/permutations.py --estimators lda --spheres 2000 --permutations 128  # one estimator

The data is benchmarks/searchlight.py's generated subject (40x64x64, 216 face/house
volumes, KFold(4)). The spheres are a contiguous run of seeds from the middle of the brain,
and every run reads only their voxels, so a run's cost is what a chunk of that many spheres
costs; whole-brain figures scale it by 43,786 spheres / the spheres measured. All in one
process, one BLAS thread, ``--threads`` scoring threads (the workflow's chunk jobs use 1-2).

Printed per estimator: CPU seconds per null map, one by one (score_spheres with each
permuted column) and batched (score_spheres_permuted), their ratio, both projected to
the whole brain, peak RSS, and whether the null maps are identical. For the exact svc,
per null map against one real map, and nilearn's projected cost: its per-sphere cost on
the permuted labels x spheres x permutations.
"""

import argparse
import functools
import os
import sys
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import searchlight as searchlight_benchmark  # noqa: E402

WHOLE_BRAIN = 43786
FAST_ESTIMATORS = ["gnb", "lda", "svc"]
SEED = 1


def load(n_spheres):
    """X (samples, voxels of the spheres), the samples' exchangeability (the workflow's
    default: blocks within runs), the spheres (positions in X), the brain mask, and the
    seeds' positions among the process-mask seeds."""
    from snakelight.inference.permutations import exchangeability
    from snakelight.io import read_masked_samples
    from snakelight.searchlight.spheres import process_seeds, sphere_members

    paths = searchlight_benchmark.prepare(False)
    mask_img = nib.load(paths["mask"])
    mask = np.asarray(mask_img.dataobj)
    seeds = process_seeds(mask)
    start = max(0, len(seeds) // 2 - n_spheres // 2)
    positions = np.arange(start, min(start + n_spheres, len(seeds)))
    spheres = sphere_members(mask, mask_img.affine, seeds[positions], searchlight_benchmark.RADIUS)
    used = np.unique(np.concatenate(spheres))
    X = read_masked_samples(paths["masked"]).astype(np.float64)[:, used]
    table = pd.read_csv(paths["table"], sep="\t")
    local = [np.searchsorted(used, sphere) for sphere in spheres]
    design = exchangeability(table["label"].to_numpy(), table["run"].to_numpy(), table["volume"].to_numpy())
    return X, design, local, paths, positions


def cpu(function):
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def peak_rss_mb():
    return searchlight_benchmark.peak_rss_mb()


def nilearn_per_sphere(paths, positions, design):
    """nilearn's CPU seconds per sphere on permuted labels (a spread of the measured seeds)."""
    from nilearn.decoding import SearchLight
    from sklearn.model_selection import KFold

    from snakelight.inference.permutations import permuted_labels

    mask_img = nib.load(paths["mask"])
    keep = np.zeros(np.count_nonzero(np.asarray(mask_img.dataobj)), dtype=bool)
    keep[positions[:: max(1, len(positions) // 40)]] = True
    process = np.zeros(mask_img.shape, dtype=np.uint8)
    process[np.asarray(mask_img.dataobj) != 0] = keep
    searchlight = SearchLight(
        mask_img,
        process_mask_img=nib.Nifti1Image(process, mask_img.affine),
        radius=searchlight_benchmark.RADIUS,
        n_jobs=1,
        cv=KFold(searchlight_benchmark.CV["n_splits"]),
    )
    import nilearn.decoding.searchlight

    figures = {"scoring": 0.0}  # nilearn's search_light alone, as benchmarks/searchlight.py measures it
    searchlight_benchmark.timed(nilearn.decoding.searchlight, "search_light", figures, "scoring")
    searchlight.fit(paths["samples"], permuted_labels(design, SEED, 1))
    return figures["scoring"] / keep.sum()


def one_by_one_maps(X, permuted, spheres, estimator, folds, n_threads):
    """The null maps as score_spheres makes them, one permuted column at a time: (P, n_spheres, n_folds)."""
    from snakelight.searchlight.scoring import score_spheres

    return np.stack(
        [
            score_spheres(X, permuted[:, k], spheres, estimator, folds, engine="fast", n_threads=n_threads)
            for k in range(permuted.shape[1])
        ]
    )


def main(argv=None):
    from snakelight.inference.permutations import permutation_block
    from snakelight.searchlight.cv import make_cv, make_folds
    from snakelight.searchlight.scoring import score_spheres, score_spheres_permuted

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 spheres, 8 permutations")
    parser.add_argument("--spheres", type=int)
    parser.add_argument("--permutations", type=int)
    parser.add_argument("--exact-permutations", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--estimators",
        nargs="+",
        choices=FAST_ESTIMATORS,
        default=FAST_ESTIMATORS,
        help="the fast estimators timed (default: all); the exact svc and nilearn run with svc",
    )
    args = parser.parse_args(argv)
    n_spheres = args.spheres or (200 if args.quick else 2000)
    n_permutations = args.permutations or (8 if args.quick else 50)
    n_exact = args.exact_permutations or (1 if args.quick else 2)

    X, design, spheres, paths, positions = load(n_spheres)
    labels, runs = design.labels, design.runs
    folds = make_folds(make_cv(**searchlight_benchmark.CV), X, labels, runs)
    scale = WHOLE_BRAIN / len(spheres)
    print(
        f"{len(spheres)} spheres ({X.shape[1]} voxels), {len(labels)} samples, KFold({len(folds)}), "
        f"{n_permutations} permutations (exact: {n_exact}), {args.threads} scoring thread(s), "
        f"{os.cpu_count()} CPUs; whole brain = x{scale:.1f}",
        flush=True,
    )
    header = (
        f"{'estimator':<12}{'1-by-1 s/map':>13}{'batched s/map':>14}{'ratio':>7}"
        f"{'whole brain s/map':>19}{'1,000 maps min':>15}{'peak RSS':>10}  null maps"
    )
    print(header + "\n" + "-" * len(header), flush=True)
    permuted = permutation_block(design, SEED, range(1, n_permutations + 1))
    for estimator in args.estimators:
        one_by_one, reference = cpu(
            functools.partial(one_by_one_maps, X, permuted, spheres, estimator, folds, args.threads)
        )
        batched, scores = cpu(
            functools.partial(
                score_spheres_permuted, X, permuted, spheres, estimator, folds, engine="fast", n_threads=args.threads
            )
        )
        per_map = batched / n_permutations
        print(
            f"fast {estimator:<7}{one_by_one / n_permutations:>13.3f}{per_map:>14.3f}{one_by_one / batched:>6.1f}x"
            f"{per_map * scale:>19.2f}{per_map * scale * 1000 / 60 / args.threads:>15.1f}{peak_rss_mb():>7.0f} MB"
            f"  identical to one by one: {np.array_equal(scores, reference)}",
            flush=True,
        )
    if "svc" not in args.estimators:
        return
    score_spheres(X, labels, spheres[:1], "svc", folds, engine="exact")  # compiles the solver, once per process
    real, _ = cpu(lambda: score_spheres(X, labels, spheres, "svc", folds, engine="exact"))
    null, _ = cpu(lambda: score_spheres_permuted(X, permuted[:, :n_exact], spheres, "svc", folds, engine="exact"))
    per_map = null / n_exact
    print(
        f"exact svc: {per_map:.3f} s per null map, {real:.3f} s per real map (null / real {per_map / real:.2f}); "
        f"whole brain {per_map * scale:.1f} s per null map, 100 maps {per_map * scale * 100 / 60:.1f} CPU min",
        flush=True,
    )
    per_sphere = nilearn_per_sphere(paths, positions, design)
    print(
        f"nilearn svc: {per_sphere * 1e3:.2f} ms per sphere; whole brain, 100 permutations: "
        f"{per_sphere * WHOLE_BRAIN * 100 / 3600:.1f} CPU hours, "
        f"{per_sphere * WHOLE_BRAIN / (per_map * scale):.1f}x the exact engine",
        flush=True,
    )


if __name__ == "__main__":
    main()
