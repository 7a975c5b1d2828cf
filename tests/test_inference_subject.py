"""Subject-level permutation inference: permutations within runs and their file, voxel p-values,
voxel/cluster/TFCE FWE, on hand-worked arrays, nilearn's TFCE and simulated true nulls."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from scipy.stats import binom

from snakelight.inference import clusters, feasibility, subject
from snakelight.inference import tfce as exact_tfce
from snakelight.inference.permutations import (
    check_relabellings,
    check_settings,
    distinct_null_maps,
    distinct_relabellings,
    exchangeability,
    is_block_design,
    label_renamings,
    null_maps,
    null_permutations,
    permutation_block,
    permutation_count,
    permuted_labels,
    read_permutations,
    write_permutations,
)
from snakelight.io import InputError

LABELS = np.array(["face", "house"] * 16)
RUNS = np.repeat([1, 2, 3, 4], 8)
RUNS_UNEVEN = np.repeat([1, 2, 3, 4], [6, 8, 8, 10])
SAMPLES = exchangeability(LABELS, RUNS, np.arange(32), "samples")


# Permutations


@pytest.mark.parametrize("runs", [RUNS, RUNS_UNEVEN])
def test_permutations_keep_each_runs_labels(runs):
    labels = np.where(np.arange(32) % 3 == 0, "face", "house")
    block = permutation_block(exchangeability(labels, runs, np.arange(32), "samples"), seed=7, ks=range(1, 11))
    for run in np.unique(runs):
        in_run = runs == run
        assert (np.sort(block[in_run], axis=0) == np.sort(labels[in_run])[:, None]).all()
    assert len({tuple(column) for column in block.T}) == 10  # every k its own permutation


def test_permutation_k_depends_on_seed_and_k_alone():
    five, ten = (permutation_block(SAMPLES, seed=3, ks=range(1, n + 1)) for n in (5, 10))
    assert (ten[:, :5] == five).all()
    assert (permuted_labels(SAMPLES, seed=3, k=7) == ten[:, 6]).all()
    assert not (permuted_labels(SAMPLES, seed=4, k=7) == ten[:, 6]).all()


# Two runs as Haxby's, selected: a face and a house block of 3 volumes each, rest between them;
# run 2 also has a 2-volume face block (a block of another length: it keeps its label).
BLOCK_LABELS = np.array(["face"] * 3 + ["house"] * 3 + ["house"] * 3 + ["face"] * 3 + ["face"] * 2)
BLOCK_RUNS = np.repeat([1, 2], [6, 8])
BLOCK_VOLUMES = np.array([4, 5, 6, 10, 11, 12, 4, 5, 6, 10, 11, 12, 20, 21])


def test_blocks_are_consecutive_volumes_of_one_label_in_one_run():
    design = exchangeability(BLOCK_LABELS, BLOCK_RUNS, BLOCK_VOLUMES)
    assert design.units.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]
    # A gap in the volumes starts a new block, even with the same label.
    gap = exchangeability(np.array(["face"] * 4), np.ones(4), np.array([0, 1, 5, 6]))
    assert gap.units.tolist() == [0, 0, 1, 1]


def test_whole_blocks_move_and_every_relabelling_is_equally_likely():
    """Runs 1 and 2 each swap their two 3-volume blocks or not: 4 relabellings, each drawn
    about a quarter of the time; the 2-volume block has no partner and keeps its label."""
    design = exchangeability(BLOCK_LABELS, BLOCK_RUNS, BLOCK_VOLUMES)
    block = permutation_block(design, seed=1, ks=range(1, 2001))
    for unit in np.unique(design.units):
        assert (block[design.units == unit] == block[design.units == unit][:1]).all()  # one label per block
    assert (block[12:] == "face").all()
    seen, counts = np.unique(block[[0, 6]].T, axis=0, return_counts=True)
    assert len(seen) == 4 == distinct_relabellings(design)
    assert binom(2000, 0.25).ppf(0.0005) < counts.min() <= counts.max() < binom(2000, 0.25).ppf(0.9995)


def test_distinct_relabellings_by_hand():
    # Single samples: 8 per run, 4 faces: C(8, 4) = 70 per run, 4 runs.
    assert distinct_relabellings(SAMPLES) == 70**4
    # Three blocks of one length in a run, two faces and a house: 3 arrangements.
    three = exchangeability(np.array(["f", "f", "h", "h", "f", "f"]), np.ones(6), np.array([0, 1, 3, 4, 6, 7]))
    assert distinct_relabellings(three) == 3


def test_too_few_relabellings_for_alpha_are_refused():
    design = exchangeability(BLOCK_LABELS, BLOCK_RUNS, BLOCK_VOLUMES)  # 4 relabellings: p >= 1/4
    check_relabellings(design, alpha=0.25, source="samples.tsv")
    with pytest.raises(InputError) as error:
        check_relabellings(design, alpha=0.2, source="samples.tsv")
    assert str(error.value) == (
        "config key inference.permute: the 5 blocks of samples.tsv (2 runs) have only 4 distinct relabellings "
        "within runs (counted modulo renaming the labels), so no p-value can reach inference.alpha = 0.2; it needs "
        "5: use more runs (two conditions, one block each per run: 4 runs), or a larger alpha"
    )
    assert "samples" not in str(error.value).split("of samples.tsv")[1]  # no longer suggests permute: samples


def _two_condition_runs(n_runs):
    """n_runs runs, each a face block then a house block (4 volumes each, rest between)."""
    labels = np.tile(np.repeat(["face", "house"], 4), n_runs)
    runs = np.repeat(np.arange(1, n_runs + 1), 8)
    return labels, runs, np.tile(np.r_[0:4, 6:10], n_runs)


def test_relabellings_are_counted_modulo_the_renaming_of_the_labels():
    # Swapping face and house in every run is a relabelling, and names the same split: its
    # null map is the real one. 5 runs: 2^5 = 32 relabellings, 16 distinct maps.
    design = exchangeability(*_two_condition_runs(5))
    assert distinct_relabellings(design) == 32 and label_renamings(design) == 2
    assert distinct_null_maps(design) == 16
    with pytest.raises(InputError, match="have only 16 distinct relabellings"):
        check_relabellings(design, alpha=0.05, source="samples.tsv")  # 32 >= 20 let it through before
    haxby = exchangeability(*_two_condition_runs(12))
    assert distinct_null_maps(haxby) == 2_048
    check_relabellings(haxby, alpha=0.05, source="samples.tsv")
    # Three conditions of one block each per run: the 3! renamings.
    three = exchangeability(
        np.tile(np.repeat(["a", "b", "c"], 2), 4),
        np.repeat([1, 2, 3, 4], 6),
        np.tile(np.arange(6) // 2 * 3 + np.arange(6) % 2, 4),
    )
    assert distinct_relabellings(three) == 6**4 and label_renamings(three) == 6
    # Labels with different counts in a run cannot be renamed into each other.
    assert label_renamings(exchangeability(BLOCK_LABELS, BLOCK_RUNS, BLOCK_VOLUMES)) == 1


def test_a_global_label_swap_scores_the_real_split():
    from sklearn.model_selection import KFold

    from snakelight.searchlight.scoring import score_spheres

    labels, runs, volumes = _two_condition_runs(4)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((labels.size, 8)).astype(np.float32)
    X[labels == "face", :3] += 0.7
    swapped = np.where(labels == "face", "house", "face")
    folds = list(KFold(n_splits=4).split(X, labels))
    spheres = [np.arange(3, dtype=np.intp), np.arange(2, 8, dtype=np.intp)]
    for estimator in ("gnb", "lda"):
        real = score_spheres(X, labels, spheres, estimator, folds, engine="fast")
        renamed = score_spheres(X, swapped, spheres, estimator, folds, engine="fast")
        assert np.array_equal(real, renamed)


# Exhaustive enumeration: a design with no more distinct null maps than P + 1 gets them all.


def _split(column):
    """A relabelling's class modulo renaming the labels: the set of samples labelled as the
    first sample is (two conditions)."""
    return tuple(column == column[0])


def _every_relabelling(labels, runs):
    """Brute force: every relabelling of two-condition runs of one face and one house block,
    each run swapping its two blocks or not: 2^R label vectors."""
    swapped = np.where(labels == "face", "house", "face")
    return [
        np.where(np.isin(runs, np.unique(runs)[list(swaps)]), swapped, labels)
        for swaps in (np.flatnonzero(pattern) for pattern in itertools.product([0, 1], repeat=np.unique(runs).size))
    ]


def test_enough_permutations_enumerate_every_distinct_relabelling():
    """8 runs: 2^8 relabellings, 128 distinct splits; P >= 127 gives the 127 but the real one,
    each once, in a seeded order, and no more maps (P = 200 too)."""
    labels, runs, volumes = _two_condition_runs(8)
    design = exchangeability(labels, runs, volumes)
    expected = {_split(relabelling) for relabelling in _every_relabelling(labels, runs)} - {_split(labels)}
    assert len(expected) == 127
    for n_permutations in (127, 200):
        table = null_permutations(design, seed=0, ks=range(1, n_permutations + 1))
        assert table.shape == (labels.size, 127)
        assert [_split(column) for column in table.T].count(_split(labels)) == 0
        assert {_split(column) for column in table.T} == expected  # all of them, each once (127 columns)
        assert null_maps(design, n_permutations) == (127, 128, True, True)
    assert not np.array_equal(table, null_permutations(design, seed=1, ks=range(1, 128)))  # another order
    # Feasibility agrees: the enumerated test's smallest p, 1/128, reaches alpha iff 1/128 <= alpha.
    check_relabellings(design, alpha=1 / 128, source="samples.tsv")
    with pytest.raises(InputError, match="have only 128 distinct relabellings"):
        check_relabellings(design, alpha=1 / 129, source="samples.tsv")
    # Fewer: a draw without replacement, the first of the same order (blocks keep their maps).
    fewer = null_permutations(design, seed=0, ks=range(1, 101))
    assert np.array_equal(fewer, table[:, :100])
    assert null_maps(design, 100) == (100, 128, True, False)
    assert np.array_equal(null_permutations(design, seed=0, ks=range(121, 131)), table[:, 120:])
    # Too many relabellings to list (single samples: 70^4): drawn with replacement, as before.
    assert null_maps(SAMPLES, 200) == (200, 70**4 // 2, False, False)
    assert np.array_equal(
        null_permutations(SAMPLES, seed=3, ks=range(1, 6)), permutation_block(SAMPLES, 3, range(1, 6))
    )


def test_three_conditions_enumerate_one_relabelling_per_class():
    """Three conditions of one block each in 3 runs: 6^3 relabellings, 3! renamings, 36 classes."""
    labels = np.tile(np.repeat(["a", "b", "c"], 2), 3)
    runs, volumes = np.repeat([1, 2, 3], 6), np.tile(np.arange(6) // 2 * 3 + np.arange(6) % 2, 3)
    design = exchangeability(labels, runs, volumes)
    table = null_permutations(design, seed=0, ks=range(1, 100))

    def partition(column):
        return frozenset(frozenset(np.flatnonzero(column == label)) for label in "abc")

    every = {
        partition(np.concatenate([np.repeat(order, 2) for order in orders]))
        for orders in itertools.product(itertools.permutations("abc"), repeat=3)
    }
    assert table.shape[1] == 35 == len(every) - 1
    assert {partition(column) for column in table.T} == every - {partition(labels)}


def test_a_null_map_per_enumerated_relabelling_equals_scoring_it_and_p_values_are_exact():
    """The 127 null maps of the 8-run design are the maps of the 127 other splits, each scored
    directly (gnb: a renamed split scores the same bit for bit), and the p-values are the
    exact test's: #{splits whose map >= observed} / 128."""
    from sklearn.model_selection import KFold

    from snakelight.searchlight.scoring import score_spheres, score_spheres_permuted

    labels, runs, volumes = _two_condition_runs(8)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((labels.size, 12)).astype(np.float32)
    X[labels == "face", :4] += 0.8
    folds = list(KFold(n_splits=4).split(X, labels))
    spheres = [np.arange(start, start + 4, dtype=np.intp) for start in range(0, 9)]
    table = null_permutations(exchangeability(labels, runs, volumes), seed=0, ks=range(1, 201))
    null = score_spheres_permuted(X, table, spheres, "gnb", folds, engine="fast").mean(axis=2)
    for k in (0, 63, 126):
        assert np.array_equal(null[k], score_spheres(X, table[:, k], spheres, "gnb", folds, engine="fast").mean(axis=1))
    every = {_split(relabelling): relabelling for relabelling in _every_relabelling(labels, runs)}
    brute = {
        split: score_spheres(X, y, spheres, "gnb", folds, engine="fast").mean(axis=1) for split, y in every.items()
    }
    observed = brute.pop(_split(labels))
    assert sorted(map(tuple, null)) == sorted(map(tuple, brute.values()))
    exact = (1 + np.sum([maps >= observed for maps in brute.values()], axis=0)) / 128
    assert np.array_equal(subject.voxel_p_values(observed, null)[0], exact)
    exact_fwe = (1 + np.sum([maps.max() >= observed for maps in brute.values()], axis=0)) / 128
    assert np.array_equal(subject.voxel_fwe(observed, null), exact_fwe)
    assert exact_fwe.min() >= 1 / 128


