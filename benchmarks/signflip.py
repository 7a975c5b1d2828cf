"""Time the sign-flip test and the exact TFCE against nilearn's and the stepped TFCE they replace.

    python benchmarks/signflip.py            # the full run (a few minutes)
    python benchmarks/signflip.py --quick    # fewer flips and maps; what tests/test_benchmark.py runs

Three measurements, each printed with its ratio:

1. config/group.yaml's sign-flip step: 6 subjects over 3,224 voxels (the innermost of an
   ellipsoid on Haxby's 40x64x64 grid, which nilearn's TFCE labels in full at each of its
   100 heights) and n_perm 1,000: all 64 sign patterns, against nilearn's
   ``non_parametric_inference`` timed on a few flips and projected to 1,000. Also ours with
   10 subjects (1,024 patterns > 1,000: 1,000 random flips), the same number as nilearn's.
2. 10,000 random flips of the whole generated brain (43,786 voxels, 20 subjects), two
   threads, against nilearn's cost per flip measured on a few flips and projected.
3. Subject level: the TFCE of 1,000 whole-brain null maps on one core, beside the stepped
   TFCE it replaces (labelling every map at 100 heights, as nilearn's calculate_tfce),
   timed on a few maps and projected.

The maps are smooth Gaussian noise (a planted effect in the subjects' maps); the costs hardly
depend on the values. Times are wall seconds of the call, on whatever machine runs it.
"""

import argparse
import contextlib
import os
import sys
import time
import warnings

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import ndimage  # noqa: E402

SHAPE, WHOLE_BRAIN, GROUP_YAML_VOXELS = (40, 64, 64), 43_786, 3_224


def ellipsoid(n_voxels):
    """The innermost ``n_voxels`` of an ellipsoid filling SHAPE: 3-D bool."""
    grid = np.indices(SHAPE, dtype=float).reshape(3, -1).T
    centre, semi_axes = (np.array(SHAPE) - 1) / 2, np.array(SHAPE) / 2
    radius = np.sqrt((((grid - centre) / semi_axes) ** 2).sum(axis=1))
    mask = np.zeros(np.prod(SHAPE), dtype=bool)
    mask[np.argsort(radius, kind="stable")[:n_voxels]] = True
    return mask.reshape(SHAPE)


def smooth_maps(n_maps, mask, seed=0, effect=0.0):
    """(n_maps, V): unit-variance smooth noise inside ``mask``, plus ``effect`` at its centre."""
    volumes = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n_maps, *SHAPE)), (0, 1.5, 1.5, 1.5))
    maps = volumes[:, mask]
    maps /= maps.std()
    centre = np.linalg.norm(np.argwhere(mask) - (np.array(SHAPE) - 1) / 2, axis=1) < 4
    maps[:, centre] += effect
    return maps


@contextlib.contextmanager
def timed():
    elapsed = {}
    start = time.perf_counter()
    yield elapsed
    elapsed["s"] = time.perf_counter() - start


def nilearn_per_flip(differences, mask, n_flips):
    """nilearn's non_parametric_inference (TFCE and clusters), seconds per flip: the run with
    1 + ``n_flips`` flips less the run with 1 (its observed maps and set-up), over ``n_flips``."""
    from nilearn.glm.second_level import non_parametric_inference

    affine = np.eye(4)
    images = []
    for row in differences:
        volume = np.zeros(SHAPE)
        volume[mask] = row
        images.append(nib.Nifti1Image(volume, affine))
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), affine)
    design = pd.DataFrame({"intercept": np.ones(len(images))})
    seconds = []
    for n_perm in (1, 1 + n_flips):
        with timed() as elapsed, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            non_parametric_inference(
                images,
                design_matrix=design,
                mask=mask_img,
                n_perm=n_perm,
                two_sided_test=False,
                threshold=0.001,
                tfce=True,
            )
        seconds.append(elapsed["s"])
    return max(seconds[1] - seconds[0], 0.0) / n_flips


def stepped_tfce(maps, mask, steps=100):
    """The TFCE snakelight used before: every map labelled at ``steps`` heights j * dh."""
    from snakelight.inference import clusters

    top = np.maximum(maps.max(axis=1, initial=0), 0)
    heights = np.linspace(0, top, steps + 1)[1:]
    weights = heights**2 * (top / steps)
    heights[:, top == 0] = np.inf
    enhanced = np.zeros(maps.shape)
    for height, weight in zip(heights, weights):
        labels, n = clusters.label_clusters(maps >= height[:, None], mask)
        extent = np.zeros(n + 1)
        extent[1:] = np.sqrt(clusters.cluster_sizes(labels, n))
        enhanced += extent[labels] * weight[:, None]
    return enhanced


