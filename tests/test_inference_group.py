"""Group-level searchlight inference: hand-worked cases, determinism, calibration, errors."""

import itertools
import math

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.second_level import non_parametric_inference
from scipy import ndimage, stats

from snakelight.inference import clusters
from snakelight.inference import tfce as exact_tfce
from snakelight.inference.group import check_group_settings, method_maps, stack_subject_maps, to_images
from snakelight.inference.prevalence import prevalence_inference, second_level_combinations
from snakelight.inference.signflip import sign_flip_inference, sign_patterns
from snakelight.inference.stelzer import bootstrap_draws, stelzer_inference
from snakelight.io import InputError

# A 1-D "brain": 5 voxels in a row, with a masked-out voxel at each end of the grid.
LINE_MASK = np.array([False, True, True, True, True, True, False]).reshape(7, 1, 1)


def line_study():
    """3 subjects, 2 null maps each: null map 0 is 0.25 everywhere, null map 1 adds e_n,
    in multiples of 3/8 so that every bootstrap mean is exact in binary.

    With the 4 draws below the bootstrap maps (voxels 0..4) are:
      (0,0,0) 0.25  0.25  0.25  0.25  0.25
      (1,1,1) 0.375 0.5   0.5   0.375 0.375
      (1,0,0) 0.375 0.375 0.25  0.25  0.375
      (0,1,1) 0.25  0.375 0.5   0.375 0.25
    """
    e = np.array([[0.375, 0.375, 0, 0, 0.375], [0, 0.375, 0.375, 0, 0], [0, 0, 0.375, 0.375, 0]])
    null = np.stack([np.full((3, 5), 0.25), 0.25 + e], axis=1)  # (N, P, V)
    draws = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 1]])
    return null, draws


def test_stelzer_hand_worked_line():
    null, draws = line_study()
    observed = np.tile([0.5, 0.5, 0.25, 0.375, 0.5], (3, 1))
    result = stelzer_inference(observed, null, LINE_MASK, p_voxel=0.5, alpha=0.5, draws=draws)
    # floor(0.5 x 4) = 2 values may exceed: the threshold is the 2nd smallest of the 4.
    assert result.thresholds.tolist() == [0.25, 0.375, 0.25, 0.25, 0.25]
    assert result.group_mean.tolist() == [0.5, 0.5, 0.25, 0.375, 0.5]
    # Supra-threshold voxels per bootstrap map: none; all 5; {0}, {4}; {2, 3}.
    assert result.largest_null.tolist() == [0, 5, 1, 2]
    # (1 + #{b: g_b >= g}) / (1 + 4)
    assert result.p_uncorrected.tolist() == [0.2, 0.4, 1.0, 0.6, 0.2]
    # Observed: {0, 1} and {3, 4}, size 2 each; 2 of 4 bootstrap maps have a cluster >= 2.
    expected = pd.DataFrame(
        {
            "cluster": [1, 2],
            "size": [2, 2],
            "peak_i": [1, 5],
            "peak_j": [0, 0],
            "peak_k": [0, 0],
            "peak_accuracy": [0.5, 0.5],
            "p_fwe": [0.6, 0.6],
        }
    )
    pd.testing.assert_frame_equal(result.clusters, expected)
    assert result.cluster_labels.tolist() == [1, 1, 0, 2, 2]
    assert result.cluster_p_fwe.tolist() == [0.6, 0.6, 1.0, 0.6, 0.6]
    assert not result.significant.any()


def test_stelzer_hand_worked_line_other_threshold_and_significant_cluster():
    null, draws = line_study()
    result = stelzer_inference(np.full((3, 5), 0.5), null, LINE_MASK, p_voxel=0.25, alpha=0.5, draws=draws)
    # floor(0.25 x 4) = 1: the 3rd smallest.
    assert result.thresholds.tolist() == [0.375, 0.375, 0.5, 0.375, 0.375]
    # Only map (1,1,1) has a supra-threshold voxel (voxel 1: 0.5 > 0.375); 0.5 at voxel 2 is not > 0.5.
    assert result.largest_null.tolist() == [0, 1, 0, 0]
    # The observed 0.5 is above every threshold but voxel 2's: clusters {0, 1} and {3, 4}.
    assert result.clusters["size"].tolist() == [2, 2]
    assert result.clusters["p_fwe"].tolist() == [0.2, 0.2]
    assert result.significant.tolist() == [True, True, False, True, True]


