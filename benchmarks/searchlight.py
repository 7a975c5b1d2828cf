"""Time nilearn's SearchLight, every snakelight engine and snakelight.SearchLight on the
same generated data.

    python benchmarks/searchlight.py            # the whole brain (~10 min, nilearn is slow)
    python benchmarks/searchlight.py --quick    # 1 in 20 brain voxels as centres (<2 min)

The data is the default synthetic subject at full size (40x64x64, 216 face/house
volumes), generated under results/benchmark/ by the workflow's own functions. Each run
is a separate process that starts from the files, as a chunk job does, so its CPU
time includes imports and loading and its peak RSS is its own. nilearn runs as the
seed calls it (SearchLight(...).fit(imgs, y) with y a pandas Series, n_jobs=1), and
so does snakelight.SearchLight (row "SearchLight": the same call, the import changed;
"scoring" is its time in score_spheres, the rest is reading and masking the images and
building the spheres). Every run is single-threaded, so CPU-time ratios compare one
core with one core.

Printed per run: CPU time (whole process, scoring alone, and liblinear's solver alone
where the run calls it), wall time, spheres per second of scoring, CPU ratios to
nilearn, peak RSS, and agreement: with nilearn's scores_ for the svc engines (fraction
of spheres identical, largest difference), with scikit-learn's GaussianNB /
LinearDiscriminantAnalysis (run per sphere through the exact engine) on a sample of
spheres for gnb and lda. nilearn's scoring time over its liblinear time bounds what an
engine calling liblinear itself could gain; the exact engine runs liblinear's solver
compiled (snakelight.searchlight.engines._tron), so its "liblinear" column is empty.
"""

import argparse
import json
import os
import resource
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
WORK = ROOT / "results" / "benchmark"
# The generated subject: Haxby's volume and voxel size, 12 runs of face/house blocks.
SHAPE, VOXEL_SIZE, N_RUNS = (40, 64, 64), (3.5, 3.75, 3.75), 12
RADIUS = 5.6
CV = {"method": "kfold", "n_splits": 4}
FAST_RUNS = [("fast", "svc"), ("fast", "gnb"), ("fast", "lda")]
CHECKED_SPHERES = 1000  # spheres scored by scikit-learn for the gnb/lda agreement


def prepare(quick):
    """Generate the subject once; write the process mask of this mode. Returns paths."""
    from snakelight.data import synthetic
    from snakelight.data.conditions import select_conditions
    from snakelight.data.haxby import fetch_subject

    haxby = WORK / "haxby2001"
    if not (haxby / "subj2" / "labels.txt").exists():
        synthetic.write_mask(haxby, SHAPE, VOXEL_SIZE)
        synthetic.write_subject(haxby, 2, n_runs=N_RUNS, effect_size=1.0, seed=0)
    paths = {
        "manifest": WORK / "dataset.json",
        "samples": WORK / "samples.nii.gz",
        "table": WORK / "samples.tsv",
        "masked": WORK / "masked_samples.npy",
        "process_mask": WORK / ("process_mask_quick.nii.gz" if quick else "process_mask.nii.gz"),
    }
    if not paths["masked"].exists():
        fetch_subject(2, paths["manifest"], source="synthetic", data_dir=WORK)
        select_conditions(paths["manifest"], ["face", "house"], CV, paths["samples"], paths["table"], paths["masked"])
    mask_img = nib.load(json.loads(paths["manifest"].read_text())["mask"])
    keep = np.asarray(mask_img.dataobj) != 0
    if quick:  # every 20th brain voxel: spheres from the whole brain, edges included
        every = np.zeros(keep.sum(), dtype=bool)
        every[::20] = True
        keep[keep] = every
    nib.Nifti1Image(keep.astype(np.uint8), mask_img.affine).to_filename(paths["process_mask"])
    paths["mask"] = Path(json.loads(paths["manifest"].read_text())["mask"])
    return {name: str(path) for name, path in paths.items()}