def group_yaml_step(nilearn_flips):
    from snakelight.inference.signflip import sign_flip_inference

    mask = ellipsoid(GROUP_YAML_VOXELS)
    differences = 0.05 * smooth_maps(10, mask, seed=1, effect=1.0)
    sign_flip_inference(differences[:6, :10], np.ones((10, 1, 1), bool), n_perm=64, threshold=0.001)  # compile
    with timed() as exhaustive:
        result = sign_flip_inference(differences[:6], mask, n_perm=1_000, threshold=0.001)
    assert result.exhaustive and result.n_flips == 64
    with timed() as drawn:
        result = sign_flip_inference(differences, mask, n_perm=1_000, threshold=0.001)
    assert not result.exhaustive and result.n_flips == 1_001
    per_flip = nilearn_per_flip(differences[:6], mask, nilearn_flips)
    print(
        f"group.yaml step ({GROUP_YAML_VOXELS} voxels, 6 subjects, n_perm 1,000): ours, all 64 patterns: "
        f"{exhaustive['s']:.2f} s; ours, 10 subjects, 1,000 random flips: {drawn['s']:.2f} s; nilearn "
        f"{per_flip:.3f} s per flip ({nilearn_flips} measured) x 1,000 = {per_flip * 1000:.0f} s; "
        f"ratio nilearn / ours (1,000 flips): {per_flip * 1000 / drawn['s']:.1f}"
    )


def whole_brain(n_flips, nilearn_flips, n_jobs=2):
    from snakelight.inference.signflip import sign_flip_inference

    mask = ellipsoid(WHOLE_BRAIN)
    differences = 0.05 * smooth_maps(20, mask, seed=2, effect=1.0)
    with timed() as ours:
        result = sign_flip_inference(differences, mask, n_perm=n_flips, threshold=0.001, n_jobs=n_jobs)
    per_flip = nilearn_per_flip(differences, mask, nilearn_flips)
    print(
        f"whole brain ({WHOLE_BRAIN} voxels, 20 subjects), {n_flips} random flips, {n_jobs} threads: ours "
        f"{ours['s']:.1f} s ({ours['s'] / result.n_flips * 1e3:.2f} ms per flip); nilearn {per_flip:.2f} s per "
        f"flip ({nilearn_flips} measured, one thread) x {n_flips} = {per_flip * n_flips:.0f} s; "
        f"ratio nilearn / ours: {per_flip * n_flips / ours['s']:.1f}"
    )


def subject_level(n_maps, stepped_maps):
    from snakelight.inference import subject

    mask = ellipsoid(WHOLE_BRAIN)
    maps = 0.05 * smooth_maps(n_maps, mask, seed=3)
    subject.tfce_maxima(maps[:2] + 0.5, mask, chance=0.5)  # compile
    with timed() as exact:
        maxima = subject.tfce_maxima(maps + 0.5, mask, chance=0.5)
    with timed() as stepped:
        stepped_maxima = stepped_tfce(maps[:stepped_maps], mask).max(axis=1)
    per_map = stepped["s"] / stepped_maps
    difference = np.abs(stepped_maxima - maxima[:stepped_maps]).max() / maxima[:stepped_maps].max()
    print(
        f"subject level, TFCE of {n_maps} whole-brain null maps ({WHOLE_BRAIN} voxels), one core: exact "
        f"{exact['s']:.1f} s; stepped (100 heights) {per_map:.2f} s per map ({stepped_maps} measured) x "
        f"{n_maps} = {per_map * n_maps:.0f} s; ratio stepped / exact: {per_map * n_maps / exact['s']:.1f}; "
        f"largest relative difference of the maxima: {difference:.2g}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 whole-brain flips, 20 subject maps, 1 nilearn flip")
    args = parser.parse_args(argv)
    group_yaml_step(nilearn_flips=1 if args.quick else 10)
    whole_brain(50 if args.quick else 10_000, nilearn_flips=1 if args.quick else 3)
    subject_level(20 if args.quick else 1_000, stepped_maps=1 if args.quick else 10)


if __name__ == "__main__":
    sys.exit(main())