def test_blocks_past_the_enumerated_relabellings_are_empty(tmp_path):
    labels, runs, volumes = _two_condition_runs(6)  # 32 distinct null maps: 31 to score
    design = exchangeability(labels, runs, volumes)
    assert write_permutations(tmp_path / "25-32.tsv", design, seed=0, n_permutations=8, first=25) == 7
    assert write_permutations(tmp_path / "33-40.tsv", design, seed=0, n_permutations=8, first=33) == 0
    assert (tmp_path / "33-40.tsv").read_text() == "" and permutation_count(tmp_path / "33-40.tsv") == 0
    assert read_permutations(tmp_path / "33-40.tsv", labels, runs, first=33).shape == (labels.size, 0)
    straddling = read_permutations(tmp_path / "25-32.tsv", labels, runs, first=25)
    whole = tmp_path / "permutations.tsv"
    assert write_permutations(whole, design, seed=0, n_permutations=40) == 31 == permutation_count(whole)
    assert np.array_equal(read_permutations(whole, labels, runs)[:, 24:], straddling)


def test_cluster_forming_threshold_rises_to_what_the_null_maps_resolve():
    assert feasibility.cluster_forming_threshold(0.05, 99) == 0.05
    assert feasibility.cluster_forming_threshold(1 / 201, 127) == 1 / 128  # P = 200's default, 8 runs