def peak_rss_mb():
    """This process's peak resident memory. (getrusage's ru_maxrss would also count the
    parent's memory at fork time: Linux keeps it across exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(module, name, into, key):
    """Wrap ``module.name`` so that its CPU time adds up in ``into[key]``."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            into[key] += time.process_time() - start

    setattr(module, name, wrapper)


def worker(job):
    """One measured run; prints a JSON line with its resource use (scores go to a file)."""
    paths, out = job["paths"], Path(job["out"])
    figures = {"scoring": 0.0, "liblinear": 0.0}
    from sklearn.svm import _liblinear

    # The solver's own CPU time, in nilearn's run and in the exact engine's (the fast
    # engine does not call it): the rest of the scoring is the machinery around it.
    timed(_liblinear, "train_wrap", figures, "liblinear")
    if job["engine"] in ("nilearn", "class"):
        from sklearn.model_selection import KFold

        if job["engine"] == "nilearn":
            import nilearn.decoding.searchlight as scoring_module
            from nilearn.decoding import SearchLight
        else:  # the same call with the one import changed
            import snakelight.searchlight.estimator as scoring_module
            from snakelight import SearchLight

        scoring = "search_light" if job["engine"] == "nilearn" else "score_outputs"
        timed(scoring_module, scoring, figures, "scoring")

        y = pd.read_csv(paths["table"], sep="\t")["label"]  # a Series, as in the seed
        searchlight = SearchLight(
            paths["mask"],
            process_mask_img=paths["process_mask"],
            radius=RADIUS,
            n_jobs=1,
            cv=KFold(n_splits=CV["n_splits"]),
        )
        searchlight.fit(paths["samples"], y)
        process = np.asarray(nib.load(paths["process_mask"]).dataobj) != 0
        np.save(out, searchlight.scores_[process])
    else:
        from nilearn.masking import apply_mask_fmri

        import snakelight.searchlight.job
        from snakelight.io import read_chunk, write_masked_samples
        from snakelight.searchlight.job import ChunkInputs, run_chunk

        timed(snakelight.searchlight.job, "score_outputs", figures, "scoring")

        # The workflow masks once per contrast (select_conditions); counted here too, as
        # nilearn's run masks the 4D image.
        masked = out.with_suffix(".masked.npy")
        write_masked_samples(masked, apply_mask_fmri(paths["samples"], paths["mask"]))
        run_chunk(
            ChunkInputs(paths["samples"], masked, paths["table"], paths["mask"], paths["process_mask"]),
            chunk=0,
            n_chunks=1,
            radius=RADIUS,
            estimator=job["estimator"],
            cv=CV,
            scoring=None,
            engine=job["engine"],
            output=out.with_suffix(".npz"),
        )
        _, outputs = read_chunk(out.with_suffix(".npz"))
        np.save(out, outputs["accuracy"].mean(axis=1))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.update(cpu=usage.ru_utime + usage.ru_stime, peak_rss_mb=peak_rss_mb())
    print(json.dumps(figures))


def measure(paths, engine, estimator):
    out = WORK / f"scores_{engine}_{estimator}_{Path(paths['process_mask']).stem}.npy"
    job = {"paths": paths, "engine": engine, "estimator": estimator, "out": str(out)}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True, check=True
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall"] = time.perf_counter() - start
    figures["scores"] = np.load(out)
    return figures


