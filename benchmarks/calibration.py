"""Calibration of the subject-level permutation tests: false positives under no effect, and
detection of the planted regions.

    python benchmarks/calibration.py            # 100 null datasets (20x24x20 voxels, 12 runs), P = 99
    python benchmarks/calibration.py --quick    # 3 null datasets (12x14x12, 6 runs), all 31 relabellings
    python benchmarks/calibration.py --permute samples   # single volumes permuted: too many false positives
    python benchmarks/calibration.py --runs 8 --permutations 200   # exact: the 127 distinct relabellings

Each dataset is generated (snakelight.data.synthetic: Haxby's design and voxel size, a new
``seed`` per dataset), its face and house volumes selected by the workflow's conditions step,
and every brain voxel's sphere (5.6 mm) scored with the fast GaussianNB (KFold(4)) under the
real labels and under P permutations within runs (``--permute``: the workflow's
``inference.permute``, blocks by default), chosen as the workflow chooses them
(``null_permutations``: every distinct relabelling but the real one when there are at most
P + 1, an exact test; else P drawn); then voxel, cluster-mass (cluster-forming
p 0.01, or 0.05 in quick mode) and TFCE FWE at alpha 0.05 (snakelight.inference.subject).

Printed: under ``effect_size: 0``, the fraction of datasets with any significant voxel per
correction, and its Clopper-Pearson 95% interval, which must contain alpha or lie below it;
on the generated data with its default effect (quick: the tests' 1.5 on the tiny grid), the
sensitivity (planted face/house voxels found) and the significant voxels outside
truth.nii.gz, per correction, and how many of them lie beyond one sphere radius of it (a
sphere centred within the radius holds planted voxels, so it decodes: not a false positive
of the test).
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
from scipy import ndimage  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from snakelight.data import synthetic  # noqa: E402
from snakelight.data.checks import check_subject  # noqa: E402
from snakelight.data.conditions import select_conditions  # noqa: E402
from snakelight.inference import subject  # noqa: E402
from snakelight.inference.feasibility import cluster_forming_threshold  # noqa: E402
from snakelight.inference.permutations import (  # noqa: E402
    SCHEMES,
    check_relabellings,
    describe_null_maps,
    exchangeability,
    null_map_facts,
    null_permutations,
)
from snakelight.io import read_masked_samples, uncompressed_bold, write_manifest  # noqa: E402
from snakelight.searchlight.cv import make_cv, make_folds  # noqa: E402
from snakelight.searchlight.scoring import score_spheres, score_spheres_permuted  # noqa: E402
from snakelight.searchlight.spheres import process_seeds, sphere_members  # noqa: E402

VOXEL_SIZE = (3.5, 3.75, 3.75)
RADIUS = 5.6
ALPHA = 0.05
CV = {"method": "kfold", "n_splits": 4}
CHANCE = 0.5
MODES = {
    "full": {"datasets": 100, "shape": (20, 24, 20), "n_runs": 12, "permutations": 99, "cluster_threshold": 0.01},
    # 6 runs: 2^6 relabellings of their face and house blocks, 2^5 = 32 distinct null maps (the
    # global swap renames the classes), enough for alpha 0.05 (4 runs have 8): P = 31 is all of
    # them but the real one, an exact test.
    "quick": {"datasets": 3, "shape": (12, 14, 12), "n_runs": 6, "permutations": 31, "cluster_threshold": 0.05},
}
# The planted data: the default generated dataset (quick: the tests' tiny one).
PLANTED = {"full": {"shape": (40, 64, 64), "n_runs": 12, "effect_size": 1.0}, "quick": {"effect_size": 1.5}}
CORRECTIONS = ("voxel FWE", "cluster-mass FWE", "TFCE FWE")


def generate(root, *, shape, n_runs, effect_size, seed, permute):
    """A generated subject 2 in ``root``, its face/house samples selected: X (samples, brain
    voxels), their exchangeability under ``permute`` and the truth map (3-D)."""
    root = Path(root)
    synthetic.write_mask(root, shape, VOXEL_SIZE)
    synthetic.write_subject(root, 2, n_runs=n_runs, effect_size=effect_size, seed=seed)
    subject_dir = root / "subj2"
    manifest = root / "dataset.json"
    uncompressed = uncompressed_bold(manifest)
    check_subject(subject_dir / "bold.nii.gz", root / "mask.nii.gz", subject_dir / "labels.txt", uncompressed)
    write_manifest(
        manifest,
        source="synthetic",
        subject=2,
        t_r=2.5,
        uncompressed=uncompressed,
        bold=subject_dir / "bold.nii.gz",
        mask=root / "mask.nii.gz",
        labels=subject_dir / "labels.txt",
    )
    table = select_conditions(
        manifest, ["face", "house"], CV, root / "samples.nii.gz", root / "samples.tsv", root / "masked.npy"
    )
    truth = np.asarray(nib.load(subject_dir / "truth.nii.gz").dataobj)
    design = exchangeability(table["label"].to_numpy(), table["run"].to_numpy(), table["volume"].to_numpy(), permute)
    check_relabellings(design, ALPHA, source=root / "samples.tsv")
    return read_masked_samples(root / "masked.npy"), design, truth


def significant_voxels(X, design, mask_img, *, permutations, cluster_threshold, seed):
    """Per correction, the significant voxels of the whole-brain searchlight: (V,) bool."""
    labels, runs = design.labels, design.runs
    mask = np.asarray(mask_img.dataobj) != 0
    spheres = sphere_members(mask, mask_img.affine, process_seeds(mask), RADIUS)
    folds = make_folds(make_cv(**CV), X, labels, runs)
    observed = score_spheres(X, labels, spheres, "gnb", folds).mean(axis=1)
    permuted = null_permutations(design, seed, range(1, permutations + 1))
    null = score_spheres_permuted(X, permuted, spheres, "gnb", folds).mean(axis=2)
    threshold = cluster_forming_threshold(cluster_threshold, len(null))  # as the workflow's statistics step
    clusters = subject.cluster_fwe(observed, null, mask, chance=CHANCE, threshold=threshold)
    in_significant = clusters.table["cluster"][clusters.table["p_fwe_mass"] <= ALPHA]
    return {
        "voxel FWE": subject.voxel_fwe(observed, null) <= ALPHA,
        "cluster-mass FWE": np.isin(clusters.labels, in_significant),
        "TFCE FWE": subject.tfce_fwe(observed, null, mask, chance=CHANCE).p_fwe <= ALPHA,
    }


def null_calibration(settings, work, permute):
    """Per correction, how many of the null datasets have any significant voxel; and the last
    dataset's design (every dataset's has the same relabellings)."""
    hits = dict.fromkeys(CORRECTIONS, 0)
    for seed in range(settings["datasets"]):
        X, design, _ = generate(
            work / f"null{seed}",
            shape=settings["shape"],
            n_runs=settings["n_runs"],
            effect_size=0.0,
            seed=seed,
            permute=permute,
        )
        found = significant_voxels(
            X,
            design,
            nib.load(work / f"null{seed}" / "mask.nii.gz"),
            permutations=settings["permutations"],
            cluster_threshold=settings["cluster_threshold"],
            seed=seed,
        )
        for name in CORRECTIONS:
            hits[name] += bool(found[name].any())
    return hits, design


def detection(settings, planted, work, permute):
    """Per correction, (planted voxels found, planted voxels, significant voxels outside truth,
    those of them beyond one sphere radius of truth)."""
    shape, n_runs = planted.get("shape", settings["shape"]), planted.get("n_runs", settings["n_runs"])
    X, design, truth = generate(
        work / "planted", shape=shape, n_runs=n_runs, effect_size=planted["effect_size"], seed=0, permute=permute
    )
    mask_img = nib.load(work / "planted" / "mask.nii.gz")
    found = significant_voxels(
        X,
        design,
        mask_img,
        permutations=settings["permutations"],
        cluster_threshold=settings["cluster_threshold"],
        seed=0,
    )
    brain = np.asarray(mask_img.dataobj) != 0
    inside = truth[brain] != 0
    beyond = (ndimage.distance_transform_edt(truth == 0, sampling=VOXEL_SIZE) > RADIUS)[brain]
    return shape, {
        name: (int((hit & inside).sum()), int(inside.sum()), int((hit & ~inside).sum()), int((hit & beyond).sum()))
        for name, hit in found.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 tiny null datasets: a smoke test")
    parser.add_argument("--permute", choices=SCHEMES, default="blocks", help="what a permutation moves within runs")
    parser.add_argument("--runs", type=int, help="runs of each dataset (the mode's by default)")
    parser.add_argument("--permutations", type=int, help="P (the mode's by default)")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    settings = dict(MODES[mode])
    settings["n_runs"] = args.runs or settings["n_runs"]
    settings["permutations"] = args.permutations or settings["permutations"]
    planted_data = {**PLANTED[mode], "n_runs": settings["n_runs"]} if args.runs else PLANTED[mode]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        hits, design = null_calibration(settings, Path(work), args.permute)
        shape, detected = detection(settings, planted_data, Path(work), args.permute)
    n = settings["datasets"]
    print(
        f"{mode} mode: {n} null datasets (effect_size 0, {'x'.join(map(str, settings['shape']))} voxels, "
        f"{settings['n_runs']} runs), P = {settings['permutations']}, {args.permute} permuted within runs: "
        f"{describe_null_maps(null_map_facts(design, settings['permutations']))}; gnb, alpha {ALPHA}, "
        f"cluster-forming p {settings['cluster_threshold']}"
    )
    for name in CORRECTIONS:
        interval = binomtest(hits[name], n).proportion_ci(confidence_level=0.95)
        verdict = "ok" if interval.low <= ALPHA else "TOO MANY"
        print(
            f"  {name:17s} datasets with a significant voxel: {hits[name]}/{n} = {hits[name] / n:.3f}, "
            f"95% CI [{interval.low:.3f}, {interval.high:.3f}] ({verdict})"
        )
    print(f"planted face/house regions ({'x'.join(map(str, shape))} voxels, effect {PLANTED[mode]['effect_size']}):")
    for name in CORRECTIONS:
        found, planted, outside, beyond = detected[name]
        print(
            f"  {name:17s} sensitivity {found}/{planted} = {found / planted:.2f}, "
            f"significant voxels outside truth.nii.gz: {outside}, beyond {RADIUS} mm of it: {beyond}"
        )
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