def test_permute_samples_is_refused_on_block_designs():
    labels, runs, volumes = _two_condition_runs(6)
    assert is_block_design(labels, runs, volumes)
    with pytest.raises(InputError) as error:
        feasibility.check_samples_permutable("samples", is_block_design(labels, runs, volumes), "volumes")
    assert str(error.value).startswith(
        "config key inference.permute: samples moves single volumes, but this design's labels come in blocks"
    )
    feasibility.check_samples_permutable("blocks", True, "volumes")
    feasibility.check_samples_permutable("samples", True, "glm")  # beta series: one beta per trial
    single_trials = (np.array(["face", "house"] * 8), np.repeat([1, 2], 8), np.arange(16))
    assert not is_block_design(*single_trials)
    # Single trials in a random order: some labels repeat on consecutive trials, few four times.
    shuffled = np.random.default_rng(0).permutation(np.repeat(["face", "house"], 100))
    assert not is_block_design(shuffled, np.ones(200), np.arange(200))
    feasibility.check_samples_permutable("samples", False, "volumes")


def test_permutations_file_reads_back(tmp_path):
    write_permutations(tmp_path / "permutations.tsv", SAMPLES, seed=0, n_permutations=6)
    read = read_permutations(tmp_path / "permutations.tsv", LABELS, RUNS)
    assert read.shape == (32, 6)
    assert (read == permutation_block(SAMPLES, seed=0, ks=range(1, 7))).all()
    header = (tmp_path / "permutations.tsv").read_text().splitlines()[0]
    assert header == "\t".join(f"perm_{k}" for k in range(1, 7))