@pytest.mark.parametrize(("connectivity", "sizes"), [(1, [1, 1]), (2, [2]), (3, [2])])
def test_stelzer_connectivity(connectivity, sizes):
    """Two voxels touching by an edge: one cluster unless connectivity is face only."""
    mask = np.ones((2, 2, 1), dtype=bool)  # voxels (0,0), (0,1), (1,0), (1,1)
    observed = np.tile([0.5, 0.25, 0.25, 0.5], (2, 1))
    null = np.full((2, 3, 4), 0.25)
    result = stelzer_inference(observed, null, mask, bootstraps=10, p_voxel=0.2, alpha=0.5, connectivity=connectivity)
    assert result.clusters["size"].tolist() == sizes
    assert result.largest_null.tolist() == [0] * 9  # 3 null maps of 2 subjects: all 3^2 combinations


def test_stelzer_enumerates_the_combinations_when_they_are_few():
    every = bootstrap_draws(100, 2, 3, seed=0)
    assert every.tolist() == [[a, b] for a in range(3) for b in range(3)]
    assert np.array_equal(bootstrap_draws(9, 2, 3, seed=5), every)  # 3^2 <= B: no draw, no seed
    drawn = bootstrap_draws(8, 2, 3, seed=0)
    assert drawn.shape == (8, 2)


def random_study(seed, n_subjects=4, n_null=7, shape=(6, 5, 4)):
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.8
    maps = rng.random((n_subjects, n_null + 1, np.count_nonzero(mask)))
    return maps[:, 0], maps[:, 1:], mask


def test_stelzer_equals_unblocked_numpy():
    observed, null, mask = random_study(0)
    n_subjects = len(null)
    draws = bootstrap_draws(300, n_subjects, null.shape[1], seed=3)
    result = stelzer_inference(observed, null, mask, p_voxel=0.05, alpha=0.5, draws=draws, voxel_block=7)
    boot = sum(null[n][draws[:, n]] for n in range(n_subjects)) / n_subjects  # (B, V), all at once
    thresholds = np.sort(boot, axis=0)[math.ceil(0.95 * 300) - 1]
    np.testing.assert_array_equal(result.thresholds, thresholds)
    np.testing.assert_array_equal(result.p_uncorrected, (1 + (boot >= result.group_mean).sum(axis=0)) / 301)
    largest = []
    for values in boot:
        volume = np.zeros(mask.shape, dtype=bool)
        volume[mask] = values > thresholds
        labels, _ = ndimage.label(volume)
        largest.append(np.bincount(labels[labels > 0], minlength=1).max(initial=0))
    np.testing.assert_array_equal(result.largest_null, largest)


def test_stelzer_block_sizes_and_seeds():
    observed, null, mask = random_study(1)
    observed = observed + 0.3 * (np.arange(observed.shape[1]) < 20)  # some clusters to compare
    run = {"bootstraps": 500, "p_voxel": 0.02, "alpha": 0.5, "seed": 5}
    small = stelzer_inference(observed, null, mask, **run, voxel_block=3)
    large = stelzer_inference(observed, null, mask, **run, voxel_block=1000)
    again = stelzer_inference(observed, null, mask, **run)
    for field in ("group_mean", "thresholds", "p_uncorrected", "cluster_labels", "cluster_p_fwe", "largest_null"):
        assert getattr(small, field).tobytes() == getattr(large, field).tobytes() == getattr(again, field).tobytes()
    assert len(small.clusters) > 0
    pd.testing.assert_frame_equal(small.clusters, large.clusters)
    other = stelzer_inference(observed, null, mask, **{**run, "seed": 6})
    assert not np.array_equal(other.thresholds, small.thresholds)


# Subjects with their own null-map counts (designs whose distinct relabellings were enumerated).


