"""Calibration of the three group methods by simulation (docs: Explanation, "The statistics").

    python benchmarks/group_calibration.py            # 200 studies per scenario, minutes
    python benchmarks/group_calibration.py --quick    # 40 null studies, 20 with effects, smaller counts (the tests)

Each study: 6 subjects' accuracy maps over a small cube (smooth Gaussian noise around
0.5, sd 0.05, as searchlight maps are smooth), each subject with P null maps drawn the
same way. A planted 3x3x3 region adds 0.15 to the observed maps of the subjects that carry
the effect, moved by up to one voxel per axis and scaled by a factor in [0.75, 1.25]
between subjects. The maps are simulated directly (not searchlights of generated BOLD,
which would take hours per scenario); the library is called as the workflow calls it.

Scenarios and what is printed, per method, with Clopper-Pearson 95% intervals:
- no effect: the fraction of studies with any FWE-significant cluster (Stelzer) or voxel
  (prevalence: global null; sign-flip: TFCE) at alpha = 0.05; "within" when the interval
  contains 0.05 or lies below it;
- effect in every subject: the fraction of studies in which the method finds the planted
  region (a significant voxel inside it), and the mean fraction of significant voxels
  outside it;
- effect in 4 of 6 subjects (prevalence inference): the fraction of studies whose global
  null is rejected in the region, and the fraction in which the FWE prevalence bound
  (gamma map) exceeds the true prevalence (4/6 in the region, 0 outside) at any voxel,
  which the paper bounds by alpha.
"""

import argparse
import time

import numpy as np
from scipy import ndimage, stats

from snakelight.inference.prevalence import prevalence_inference
from snakelight.inference.signflip import sign_flip_inference
from snakelight.inference.stelzer import stelzer_inference

N_SUBJECTS, ALPHA, EFFECT = 6, 0.05, 0.15
FULL = dict(studies=200, effect_studies=200, shape=(12, 12, 12), n_null=100, bootstraps=5000, p_voxel=0.01)
FULL.update(permutations=5000, n_perm=1000)
QUICK = dict(studies=40, effect_studies=20, shape=(6, 6, 6), n_null=100, bootstraps=1000, p_voxel=0.01)
QUICK.update(permutations=2000, n_perm=100)


def study(seed, shape, n_null, n_with_effect):
    """maps (N, P + 1, V) with maps[:, 0] observed, the planted region (V,) bool."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((N_SUBJECTS * (n_null + 1), *shape)), sigma=(0, 1, 1, 1))
    maps = 0.5 + 0.05 * noise.reshape(N_SUBJECTS, n_null + 1, *shape) / noise.std()
    centre = np.array(shape) // 2
    region = np.zeros(shape, dtype=bool)
    region[tuple(slice(c - 1, c + 2) for c in centre)] = True
    for subject in range(n_with_effect):
        shift = rng.integers(-1, 2, size=3)
        amplitude = EFFECT * rng.uniform(0.75, 1.25)
        maps[subject, 0] += amplitude * np.roll(region, shift, axis=(0, 1, 2))
    return maps.reshape(N_SUBJECTS, n_null + 1, -1), region.reshape(-1)


def significant_maps(maps, shape, counts, seed):
    """Per method, (V,) bool: FWE-significant at ALPHA."""
    mask = np.ones(shape, dtype=bool)
    stelzer = stelzer_inference(
        maps[:, 0], maps[:, 1:], mask, bootstraps=counts["bootstraps"], p_voxel=counts["p_voxel"], seed=seed
    )
    prevalence = prevalence_inference(maps, permutations=counts["permutations"], seed=seed)
    # 6 subjects: 64 sign patterns, all of them (an exact test) whenever n_perm >= 64.
    signflip = sign_flip_inference(maps[:, 0] - 0.5, mask, n_perm=counts["n_perm"], threshold=None, seed=seed)
    tfce_p = 10 ** -signflip.maps["logp_max_tfce"]
    return {
        "stelzer": stelzer.significant,
        "prevalence": prevalence.p_global_fwe <= ALPHA,
        "signflip": tfce_p <= ALPHA,
    }, prevalence


def interval(hits, n):
    low, high = stats.binomtest(hits, n).proportion_ci(0.95)
    return f"{hits}/{n} = {hits / n:.3f} [{low:.3f}, {high:.3f}]"


def verdict(hits, n):
    """ "within" when the 95% interval contains ALPHA or lies below it."""
    return "within" if stats.binomtest(hits, n).proportion_ci(0.95).low <= ALPHA else "ABOVE"


def no_effect(counts):
    hits = dict.fromkeys(("stelzer", "prevalence", "signflip"), 0)
    for seed in range(counts["studies"]):
        maps, _ = study(seed, counts["shape"], counts["n_null"], 0)
        found, _ = significant_maps(maps, counts["shape"], counts, seed)
        for method, significant in found.items():
            hits[method] += bool(significant.any())
    for method, count in hits.items():
        n = counts["studies"]
        print(f"no effect        {method:10s} FWE rate {interval(count, n)}  {verdict(count, n)} alpha {ALPHA}")


def effect_in_every_subject(counts):
    detected = dict.fromkeys(("stelzer", "prevalence", "signflip"), 0)
    outside = dict.fromkeys(detected, 0.0)
    for seed in range(counts["effect_studies"]):
        maps, region = study(10_000 + seed, counts["shape"], counts["n_null"], N_SUBJECTS)
        found, _ = significant_maps(maps, counts["shape"], counts, seed)
        for method, significant in found.items():
            detected[method] += bool(significant[region].any())
            outside[method] += significant[~region].mean() / counts["effect_studies"]
    for method, count in detected.items():
        print(
            f"effect in 6 of 6 {method:10s} detection {interval(count, counts['effect_studies'])}, "
            f"significant voxels outside the region {outside[method]:.3f}"
        )


def effect_in_four_of_six(counts):
    rejected = exceeded = 0
    for seed in range(counts["effect_studies"]):
        maps, region = study(20_000 + seed, counts["shape"], counts["n_null"], 4)
        result = prevalence_inference(maps, permutations=counts["permutations"], seed=seed)
        rejected += bool((result.p_global_fwe[region] <= ALPHA).any())
        true_prevalence = np.where(region, 4 / N_SUBJECTS, 0.0)
        exceeded += bool((np.nan_to_num(result.bound_fwe, nan=0.0) > true_prevalence).any())
    n = counts["effect_studies"]
    print(f"effect in 4 of 6 prevalence global null rejected in the region {interval(rejected, n)}")
    print(
        f"effect in 4 of 6 prevalence bound above the true prevalence {interval(exceeded, n)}  "
        f"{verdict(exceeded, n)} alpha {ALPHA}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer studies, smaller counts (the tests run this)")
    counts = QUICK if parser.parse_args().quick else FULL
    print(f"{counts['studies']} studies without effect, {counts['effect_studies']} per effect scenario")
    print(
        f"{N_SUBJECTS} subjects, {np.prod(counts['shape'])} voxels, {counts['n_null']} null maps per subject; "
        f"Stelzer {counts['bootstraps']} bootstraps at p_voxel {counts['p_voxel']}, prevalence "
        f"{counts['permutations']} permutations, sign-flip n_perm {counts['n_perm']} (TFCE; all "
        f"{2**N_SUBJECTS} sign patterns when n_perm >= {2**N_SUBJECTS})"
    )
    start = time.perf_counter()
    no_effect(counts)
    effect_in_every_subject(counts)
    effect_in_four_of_six(counts)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