def _move_across_runs(table):
    """Column perm_2 with a face of run 1 and a house of run 2 swapped."""
    column = table["perm_2"].to_numpy().copy()
    face_in_run_1 = np.flatnonzero((column == "face") & (RUNS == 1))[0]
    house_in_run_2 = np.flatnonzero((column == "house") & (RUNS == 2))[0]
    column[[face_in_run_1, house_in_run_2]] = "house", "face"
    return table.assign(perm_2=column)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda table: table.iloc[:-1], "31 rows, but there are 32 samples"),
        (_move_across_runs, "column perm_2, run 1: labels {'face': 3, 'house': 5} are not a permutation"),
        (
            lambda table: table.assign(perm_3=table["perm_3"].where(np.arange(32) != 20, "cat")),
            "column perm_3, run 3: labels {'cat': 1,",
        ),
        (lambda table: table.rename(columns={"perm_2": "perm_7"}), "columns 'perm_1', 'perm_7', 'perm_3'"),
    ],
)
def test_damaged_permutations_file_is_rejected(tmp_path, damage, message):
    path = tmp_path / "permutations.tsv"
    write_permutations(path, SAMPLES, seed=0, n_permutations=3)
    damage(pd.read_csv(path, sep="\t", dtype=str)).to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match=str(path)) as error:
        read_permutations(path, LABELS, RUNS)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ((-1, 1, 0.05, 0.01), "config key inference.permutations: -1 is negative"),
        ((18, 6, 0.05, 0.1), "config key inference.permutations: 18 permutations give p-values of at least 1/19"),
        ((99, 10, 0.05, 0.001), "config key inference.cluster_threshold: 0.001 is below"),
        ((100, 0, 0.05, 0.01), "config key inference.permutations_per_job: 0 is not between 1"),
        ((100, 101, 0.05, 0.01), "config key inference.permutations_per_job: 101 is not between 1"),
    ],
)
def test_impossible_settings_name_their_key(settings, message):
    with pytest.raises(InputError) as error:
        check_settings(*settings)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("settings", [(0, 0, 0.05, 0.001), (19, 19, 0.05, 0.05), (999, 100, 0.05, 0.001)])