def ragged_study(counts, seed=4, shape=(6, 5, 4)):
    """Observed maps (N, V), each subject's null maps (P_n, V) with P_n = counts[n], a mask."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.8
    n_voxels = np.count_nonzero(mask)
    return rng.random((len(counts), n_voxels)), [rng.random((count, n_voxels)) for count in counts], mask


def test_stelzer_draws_each_subjects_map_among_its_own():
    every = bootstrap_draws(100, 3, np.array([2, 3, 4]), seed=0)
    assert every.tolist() == [list(draw) for draw in itertools.product(range(2), range(3), range(4))]
    drawn = bootstrap_draws(5000, 3, np.array([2, 3, 40]), seed=0)  # 240 combinations < 5,000: all
    assert len(drawn) == 240
    drawn = bootstrap_draws(5000, 3, np.array([31, 40, 40]), seed=0)
    assert [np.unique(column).tolist() for column in drawn.T] == [list(range(31)), list(range(40)), list(range(40))]
    # One count shared by every subject: the draws of before.
    assert np.array_equal(bootstrap_draws(500, 3, np.array([9, 9, 9]), seed=2), bootstrap_draws(500, 3, 9, seed=2))


def test_stelzer_with_a_count_per_subject_equals_numpy():
    observed, null, mask = ragged_study([5, 7, 4, 7])
    result = stelzer_inference(observed, null, mask, bootstraps=300, p_voxel=0.05, alpha=0.5, seed=3)
    draws = bootstrap_draws(300, 4, np.array([5, 7, 4, 7]), seed=3)
    boot = sum(null[n][draws[:, n]] for n in range(4)) / 4
    np.testing.assert_array_equal(result.thresholds, np.sort(boot, axis=0)[math.ceil(0.95 * 300) - 1])
    np.testing.assert_array_equal(result.p_uncorrected, (1 + (boot >= result.group_mean).sum(axis=0)) / 301)
    everything = stelzer_inference(observed, null, mask, bootstraps=5 * 7 * 4 * 7, p_voxel=0.05, alpha=0.5)
    assert len(everything.largest_null) == 980  # every combination, no draw
    with pytest.raises(ValueError, match=r"subject n's in 0..P_n - 1 \(P_n: 5, 7, 4, 7\)"):
        stelzer_inference(observed, null, mask, draws=np.full((10, 4), 5), p_voxel=0.5, alpha=0.5)


def test_prevalence_with_a_count_per_subject_is_the_test_on_the_product_set():
    """Subjects with 3, 5 and 2 first-level maps: 30 combinations, all enumerated; the
    p-values are a brute-force loop's over them."""
    observed, null, _ = ragged_study([2, 4, 1])
    maps = [np.vstack([obs[None], subject_null]) for obs, subject_null in zip(observed, null)]
    result = prevalence_inference(maps, permutations=100, alpha=0.5, gamma0=0.3)
    assert result.enumerated and len(result.combinations) == 30
    minima = np.array(
        [
            np.min([maps[n][pick] for n, pick in enumerate(picks)], axis=0)
            for picks in itertools.product(range(3), range(5), range(2))
        ]
    )
    np.testing.assert_array_equal(result.p_global, (minima >= minima[0]).mean(axis=0))
    np.testing.assert_array_equal(result.p_global_fwe, (minima.max(axis=1)[:, None] >= minima[0]).mean(axis=0))
    drawn = prevalence_inference(maps, permutations=20, alpha=0.5, gamma0=0.3)
    assert not drawn.enumerated and drawn.combinations[0].tolist() == [0, 0, 0]
    assert (drawn.combinations < [3, 5, 2]).all()


def prevalence_study():
    """3 subjects, the observed map and 1 permutation map each, 3 voxels: 2^3 = 8
    second-level permutations, all enumerated."""
    observed = [[0.8, 0.6, 0.5], [0.7, 0.6, 0.4], [0.9, 0.5, 0.6]]
    permuted = [[0.5, 0.7, 0.5], [0.6, 0.4, 0.5], [0.5, 0.6, 0.3]]
    return np.stack([observed, permuted], axis=1)  # (N, P1, V)


