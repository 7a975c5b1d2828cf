"""
Group inference by sign flips
=============================

The group stage's sign-flip test (``group.methods: [signflip]``), called on its own: eight
generated subjects' accuracy maps (a planted region above chance, smooth noise elsewhere)
are tested with every one of the 2^8 = 256 sign patterns, an exact test. The one-sample t
map is checked against scipy's ``ttest_1samp``, and the TFCE family-wise p-values are drawn.

.. code-block:: bash

    python examples/plot_group_signflip.py           # a 24 x 28 x 24 grid
    python examples/plot_group_signflip.py --quick   # a 12 x 14 x 12 grid (seconds)
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from scipy import ndimage, stats

from snakelight.inference.signflip import sign_flip_inference

N_SUBJECTS, CHANCE = 8, 0.5


def generated_maps(shape, seed=0):
    """(subjects, voxels) accuracies: smooth noise around chance, +0.08 in a central box."""
    rng = np.random.default_rng(seed)
    region = np.zeros(shape, bool)
    centre = [s // 2 for s in shape]
    region[tuple(slice(c - 2, c + 2) for c in centre)] = True
    maps = []
    for _ in range(N_SUBJECTS):
        noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0)
        maps.append(CHANCE + 0.03 * noise / noise.std() + 0.08 * region)
    return np.array(maps).reshape(N_SUBJECTS, -1), region


def main(argv=None):
    parser = argparse.ArgumentParser(description="the group sign-flip test on generated accuracy maps")
    parser.add_argument("--quick", action="store_true", help="a small grid")
    args = parser.parse_args(argv)
    shape = (12, 14, 12) if args.quick else (24, 28, 24)
    accuracies, region = generated_maps(shape)
    mask = np.ones(shape, bool)

    result = sign_flip_inference(accuracies - CHANCE, mask, n_perm=1000, threshold=0.001)
    scipy_t = stats.ttest_1samp(accuracies - CHANCE, 0.0).statistic
    print(f"{result.n_flips} sign patterns, all of them: {result.exhaustive}")
    print(f"t map equals scipy's ttest_1samp: {np.allclose(result.maps['t'], scipy_t)}")
    significant = (result.maps["logp_max_tfce"] > -np.log10(0.05)).reshape(shape)
    print(
        f"TFCE FWE p < 0.05: {int((significant & region).sum())} of {int(region.sum())} planted voxels, "
        f"{int((significant & ~region).sum())} outside"
    )

    z = shape[2] // 2
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.5))
    for ax, (name, title) in zip(axes, (("t", "one-sample t"), ("logp_max_tfce", "-log10 p, TFCE FWE"))):
        image = ax.imshow(result.maps[name].reshape(shape)[:, :, z].T, origin="lower", cmap="inferno")
        ax.contour(region[:, :, z].T, levels=[0.5], colors="cyan", linewidths=1)
        ax.set_title(title)
        ax.set_axis_off()
        figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle(f"{N_SUBJECTS} subjects, all {result.n_flips} sign patterns (planted region in cyan)")


if __name__ == "__main__":
    main()