def test_possible_settings_pass(settings):
    assert check_settings(*settings) is None


# Voxel statistics


def test_voxel_p_values_count_the_observed_map():
    observed = np.array([0.8, 0.5, 0.95])
    null = np.array([[0.5, 0.6, 0.9], [0.8, 0.4, 0.7], [0.9, 0.5, 0.6]])
    p, log_p = subject.voxel_p_values(observed, null)
    assert p.tolist() == [3 / 4, 3 / 4, 1 / 4]
    assert log_p == pytest.approx(-np.log10([3 / 4, 3 / 4, 1 / 4]))


def test_voxel_fwe_uses_the_null_maxima():
    observed = np.array([0.9, 0.7, 0.6])
    null = np.array([[0.8, 0.5, 0.5], [0.6, 0.65, 0.5], [0.5, 0.5, 0.75]])  # maxima 0.8, 0.65, 0.75
    assert subject.voxel_fwe(observed, null).tolist() == [1 / 4, 3 / 4, 1]


def test_equal_scores_tie_whatever_the_precision():
    observed, null = np.array([0.7]), np.array([[0.7]], dtype=np.float32)  # float32(0.7) < 0.7
    assert subject.voxel_p_values(observed, null)[0].tolist() == [1.0]
    assert subject.voxel_fwe(observed, null).tolist() == [1.0]


# Clusters


def _partition(labels, process_mask):
    """The clusters of a labelled map as a set of frozensets of (i, j, k)."""
    voxels = [tuple(v) for v in np.argwhere(process_mask)]
    return {frozenset(voxels[v] for v in np.flatnonzero(labels == c)) for c in np.unique(labels[labels > 0])}


@pytest.mark.parametrize(
    ("connectivity", "expected"),
    [
        (6, [{(0, 0, 0), (0, 0, 1)}, {(1, 1, 0)}, {(2, 2, 2)}, {(3, 3, 3)}]),
        (18, [{(0, 0, 0), (0, 0, 1), (1, 1, 0)}, {(2, 2, 2)}, {(3, 3, 3)}]),  # (1, 1, 0) shares an edge
        (26, [{(0, 0, 0), (0, 0, 1), (1, 1, 0)}, {(2, 2, 2), (3, 3, 3)}]),  # these two share a corner
    ],
)
def test_clusters_under_each_connectivity(connectivity, expected):
    process_mask = np.ones((4, 4, 4), dtype=bool)
    volume = np.zeros((4, 4, 4), dtype=bool)
    volume[tuple(np.array([(0, 0, 0), (0, 0, 1), (1, 1, 0), (2, 2, 2), (3, 3, 3)]).T)] = True
    labels, n = clusters.label_clusters(volume[process_mask], process_mask, connectivity)
    assert n == len(expected)
    assert _partition(labels, process_mask) == {frozenset(cluster) for cluster in expected}
    assert sorted(clusters.cluster_sizes(labels, n)) == sorted(map(len, expected))