def test_prevalence_hand_worked():
    alpha = 0.343  # 0.7^3: alpha^(1/3) = 0.7
    result = prevalence_inference(prevalence_study(), permutations=100, alpha=alpha)
    assert result.enumerated
    assert result.combinations.tolist() == [
        [0, 0, 0],
        [0, 0, 1],
        [0, 1, 0],
        [0, 1, 1],
        [1, 0, 0],
        [1, 0, 1],
        [1, 1, 0],
        [1, 1, 1],
    ]
    assert result.minimum.tolist() == [0.7, 0.5, 0.4]
    # m_k per voxel, k in the order above:
    #   v0: 0.7 0.5 0.6 0.5 0.5 0.5 0.5 0.5  -> 1 of 8 >= 0.7
    #   v1: 0.5 0.6 0.4 0.4 0.5 0.6 0.4 0.4  -> 4 of 8 >= 0.5
    #   v2: 0.4 0.3 0.5 0.3 0.4 0.3 0.5 0.3  -> 4 of 8 >= 0.4
    assert result.max_null.tolist() == [0.7, 0.6, 0.6, 0.5, 0.5, 0.6, 0.5, 0.5]
    assert result.p_global.tolist() == [0.125, 0.5, 0.5]
    assert result.p_global_fwe.tolist() == [0.125, 1.0, 1.0]
    # Eq. 19 with p_N = 1/8: (0.5 x 0.5 + 0.5)^3 = 0.421875; eq. 21: 1/8 + 7/8 x 0.421875.
    half_root = 0.5 * 0.5 ** (1 / 3) + 0.5
    np.testing.assert_allclose(result.p_prevalence, [0.421875, half_root**3, half_root**3])
    np.testing.assert_allclose(result.p_prevalence_fwe, [0.494140625, 1.0, 1.0])
    # Eq. 20: (0.7 - 0.5) / (1 - 0.5) = 0.4 at v0; p_N = 0.5 > alpha elsewhere.
    corrected_alpha = (alpha - 0.125) / (1 - 0.125)  # eq. 22 at v0
    bound_fwe_v0 = (corrected_alpha ** (1 / 3) - 0.5) / (1 - 0.5)  # eq. 23
    np.testing.assert_allclose(result.bound, [0.4, np.nan, np.nan])
    np.testing.assert_allclose(result.bound_fwe, [bound_fwe_v0, np.nan, np.nan])
    # Eq. 27: the smallest p is 1/8, reached at v0.
    assert result.bound_max == pytest.approx(0.4)
    assert result.bound_fwe_max == pytest.approx(bound_fwe_v0)


def test_prevalence_monte_carlo_and_blocks():
    maps = np.random.default_rng(2).random((3, 4, 50))  # 4^3 = 64 combinations > 40 asked for
    result = prevalence_inference(maps, permutations=40, alpha=0.1, gamma0=0.4, block=7)
    assert not result.enumerated
    assert result.combinations.shape == (40, 3)
    assert result.combinations[0].tolist() == [0, 0, 0]
    again = prevalence_inference(maps, permutations=40, alpha=0.1, gamma0=0.4, block=1000)
    for field in ("p_global", "p_global_fwe", "bound", "bound_fwe", "max_null", "combinations"):
        assert getattr(result, field).tobytes() == getattr(again, field).tobytes()
    # Direct: the minimum over subjects of each combination's maps, all at once.
    m = maps[np.arange(3), result.combinations].min(axis=1)  # (K, V)
    np.testing.assert_array_equal(result.p_global, (m >= m[0]).mean(axis=0))
    np.testing.assert_array_equal(result.p_global_fwe, (m.max(axis=1)[:, None] >= m[0]).mean(axis=0))
    other = second_level_combinations(3, 4, 40, seed=1)
    assert not np.array_equal(other, result.combinations)
    assert second_level_combinations(3, 4, 64, seed=1).shape == (64, 3)  # enumerated once all fit