def sklearn_references(paths, estimators, n_spheres):
    """scikit-learn's own estimators on a spread sample of the spheres (exact engine):
    the sample's positions, and each estimator's scores on it."""
    from nilearn.masking import apply_mask_fmri
    from sklearn.model_selection import KFold

    from snakelight.searchlight.cv import make_folds
    from snakelight.searchlight.scoring import score_spheres
    from snakelight.searchlight.spheres import process_seeds, sphere_members

    mask_img, process_img = nib.load(paths["mask"]), nib.load(paths["process_mask"])
    seeds = process_seeds(np.asarray(process_img.dataobj))
    sample = np.linspace(0, len(seeds) - 1, min(n_spheres, len(seeds))).astype(int)
    spheres = sphere_members(np.asarray(mask_img.dataobj), mask_img.affine, seeds[sample], RADIUS)
    X = apply_mask_fmri(paths["samples"], mask_img)
    table = pd.read_csv(paths["table"], sep="\t")
    y = table["label"].to_numpy()
    folds = make_folds(KFold(CV["n_splits"]), X, y, table["run"].to_numpy())
    # In float64, as the fast engine computes: scikit-learn would keep float32 data in
    # float32 and part from it on near-ties (decisions within ~1e-5 of zero).
    X = X.astype(np.float64)
    return sample, {
        estimator: score_spheres(X, y, spheres, estimator, folds, engine="exact").mean(axis=1)
        for estimator in estimators
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 in 20 brain voxels as centres")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))

    paths = prepare(args.quick)
    n_spheres = int(np.count_nonzero(np.asarray(nib.load(paths["process_mask"]).dataobj)))
    n_samples = len(pd.read_csv(paths["table"], sep="\t"))
    print(
        f"{'quick' if args.quick else 'whole brain'}: {n_spheres} spheres, radius {RADIUS} mm, "
        f"KFold({CV['n_splits']}), {n_samples} samples, {os.cpu_count()} CPUs, one thread per run",
        flush=True,
    )
    print(
        "CPU s: the whole process (imports, loading, neighbourhoods, scoring); scoring: the\n"
        "CPU time inside nilearn's search_light / snakelight's score_spheres; liblinear: the\n"
        "CPU time inside liblinear's train_wrap; x: nilearn's CPU time over this run's\n"
        "(total / scoring)."
    )
    header = (
        f"{'run':<12}{'CPU s':>8}{'wall s':>8}{'scoring s':>10}{'liblinear s':>12}{'spheres/s':>10}"
        f"{'x total':>9}{'x scoring':>10}{'peak RSS':>10}  agreement"
    )
    print(header + "\n" + "-" * len(header), flush=True)

    def row(name, figures, agreement, reference):
        solver = f"{figures['liblinear']:.2f}" if figures["liblinear"] else "-"
        print(
            f"{name:<12}{figures['cpu']:>8.1f}{figures['wall']:>8.1f}{figures['scoring']:>10.2f}{solver:>12}"
            f"{n_spheres / figures['scoring']:>10.0f}{reference['cpu'] / figures['cpu']:>8.1f}x"
            f"{reference['scoring'] / figures['scoring']:>9.1f}x{figures['peak_rss_mb']:>7.0f} MB  "
            f"{agreement}",
            flush=True,
        )

    nilearn = measure(paths, "nilearn", "svc")
    row("nilearn svc", nilearn, "reference", nilearn)
    exact = measure(paths, "exact", "svc")
    row(
        "exact svc",
        exact,
        f"np.array_equal with nilearn: {np.array_equal(exact['scores'], nilearn['scores'])}",
        nilearn,
    )
    searchlight = measure(paths, "class", "svc")
    row(
        "SearchLight",
        searchlight,
        f"np.array_equal with nilearn: {np.array_equal(searchlight['scores'], nilearn['scores'])}",
        nilearn,
    )
    print(
        f"{'':<12}nilearn's scoring is {nilearn['scoring'] / nilearn['liblinear']:.1f}x its liblinear time: "
        "the most an engine calling liblinear itself could gain",
        flush=True,
    )
    sample, references = sklearn_references(
        paths, [estimator for _, estimator in FAST_RUNS if estimator != "svc"], CHECKED_SPHERES
    )
    for engine, estimator in FAST_RUNS:
        figures = measure(paths, engine, estimator)
        if estimator == "svc":
            same = figures["scores"] == nilearn["scores"]
            gap = np.max(np.abs(figures["scores"] - nilearn["scores"]))
            agreement = f"identical to nilearn on {same.mean():.1%} of spheres, largest difference {gap:.4f}"
        else:
            reference = references[estimator]
            same = figures["scores"][sample] == reference
            agreement = f"identical to scikit-learn's on {same.sum()} of {same.size} spheres checked" + (
                ""
                if same.all()
                else f", largest difference {np.max(np.abs(figures['scores'][sample] - reference)):.4f}"
            )
        row(f"{engine} {estimator}", figures, agreement, nilearn)


if __name__ == "__main__":
    main()