def test_clusters_do_not_connect_through_voxels_outside_the_process_mask():
    process_mask = np.ones((1, 1, 5), dtype=bool)
    process_mask[0, 0, 2] = False
    labels, n = clusters.label_clusters(np.ones(4, dtype=bool), process_mask, 26)
    assert n == 2 and labels.tolist() == [1, 1, 2, 2]


def test_stacked_maps_are_labelled_apart_and_numbered_in_order():
    process_mask = np.ones((2, 2, 2), dtype=bool)
    supra = np.array([[1, 0, 0, 0, 0, 0, 0, 1], [1, 1, 0, 0, 0, 0, 0, 0], [0] * 8], dtype=bool)
    labels, n = clusters.label_clusters(supra, process_mask, 6)
    assert n == 3 and labels[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 2] and labels[1].tolist() == [3, 3] + [0] * 6
    sizes = clusters.cluster_sizes(labels, n)
    masses = clusters.cluster_masses(labels, n, np.arange(24).reshape(3, 8))
    assert sizes.tolist() == [1, 1, 2] and masses.tolist() == [0, 7, 8 + 9]
    assert clusters.largest_per_map(labels, sizes).tolist() == [1, 2, 0]


def test_an_unknown_connectivity_is_refused():
    with pytest.raises(ValueError, match="connectivity 8 is not one of 6, 18, 26"):
        clusters.structure(8)


def test_cluster_forming_ranks_every_map_among_all():
    maps = np.array([[0.9, 0.6], [0.5, 0.7], [0.5, 0.5]])  # p: [[1/3, 2/3], [1, 1/3], [1, 1]]
    assert subject.cluster_forming(maps, 1 / 3).tolist() == [[True, False], [False, True], [False, False]]
    assert subject.cluster_forming(maps, 2 / 3).tolist() == [[True, True], [False, True], [False, False]]


@pytest.fixture
def planted_clusters():
    """An observed map with clusters of 4 voxels (peak 0.95 at (1, 2, 2)) and of 1 voxel, and 9
    null maps each with one cluster of 0.85 of sizes 0, 1, 2, 3, 4, 5, 0, 1, 2; 0.5 elsewhere.
    With P = 9 and threshold 0.1, a voxel forms a cluster in the one map that is highest there."""
    process_mask = np.ones((3, 10, 10), dtype=bool)
    process_mask[0, 0, 0] = False
    scores = np.full((10, 3, 10, 10), 0.5)
    scores[0, 1, 2, 2:6] = 0.9, 0.95, 0.9, 0.9
    scores[0, 2, 8, 8] = 0.8
    for k, size in enumerate([0, 1, 2, 3, 4, 5, 0, 1, 2], start=1):
        scores[k, 0, k, 1 : 1 + size] = 0.85
    return scores[:, process_mask], process_mask


def test_cluster_fwe_against_the_largest_null_clusters(planted_clusters):
    maps, process_mask = planted_clusters
    result = subject.cluster_fwe(maps[0], maps[1:], process_mask, chance=0.5, threshold=0.1)
    assert result.null_size.tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2]
    assert result.null_mass == pytest.approx(0.35 * result.null_size)
    table = result.table
    assert list(table.columns) == subject.CLUSTER_COLUMNS
    assert table["size"].tolist() == [4, 1]
    assert table["mass"].tolist() == pytest.approx([3 * 0.4 + 0.45, 0.3])
    assert table[["peak_i", "peak_j", "peak_k"]].to_numpy().tolist() == [[1, 2, 3], [2, 8, 8]]
    assert table["peak_score"].tolist() == [0.95, 0.8]
    assert table["p_fwe_size"].tolist() == pytest.approx([3 / 10, 8 / 10])  # null sizes >= 4: two; >= 1: seven
    assert table["p_fwe_mass"].tolist() == pytest.approx([2 / 10, 8 / 10])  # null masses >= 1.65: only 1.75
    assert _partition(result.labels == 1, process_mask) == {frozenset((1, 2, k) for k in range(2, 6))}
    located = subject.add_mm_coordinates(table, np.diag([2.0, 3.0, 4.0, 1.0]))
    assert located[["x_mm", "y_mm", "z_mm"]].to_numpy().tolist() == [[2, 6, 12], [4, 24, 32]]