def smooth_null_study(seed, n_subjects=6, n_null=20, shape=(10, 10, 10)):
    """No effect anywhere: each subject's observed map is one more draw of its null maps.
    Smooth Gaussian accuracy maps around 0.5 (sd 0.05), so that clusters form."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((n_subjects * (n_null + 1), *shape)), sigma=(0, 1, 1, 1))
    maps = 0.5 + 0.05 * noise.reshape(n_subjects, n_null + 1, -1) / noise.std()
    return maps, np.ones(shape, dtype=bool)


def test_calibration_under_no_effect():
    """Over 40 null studies, the fraction with any FWE-significant cluster (Stelzer) or
    voxel (prevalence, global null) at alpha = 0.05 stays within the binomial 95% upper
    limit; uncorrected voxel p values, in contrast, reject in most studies.

    Stelzer's bootstrap draws from each subject's P null maps, so its voxel thresholds
    carry the pool's sampling error: with P = 20 the observed map has ~1.5x the bootstrap
    maps' supra-threshold voxels and the FWE rate was 10.4% over 240 such studies; with
    P = 100 (Stelzer's choice) 6% over 200. Hence P = 100 for it here.
    """
    n_studies, alpha = 40, 0.05
    stelzer_hits = prevalence_hits = uncorrected_hits = 0
    for seed in range(n_studies):
        maps, mask = smooth_null_study(seed, n_null=100)
        stelzer = stelzer_inference(maps[:, 0], maps[:, 1:], mask, bootstraps=2000, p_voxel=0.01, seed=seed)
        maps, mask = smooth_null_study(seed, n_null=20)
        prevalence = prevalence_inference(maps, permutations=2000, seed=seed)
        stelzer_hits += bool(stelzer.significant.any())
        prevalence_hits += bool((prevalence.p_global_fwe <= alpha).any())
        uncorrected_hits += bool((prevalence.p_global <= alpha).any())
    upper = stats.binom.ppf(0.95, n_studies, alpha)
    assert stelzer_hits <= upper
    assert prevalence_hits <= upper
    assert uncorrected_hits > upper  # the check can fail: an uncorrected test would


def sign_flip_study(n_subjects=8):
    rng = np.random.default_rng(4)
    mask = np.ones((5, 5, 4), dtype=bool)
    mask[0] = False
    maps = 0.5 + 0.05 * rng.standard_normal((n_subjects, np.count_nonzero(mask)))
    maps[:, :10] += 0.2  # a strong effect at the first 10 voxels
    return maps, mask, np.diag([3.0, 3.0, 3.0, 1.0])


def mask_image(mask, affine):
    return nib.Nifti1Image(mask.astype(np.uint8), affine)


@pytest.mark.filterwarnings("ignore:Data array used to create a new image contains 64-bit ints")
def test_sign_flip_t_map_is_nilearns_and_its_maxima_the_flips():
    maps, mask, affine = sign_flip_study()
    result = sign_flip_inference(maps - 0.5, mask, n_perm=200, threshold=0.01, seed=3)
    direct = non_parametric_inference(
        [nib.Nifti1Image(image.get_fdata() - 0.5, affine) for image in to_images(maps, mask, affine)],
        design_matrix=pd.DataFrame({"intercept": np.ones(len(maps))}),
        mask=mask_image(mask, affine),
        two_sided_test=False,
        n_perm=200,
        threshold=0.01,
        tfce=True,
        random_state=3,
    )
    assert list(result.maps) == list(method_maps("signflip", {"signflip": {"threshold": 0.01}}))
    assert sorted(result.maps) == sorted(key for key in direct if not key.startswith("h0_"))
    np.testing.assert_allclose(result.maps["t"], direct["t"].get_fdata()[mask], rtol=1e-12)
    np.testing.assert_allclose(result.maps["t"], stats.ttest_1samp(maps - 0.5, 0.0).statistic, rtol=1e-10)
    for key in ("size", "mass"):  # the observed clusters, each voxel its cluster's
        np.testing.assert_allclose(result.maps[key], direct[key].get_fdata()[mask], rtol=1e-12)
    assert result.n_flips == 201 and not result.exhaustive
    again = sign_flip_inference(maps - 0.5, mask, n_perm=200, threshold=0.01, seed=3)
    assert all(np.array_equal(again.maps[key], result.maps[key]) for key in result.maps)
    log_p = result.maps["logp_max_t"]
    assert log_p[:10].min() > -np.log10(0.05) > log_p[10:].max()


def _brute_force_sign_flips(differences, mask, threshold_t):
    """Every sign pattern, one at a time: the maximum t, TFCE, cluster size and mass of each."""
    n = len(differences)
    maxima = []
    for pattern in itertools.product([1.0, -1.0], repeat=n):
        flipped = differences * np.array(pattern)[:, None]
        t = stats.ttest_1samp(flipped, 0.0).statistic
        labels, count = clusters.label_clusters(t > threshold_t, mask)
        sizes = clusters.cluster_sizes(labels, count)
        masses = clusters.cluster_masses(labels, count, t - threshold_t)
        maxima.append([t.max(), exact_tfce.tfce(t, mask).max(), sizes.max(initial=0), masses.max(initial=0)])
    return np.array(maxima).T


def test_sign_flip_enumerates_every_pattern_when_they_are_few():
    maps, mask, _ = sign_flip_study(n_subjects=6)
    differences = maps - 0.5
    result = sign_flip_inference(differences, mask, n_perm=64, threshold=0.05)
    assert result.exhaustive and result.n_flips == 64
    brute = _brute_force_sign_flips(differences, mask, result.cluster_forming_t)
    for row, key in enumerate(["t", "tfce", "size", "mass"]):
        # The same multiset of maxima, hence the same p-values: #{patterns >= observed} / 2^N.
        np.testing.assert_allclose(np.sort(result.null_maxima[key]), np.sort(brute[row]), rtol=1e-9, atol=1e-12)
    for name, key in [("t", "t"), ("tfce", "tfce"), ("size", "size"), ("mass", "mass")]:
        observed = result.maps[name]
        p = (brute[["t", "tfce", "size", "mass"].index(key)][None] >= observed[:, None] - 1e-9).mean(axis=1)
        np.testing.assert_allclose(10 ** -result.maps[f"logp_max_{key}"], p, rtol=1e-12)
    assert (10 ** -result.maps["logp_max_t"]).min() == pytest.approx(1 / 64)  # the smallest p of 6 subjects


def test_sign_flip_exhaustive_does_not_depend_on_draws_or_seed():
    maps, mask, _ = sign_flip_study(n_subjects=5)
    runs = [sign_flip_inference(maps - 0.5, mask, n_perm=n, threshold=None, seed=s) for n, s in [(32, 0), (500, 7)]]
    assert all(run.exhaustive and run.n_flips == 32 for run in runs)
    assert all(np.array_equal(runs[0].maps[key], runs[1].maps[key]) for key in runs[0].maps)
    assert (10 ** -runs[0].maps["logp_max_t"]).min() == pytest.approx(1 / 32)
    drawn = sign_flip_inference(maps - 0.5, mask, n_perm=31, threshold=None)
    assert not drawn.exhaustive and drawn.n_flips == 32


def test_sign_patterns():
    signs, exhaustive = sign_patterns(3, 8)
    assert exhaustive and signs[0].tolist() == [1, 1, 1] and len({tuple(row) for row in signs}) == 8
    signs, exhaustive = sign_patterns(3, 7, seed=1)
    assert not exhaustive and signs.shape == (8, 3) and signs[0].tolist() == [1, 1, 1]
    assert np.array_equal(signs, sign_patterns(3, 7, seed=1)[0]) and set(np.unique(signs)) == {-1.0, 1.0}


def test_sign_flip_voxel_fwe_only_returns_two_maps():
    maps, mask, _ = sign_flip_study()
    result = sign_flip_inference(maps - 0.5, mask, n_perm=50, threshold=None, tfce=False)
    assert list(result.maps) == ["t", "logp_max_t"]


@pytest.mark.parametrize(
    ("settings", "n_subjects", "n_first_level", "message"),
    [
        ({"alpha": 0}, 6, None, "group.alpha: 0 is not a number between 0 and 1 (exclusive)"),
        ({"alpha": 0.05, "min_subjects": 1}, 6, None, "group.min_subjects: 1 is not an integer of at least 2"),
        ({"alpha": 0.05}, 1, None, "group.min_subjects: 1 subject(s), fewer than the 2 required"),
        ({"alpha": 0.05, "min_subjects": 8}, 6, None, "group.min_subjects: 6 subject(s), fewer than the 8 required"),
        (
            {"alpha": 0.05, "stelzer": {"bootstraps": 0, "p_voxel": 0.001, "connectivity": 1}},
            6,
            None,
            "group.stelzer.bootstraps: 0 is not an integer of at least 1",
        ),
        (
            {"alpha": 0.05, "stelzer": {"bootstraps": 1.5, "p_voxel": 0.001, "connectivity": 1}},
            6,
            None,
            "group.stelzer.bootstraps: 1.5 is not an integer of at least 1",
        ),
        (
            {"alpha": 0.05, "stelzer": {"bootstraps": 500, "p_voxel": 0.001, "connectivity": 1}},
            6,
            None,
            (
                "group.stelzer.p_voxel: 0.001 is below 1/500 = 0.002; 500 bootstrap maps cannot resolve that voxel "
                "threshold: use p_voxel >= 0.002"
            ),
        ),
        (
            {"alpha": 0.05, "stelzer": {"bootstraps": 1000, "p_voxel": 1, "connectivity": 1}},
            6,
            None,
            "group.stelzer.p_voxel: 1 is not a number between 0 and 1 (exclusive)",
        ),
        (
            {"alpha": 0.05, "stelzer": {"bootstraps": 1000, "p_voxel": 0.01, "connectivity": 6}},
            6,
            None,
            "group.stelzer.connectivity: 6 is not one of 1 (face), 2 (edge), 3 (vertex)",
        ),
        (
            {"alpha": 0.01, "stelzer": {"bootstraps": 50, "p_voxel": 0.1, "connectivity": 1}},
            6,
            None,
            (
                "group.alpha: 0.01 is below 0.0196, the smallest p that 50 bootstrap maps give; use at least 99 "
                "(group.stelzer.bootstraps, or more subject-level null maps)"
            ),
        ),
        (
            # 3 null maps of 2 subjects: only 3^2 = 9 bootstrap combinations, all of them drawn.
            {"alpha": 0.05, "stelzer": {"bootstraps": 1000, "p_voxel": 0.01, "connectivity": 1}},
            2,
            4,
            (
                "group.stelzer.p_voxel: 0.01 is below 1/9 = 0.111; 9 bootstrap maps (all combinations of one null map per subject) cannot "
                "resolve that voxel threshold: use p_voxel >= 0.111"
            ),
        ),
        (
            {"alpha": 0.05, "prevalence": {"permutations": 0}},
            6,
            None,
            "group.prevalence.permutations: 0 is not an integer of at least 1",
        ),
        (
            {"alpha": 0.05, "prevalence": {"permutations": 1000, "gamma0": 1.0}},
            6,
            None,
            "group.prevalence.gamma0: 1.0 is not a number between 0 and 1 (exclusive)",
        ),
        (
            # The example: p >= gamma0^N = 0.0625 whatever the data.
            {"alpha": 0.05, "prevalence": {"permutations": 1000, "gamma0": 0.5}},
            4,
            101,
            (
                "group.prevalence.gamma0: prevalence needs N >= 5 subjects at gamma0 0.5 and alpha 0.05, or gamma0 "
                "<= 0.473 with 4 subjects (p >= gamma0^N = 0.0625)"
            ),
        ),
        (
            {"alpha": 0.05, "prevalence": {"permutations": 1000, "gamma0": 0.3}},
            4,
            2,
            (
                "group.prevalence.permutations: 16 second-level permutations (all combinations of 2 first-level maps "
                "of 4 subjects) give p >= 0.0625, above group.alpha 0.05; it needs 20: more permutations, subjects "
                "or subject-level null maps"
            ),
        ),
        (
            {"alpha": 0.05, "signflip": {"n_perm": 0, "threshold": 0.001}},
            6,
            None,
            "group.signflip.n_perm: 0 is not an integer of at least 1",
        ),
        (
            {"alpha": 0.05, "signflip": {"n_perm": 1000, "threshold": 5}},
            6,
            None,
            "group.signflip.threshold: 5 is not a number between 0 and 1 (exclusive)",
        ),
        (
            {"alpha": 0.05, "signflip": {"n_perm": 10, "threshold": None}},
            6,
            None,
            "group.signflip.n_perm: 10 sign flips give p >= 0.0909, above group.alpha 0.05; use n_perm >= 19",
        ),
        (
            {"alpha": 0.05, "signflip": {"n_perm": 1000, "threshold": None}},
            4,
            None,
            (
                "group.min_subjects: the sign-flip test needs N >= 5 subjects at group.alpha 0.05 (4 give 16 sign "
                "patterns, p >= 0.0625)"
            ),
        ),
    ],
)
def test_bad_settings(settings, n_subjects, n_first_level, message):
    with pytest.raises(InputError) as error:
        check_group_settings(settings, n_subjects, n_first_level)
    assert str(error.value) == message


def test_good_settings_pass():
    check_group_settings(
        {
            "alpha": 0.05,
            "min_subjects": 2,
            "stelzer": {"bootstraps": 100_000, "p_voxel": 0.001, "connectivity": 1},
            "prevalence": {"permutations": 100_000, "gamma0": 0.5},
            "signflip": {"n_perm": 10_000, "threshold": 0.001},
        },
        6,
        101,
    )


def test_bad_maps():
    null, draws = line_study()
    observed = np.full((3, 5), 0.5)
    with pytest.raises(InputError, match=r"^observed: 4 voxels per map, but the mask has 5$"):
        stelzer_inference(observed[:, :4], null, LINE_MASK, draws=draws, p_voxel=0.5, alpha=0.5)
    with pytest.raises(InputError, match=r"^null: maps of 2 subjects, but observed has 3$"):
        stelzer_inference(observed, null[:2], LINE_MASK, draws=draws, p_voxel=0.5, alpha=0.5)
    with pytest.raises(InputError, match=r"^group.min_subjects: observed holds 1 subject\(s\), fewer than 2$"):
        stelzer_inference(observed[:1], null[:1], LINE_MASK, draws=draws[:, :1], p_voxel=0.5, alpha=0.5)
    with pytest.raises(InputError, match=r"^null: 1 values are NaN or infinite$"):
        stelzer_inference(observed, _with_nan(null), LINE_MASK, draws=draws, p_voxel=0.5, alpha=0.5)
    with pytest.raises(InputError, match=r"^maps: 1 first-level map per subject"):
        prevalence_inference(prevalence_study()[:, :1])
    with pytest.raises(InputError, match=r"^sub-03.npy: maps of shape 20x4 differ from sub-01.npy's 20x5; "):
        stack_subject_maps(
            [np.zeros((20, 5)), np.zeros((20, 5)), np.zeros((20, 4))], ["sub-01.npy", "sub-02.npy", "sub-03.npy"]
        )


def _with_nan(null):
    null = null.copy()
    null[1, 1, 2] = np.nan
    return null


def test_stack_subject_maps_and_images():
    stacked = stack_subject_maps([np.zeros(5), np.ones(5)], ["a", "b"])
    assert stacked.shape == (2, 5) and stacked.dtype == np.float64
    image = to_images(np.arange(5.0), LINE_MASK, np.eye(4))
    assert image.get_fdata()[:, 0, 0].tolist() == [0, 0, 1, 2, 3, 4, 0]


def test_feasibility_counts_each_subjects_own_null_maps():
    """Two subjects with 3 and 4 null maps (4 and 5 first-level maps): 12 bootstrap maps at
    most; with 2 and 4 null maps, 15 second-level permutations."""
    stelzer = {"alpha": 0.05, "stelzer": {"bootstraps": 1000, "p_voxel": 0.1, "connectivity": 1}}
    with pytest.raises(
        InputError,
        match=r"^group.stelzer.p_voxel: 0.05 is below 1/12 = 0.0833; 12 bootstrap maps \(all combinations of one",
    ):
        check_group_settings({**stelzer, "stelzer": {**stelzer["stelzer"], "p_voxel": 0.05}}, 2, [4, 5])
    with pytest.raises(InputError, match=r"^group.alpha: 0.05 is below 0.0769, the smallest p that 12 bootstrap"):
        check_group_settings(stelzer, 2, [4, 5])
    prevalence = {"alpha": 0.05, "prevalence": {"permutations": 1000, "gamma0": 0.2}}
    with pytest.raises(InputError, match=r"15 second-level permutations \(all combinations of 3, 5 first-level"):
        check_group_settings(prevalence, 2, [3, 5])
    check_group_settings(prevalence, 2, [4, 5])  # 20 >= 1 / alpha
