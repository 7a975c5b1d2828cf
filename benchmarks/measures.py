"""Several scorers in one pass cost about one: the CPU time of score_outputs with
``scoring=["accuracy", "balanced_accuracy"]`` over its time with ``scoring="accuracy"``,
per engine and estimator, on the same spheres in the same run.

    python benchmarks/measures.py            # a generated 40x64x64 subject, 1 in 10 brain voxels (~2 min)
    python benchmarks/measures.py --quick    # a 12x14x12 one, every voxel (seconds)

Each measurement is the best of ``--repeats`` runs, the two scorings alternating, one
thread. Printed per row: both CPU times, their ratio (the target is <= 1.1) and whether
the accuracy map of the two-scorer pass equals the one-scorer pass's (it must).

Then cross-classification (exact svc, train face/house, test cat/chair mapped to them,
folds over runs, forward) against the same CV without it (leave-one-run-out of
face/house: the same training samples per fold, as many test samples): their ratio.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

RUNS = [("exact", "svc"), ("fast", "svc"), ("fast", "gnb"), ("fast", "lda")]
SEVERAL = ["accuracy", "balanced_accuracy"]
VOXEL_SIZE, RADIUS = (3.5, 3.75, 3.75), 5.6


def problem(shape, n_runs, every):
    """A generated subject's face, house, cat and chair samples (float64), their labels and
    runs, and the spheres of every ``every``-th brain voxel."""
    from nilearn.masking import apply_mask_fmri

    from snakelight.data import synthetic
    from snakelight.io import read_labels
    from snakelight.searchlight.spheres import process_seeds, sphere_members

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        synthetic.write_mask(root, shape, VOXEL_SIZE)
        synthetic.write_subject(root, 2, n_runs=n_runs, effect_size=1.0, seed=0)
        labels = read_labels(root / "subj2" / "labels.txt")
        keep = labels["label"].isin(["face", "house", "cat", "chair"]).to_numpy()
        bold = nib.load(root / "subj2" / "bold.nii.gz")
        imgs = nib.Nifti1Image(np.asarray(bold.dataobj)[..., keep], bold.affine)
        mask_img = nib.load(root / "mask.nii.gz")
        mask = np.asarray(mask_img.dataobj)
        X = apply_mask_fmri(imgs, mask_img).astype(np.float64)
    y, runs = labels["label"].to_numpy()[keep], labels["run"].to_numpy()[keep]
    spheres = sphere_members(mask, mask_img.affine, process_seeds(mask)[::every], RADIUS)
    return X, y, runs, spheres


def cpu(function):
    """The CPU time of one call, and its result."""
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 12x14x12 subject")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from sklearn.model_selection import KFold, LeaveOneGroupOut

    from snakelight.searchlight.cross import cross_design
    from snakelight.searchlight.cv import make_folds
    from snakelight.searchlight.scoring import score_outputs

    shape, n_runs, every = ((12, 14, 12), 6, 1) if args.quick else ((40, 64, 64), 12, 10)
    X4, y4, runs4, spheres = problem(shape, n_runs, every)
    face_house = np.isin(y4, ["face", "house"])
    X, y, runs = X4[face_house], y4[face_house], runs4[face_house]
    folds = make_folds(KFold(4), X, y, runs)
    print(f"{len(spheres)} spheres, {len(y)} samples, KFold(4), one thread, best of {args.repeats}")
    header = f"{'run':<12}{'accuracy s':>12}{'+ balanced s':>14}{'ratio':>8}  accuracy maps equal"
    print(header + "\n" + "-" * len(header), flush=True)
    for engine, estimator in RUNS:

        def run(scoring, engine=engine, estimator=estimator):
            return score_outputs(X, y, spheres, estimator, folds, engine=engine, scoring=scoring)

        run("accuracy")  # compiles and warms the caches
        one, several = np.inf, np.inf
        for _ in range(args.repeats):
            one_time, one_result = cpu(lambda: run("accuracy"))
            several_time, several_result = cpu(lambda: run(SEVERAL))
            one, several = min(one, one_time), min(several, several_time)
        same = np.array_equal(one_result["accuracy"], several_result["accuracy"])
        print(f"{engine + ' ' + estimator:<12}{one:>12.3f}{several:>14.3f}{several / one:>7.2f}x  {same}", flush=True)

    design = cross_design(y4, runs4, {"cat": "face", "chair": "house"}, directions="forward")
    loro = make_folds(LeaveOneGroupOut(), X, y, runs)
    cross, plain = np.inf, np.inf
    for _ in range(args.repeats):
        cross = min(cross, cpu(lambda: score_outputs(X4, design.targets, spheres, "svc", design.folds))[0])
        plain = min(plain, cpu(lambda: score_outputs(X, y, spheres, "svc", loro))[0])
    print(
        f"cross-classification (exact svc) {cross:.3f} s, leave-one-run-out {plain:.3f} s: ratio {cross / plain:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