def test_cluster_table_reports_the_observed_scores_as_given(planted_clusters):
    maps, process_mask = planted_clusters
    result = subject.cluster_fwe(maps[0], maps[1:].astype(np.float32), process_mask, chance=0.5, threshold=0.1)
    assert result.table["peak_score"].tolist() == [0.95, 0.8] and result.table["size"].tolist() == [4, 1]


def test_no_cluster_gives_an_empty_table(planted_clusters):
    maps, process_mask = planted_clusters
    result = subject.cluster_fwe(np.full(maps.shape[1], 0.5), maps[1:], process_mask, chance=0.5, threshold=0.1)
    assert len(result.table) == 0 and list(result.table.columns) == subject.CLUSTER_COLUMNS
    assert not result.labels.any()


# TFCE


def test_tfce_by_hand_on_a_line():
    # Voxels 0-2 form one cluster of 3 for h in (0, 1], voxels 1-2 one of 2 for h in (1, 2]:
    # TFCE = sum of size^0.5 * (top^3 - bottom^3) / 3 over the intervals below the voxel's value.
    enhanced = subject.tfce(np.array([1.0, 2.0, 2.0, 0.0, 1.0]), np.ones((5, 1, 1), dtype=bool))
    both = np.sqrt(3) / 3 + np.sqrt(2) * 7 / 3
    np.testing.assert_allclose(enhanced, [np.sqrt(3) / 3, both, both, 0, 1 / 3], rtol=1e-14)


def test_tfce_of_one_voxel_is_the_integral():
    # One voxel of height x: the integral of h^2 from 0 to x is x^3 / 3, exactly.
    enhanced = subject.tfce(np.array([0.0, 0.3, -1.0]), np.ones((3, 1, 1), dtype=bool))
    assert enhanced[1] == pytest.approx(0.3**3 / 3, rel=1e-14) and enhanced[[0, 2]].tolist() == [0, 0]


def _smooth_map(seed, shape=(9, 10, 8)):
    volume = ndimage.gaussian_filter(np.random.default_rng(seed).normal(size=shape), 1.2)
    process_mask = np.ones(volume.shape, dtype=bool)
    process_mask[0], process_mask[:, :2, :3] = False, False
    return volume, process_mask


def _brute_force_tfce(values, process_mask, connectivity, steps):
    """The midpoint sum of e(h)^0.5 h^2 dh over ``steps`` heights, labelling at every height."""
    dh = values.max() / steps
    enhanced = np.zeros(values.shape)
    for height in (np.arange(steps) + 0.5) * dh:
        labels, n = clusters.label_clusters(values >= height, process_mask, connectivity)
        extent = np.r_[0, np.sqrt(clusters.cluster_sizes(labels, n))]
        enhanced += extent[labels] * height**2 * dh
    return enhanced


@pytest.mark.parametrize("connectivity", [6, 26])
def test_tfce_is_the_limit_of_a_brute_force_sum(connectivity):
    volume, process_mask = _smooth_map(1, (6, 7, 5))
    values = volume[process_mask]
    ours = subject.tfce(values, process_mask, connectivity=connectivity)
    errors = [
        np.abs(_brute_force_tfce(values, process_mask, connectivity, steps) - ours).max() / ours.max()
        for steps in (100, 1_000, 10_000)
    ]
    assert errors[2] < errors[1] < errors[0] < 0.01 and errors[2] < 1e-4


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_tfce_is_nilearns_times_the_step_at_nilearns_heights(connectivity):
    # On a map whose values lie on nilearn's heights j * dh, cluster extents only change at
    # those heights. With H = 0 the integral of e(h)^E over each step is e(h_j)^E dh: ours is
    # nilearn's sum x dh. With H = 2 nilearn's right-hand sum converges to ours as dh falls.
    from nilearn.mass_univariate._utils import calculate_tfce

    volume, process_mask = _smooth_map(1)
    dh = volume.max() / 20
    on_heights = np.where(process_mask, np.round(volume / dh) * dh, 0)
    structure = clusters.structure(connectivity)
    nilearns = calculate_tfce(on_heights[..., None], structure, H=0, dh=dh, two_sided_test=False)[..., 0]
    ours = exact_tfce.tfce(on_heights[process_mask], process_mask, connectivity=connectivity, H=0)
    assert ours.max() > 0
    np.testing.assert_allclose(ours, nilearns[process_mask] * dh, rtol=1e-12, atol=1e-14)
    values = volume[process_mask]
    ours = subject.tfce(values, process_mask, connectivity=connectivity)
    errors = []
    for steps in (100, 1_000):
        step = values.max() / steps
        nilearns = calculate_tfce(
            np.where(process_mask, volume, 0)[..., None], structure, dh=step, two_sided_test=False
        )
        errors.append(np.abs(nilearns[..., 0][process_mask] * step - ours).max() / ours.max())
    assert errors[1] < errors[0] / 5 and errors[1] < 2e-3


def test_tfce_of_stacked_maps_is_each_maps_own():
    process_mask = np.ones((4, 5, 3), dtype=bool)
    maps = ndimage.gaussian_filter(np.random.default_rng(2).normal(size=(3, 4, 5, 3)), (0, 1, 1, 1))
    maps = maps.reshape(3, -1)
    maps[2] = -np.abs(maps[2])  # nothing above chance: no enhancement
    stacked = subject.tfce(maps, process_mask)
    assert stacked[2].tolist() == [0] * 60
    np.testing.assert_allclose(stacked[:2], [subject.tfce(m, process_mask) for m in maps[:2]], rtol=1e-12)


def test_tfce_fwe_of_a_blob_no_null_matches(planted_clusters):
    maps, process_mask = planted_clusters
    result = subject.tfce_fwe(maps[0], maps[1:], process_mask, chance=0.5)
    assert result.null_max.tolist() == pytest.approx([subject.tfce(m - 0.5, process_mask).max() for m in maps[1:]])
    blocks = [subject.tfce_maxima(block, process_mask, chance=0.5) for block in (maps[1:4], maps[4:])]
    assert np.concatenate(blocks).tolist() == result.null_max.tolist()  # blocks of permutations reduce apart
    assert result.p_fwe[np.argmax(maps[0])] == 1 / 10  # the 4-voxel cluster's peak beats every null map
    assert result.p_fwe[maps[0] == 0.5].tolist() == [1.0] * np.count_nonzero(maps[0] == 0.5)


# Calibration under a true null


def _exchangeable_datasets(n_datasets, n_maps, shape, seed=0):
    """Smooth maps around 0.5, the first of each dataset taken as the observed one: (datasets, maps, V)."""
    noise = np.random.default_rng(seed).normal(size=(n_datasets, n_maps, *shape))
    return (0.5 + 0.1 * ndimage.gaussian_filter(noise, (0, 0, 1, 1, 1))).reshape(n_datasets, n_maps, -1)


@pytest.mark.parametrize("method", ["voxel", "cluster", "tfce"])
def test_fwe_holds_under_a_true_null(method):
    alpha, n_datasets, shape = 0.05, 200, (4, 4, 4)
    process_mask = np.ones(shape, dtype=bool)
    smallest_p = {
        "voxel": lambda observed, null: subject.voxel_fwe(observed, null).min(),
        "cluster": lambda observed, null: (
            subject.cluster_fwe(observed, null, process_mask, chance=0.5, threshold=0.1)
            .table["p_fwe_size"]
            .to_numpy()
            .min(initial=1)
        ),
        "tfce": lambda observed, null: subject.tfce_fwe(observed, null, process_mask, chance=0.5).p_fwe.min(),
    }[method]
    datasets = _exchangeable_datasets(n_datasets, 20, shape)  # P = 19: the smallest p is alpha
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rejections = sum(smallest_p(maps[0], maps[1:]) <= alpha for maps in datasets)
    assert rejections <= binom.ppf(0.95, n_datasets, alpha)
