"""Label permutations for subject-level permutation tests, and their file ``permutations.tsv``.

Labels are permuted within runs (runs are the exchangeability blocks: samples.tsv's ``run``
column), and every sphere of one permutation is scored with the same permuted labels, so the
null maps keep the spatial dependence of the real one. The cross-validation folds stay those
of the real labels: a permutation changes which label a sample carries, never which fold it is
in. Permutation k (k = 1..P) depends on (seed, k) alone, so asking for more permutations keeps
the first ones.

What moves (``inference.permute``):

- ``blocks`` (the default): whole blocks, each the consecutive volumes of one label in one
  run (samples.tsv's ``volume`` column), swap labels with the blocks of the same length in
  their run. Volumes of a block design are not exchangeable: their noise is autocorrelated
  and the label comes in blocks, so shuffling single volumes gives null maps less variable
  than the real one and p-values that are too small (docs: Explanation, "The statistics").
- ``samples``: each sample swaps labels with any sample of its run: right when samples are
  exchangeable (e.g. one beta per well-separated trial).

``permutations.tsv``: tab-separated, one row per sample in samples.tsv's order, one column per
null map (``perm_1`` .. ``perm_n``, n = P, or M - 1 when fewer are listed), each cell the label
the sample carries in it. It is the one home of a subject's null-map count; its sidecar
``permutations.json`` says how they were chosen (:func:`null_map_facts`).
"""

import collections
import itertools
import logging
import math
import os
from typing import NamedTuple

import numpy as np
import pandas as pd

from snakelight.inference import feasibility
from snakelight.io import InputError, atomic_path, one_line

COLUMN_PREFIX = "perm_"
CONFIG_KEY = "inference"
SCHEMES = ("blocks", "samples")
# The first word of every permutation generator's seed: keeps permutation k of seed s off
# the generator [s, k] of other streams (the generated subject k of seed s uses [s, k]).
_STREAM = int.from_bytes(b"perm", "big")
# Designs with at most this many relabellings (renamings included) have their distinct ones
# listed, in well under a second: 2^16 is 16 runs of two conditions' blocks (32,768 distinct
# null maps, more than any P a searchlight runs). Larger designs draw with replacement.
LISTED_RELABELLINGS = 2**16
# How the report's captions say what moved.
PERMUTED = {
    "blocks": "the labels of whole blocks permuted within runs",
    "samples": "the labels of single samples permuted within runs",
}


class Exchangeability(NamedTuple):
    """What a permutation may move: ``labels`` (n,) and ``runs`` (n,) of the samples, and
    ``units`` (n,) int, the unit each sample moves with (its own index when samples move
    alone). A permutation exchanges the labels of whole units of one run, one set and one
    length. ``sets`` (n,) int, or None for one set: a cross-classification's training and
    test samples (:func:`snakelight.searchlight.cross.cross_sets`) are permuted apart; a
    sample of a negative set never moves nor counts (a fixed split's samples in no fold).
    ``renamable``: whether renaming the labels leaves the scores unchanged (classes: yes;
    a continuous target's values: no, swapping two values changes a regression's fit)."""

    labels: np.ndarray
    runs: np.ndarray
    units: np.ndarray
    sets: np.ndarray = None
    renamable: bool = True


def exchangeability(labels, runs, volumes, permute="blocks", sets=None, renamable=True):
    """The units of ``permute`` (one of SCHEMES) for samples with ``labels``, ``runs`` and
    acquisition ``volumes`` (each (n,), in acquisition order as samples.tsv lists them);
    ``sets`` (n,) int: labels move only among samples of one set (None: one set);
    ``renamable``: :class:`Exchangeability`'s."""
    labels, runs, volumes = np.asarray(labels), np.asarray(runs), np.asarray(volumes)
    sets = None if sets is None else np.asarray(sets)
    if permute == "samples":
        return Exchangeability(labels, runs, np.arange(labels.size), sets, renamable)
    if permute != "blocks":
        raise InputError(f"config key {CONFIG_KEY}.permute: {permute!r} is not one of {', '.join(SCHEMES)}")
    starts = np.ones(labels.size, dtype=bool)
    starts[1:] = (labels[1:] != labels[:-1]) | (runs[1:] != runs[:-1]) | (volumes[1:] != volumes[:-1] + 1)
    if sets is not None:
        starts[1:] |= sets[1:] != sets[:-1]
    return Exchangeability(labels, runs, np.cumsum(starts) - 1, sets, renamable)


def _unit_groups(design):
    """The units that exchange labels, as (units, length) arrays of sample indices: one per
    run, set and unit length, runs in sorted order, then sets, lengths ascending, units in
    table order."""
    sets = np.zeros(design.units.size, dtype=int) if design.sets is None else design.sets
    for run in np.unique(design.runs):
        for one_set in np.unique(sets[design.runs == run]):
            if one_set < 0:
                continue  # in no fold: never moves
            in_group = (design.runs == run) & (sets == one_set)
            units, sizes = np.unique(design.units[in_group], return_counts=True)
            for size in np.unique(sizes):
                members = np.flatnonzero(np.isin(design.units, units[sizes == size]))
                yield members.reshape(-1, size)  # units are contiguous runs of samples


def permuted_labels(design, seed, k):
    """Permutation ``k`` of ``design.labels`` (:class:`Exchangeability`): a new (n,) array.

    Its generator is seeded with (seed, k) alone (and _STREAM), and draws one ``rng.permutation`` per run
    (sorted) and unit length (ascending); changing this order changes every permutation.
    """
    rng = np.random.default_rng([_STREAM, seed, k])
    shuffled = design.labels.copy()
    for members in _unit_groups(design):
        shuffled[members] = design.labels[members[rng.permutation(len(members))]]
    return shuffled


def permutation_block(design, seed, ks):
    """Permutations ``ks`` (each k >= 1) as columns: (n samples, len(ks))."""
    return np.column_stack([permuted_labels(design, seed, k) for k in ks])


def distinct_relabellings(design):
    """How many different label vectors the permutations of ``design`` can give (the real
    labels among them): per run and unit length, the arrangements of its units' labels."""
    count = 1
    for members in _unit_groups(design):
        kinds = collections.Counter(map(tuple, design.labels[members].tolist()))
        count *= math.factorial(len(members)) // math.prod(map(math.factorial, kinds.values()))
    return count


def _renamable(design):
    """The sets of labels a renaming may permute, each sorted: labels whose units have the same
    counts in every run and unit length (none when the design's labels are not renamable)."""
    if not design.renamable:
        return []
    profiles = collections.defaultdict(collections.Counter)
    for group, members in enumerate(_unit_groups(design)):
        for labels in design.labels[members].tolist():
            profiles[labels[0]][group] += 1
    same_profile = collections.defaultdict(list)
    for label, counts in sorted(profiles.items()):
        same_profile[tuple(sorted(counts.items()))].append(label)
    return list(same_profile.values())


def label_renamings(design):
    """How many global renamings of the label names map every relabelling of ``design`` to
    another one (the identity among them): a renaming may swap labels whose units have the
    same counts in every run and unit length. Renamed labels split the samples the same way,
    so every classifier scores them the same: two conditions with one block of each per run
    give 2 renamings, and 2^R relabellings only 2^(R - 1) distinct null maps."""
    return math.prod(math.factorial(len(labels)) for labels in _renamable(design))


def distinct_null_maps(design):
    """Distinct null maps (the real map among them) that relabelling ``design`` can give:
    :func:`distinct_relabellings` over :func:`label_renamings`."""
    return feasibility.distinct_null_maps(distinct_relabellings(design), label_renamings(design))


def _arrangements(codes):
    """Every distinct arrangement of the multiset ``codes`` (k,) int: (count, k) int, the
    positions of each value chosen in turn among those left (lexicographic combinations)."""
    rows = [np.full(len(codes), -1)]
    for value, count in zip(*np.unique(codes, return_counts=True)):
        placed = []
        for row in rows:
            for chosen in itertools.combinations(np.flatnonzero(row < 0), count):
                placed.append(row.copy())
                placed[-1][list(chosen)] = value
        rows = placed
    return np.array(rows)


def _canonical(relabellings, renamable):
    """Which rows of ``relabellings`` (T, U) label codes are their class's representative: in
    each set of renamable codes (``renamable``, lists of sorted codes) the codes first occur
    in increasing order. A renaming permutes the codes of each set and keeps where each label
    first occurs, so exactly one relabelling of each class does: (T,) bool."""
    keep = np.ones(len(relabellings), dtype=bool)
    for codes in renamable:
        first = np.stack([np.argmax(relabellings == code, axis=1) for code in codes], axis=1)
        keep &= np.all(np.diff(first, axis=1) > 0, axis=1)
    return keep


def _rename_to_canonical(unit_codes, renamable):
    """The representative of ``unit_codes`` (U,)'s class (:func:`_canonical`)."""
    renamed = unit_codes.copy()
    for codes in renamable:
        by_first = sorted(codes, key=lambda code: np.argmax(unit_codes == code))
        for old, new in zip(by_first, codes):
            renamed[unit_codes == old] = new
    return renamed


def listed_null_relabellings(design, seed):
    """The distinct relabellings of ``design`` other than the real one, one per class of
    renamings, in the random order of ``seed``: (M - 1, U) codes into ``np.unique(labels)``
    of each unit, or None when the design has more than LISTED_RELABELLINGS relabellings."""
    if distinct_relabellings(design) > LISTED_RELABELLINGS:
        return None
    names, codes = np.unique(design.labels, return_inverse=True)
    unit_codes = np.zeros(design.units.max() + 1, dtype=np.int64)
    unit_codes[design.units] = codes
    # Relabelling t takes arrangement (t // stride) % count of each group (mixed radix); a
    # unit in no group keeps its code.
    relabellings = np.tile(unit_codes.astype(np.int16), (distinct_relabellings(design), 1))
    stride, moving = 1, []
    for members in _unit_groups(design):
        units = design.units[members[:, 0]]
        arrangements = _arrangements(unit_codes[units])
        picks = np.arange(len(relabellings)) // stride % len(arrangements)
        relabellings[:, units] = arrangements[picks]
        stride *= len(arrangements)
        moving += units.tolist()
    # Renaming classes of the units that move: the others are in no fold.
    moving = np.sort(moving)
    renamable = [np.searchsorted(names, labels).tolist() for labels in _renamable(design) if len(labels) > 1]
    classes = relabellings[_canonical(relabellings[:, moving], renamable)]
    real = _rename_to_canonical(unit_codes[moving], renamable)
    classes = classes[np.any(classes[:, moving] != real, axis=1)]
    # k = 0 is no permutation's generator: the order's own stream.
    return classes[np.random.default_rng([_STREAM, seed, 0]).permutation(len(classes))]


def null_permutations(design, seed, ks):
    """The workflow's permutations ``ks`` (each k >= 1) of ``design`` as columns: (n, len(ks))
    labels, or fewer columns when ks run past the M - 1 listed ones (module docstring):
    listed designs give the k-th of :func:`listed_null_relabellings`, others
    :func:`permuted_labels`."""
    listed = listed_null_relabellings(design, seed)
    if listed is None:
        return permutation_block(design, seed, ks)
    names = np.unique(design.labels)
    ks = [k for k in ks if k <= len(listed)]
    return names[listed[np.asarray(ks, dtype=np.intp) - 1][:, design.units]].T


class NullMaps(NamedTuple):
    """How a subject's ``count`` null maps relabel its samples: ``distinct`` null maps (the
    real one among them) the design allows, ``listed`` when its distinct ones were listed
    (drawn without replacement, or all of them), ``enumerated`` when the maps are every
    distinct one but the real one: an exact test, p >= 1 / distinct."""

    count: int
    distinct: int
    listed: bool
    enumerated: bool


def null_maps(design, n_permutations):
    """:class:`NullMaps` of ``design`` when ``n_permutations`` are asked for: min(P, M - 1)
    maps when the design's distinct relabellings are listed, else P."""
    distinct = distinct_null_maps(design)
    listed = distinct_relabellings(design) <= LISTED_RELABELLINGS
    count = min(n_permutations, distinct - 1) if listed else n_permutations
    return NullMaps(count, distinct, listed, listed and count == distinct - 1)


def describe_null_maps(facts):
    """A phrase for captions and logs from :func:`null_map_facts`' dict: how many null maps,
    and which relabellings made them."""
    count, distinct = facts["null_maps"], facts["distinct_null_maps"]
    if facts["enumerated"]:
        return (
            f"{count:,} null maps, one per distinct relabelling but the real one "
            f"(enumerated: exact, p >= 1/{distinct:,})"
        )
    how = "without replacement" if facts["listed"] else "with replacement"
    return (
        f"{count:,} null maps, relabellings drawn at random {how} from the {distinct - 1:,} "
        "distinct ones but the real one"
    )


def null_map_facts(design, n_permutations):
    """What ``permutations.json`` records of the null maps: a dict for sidecars."""
    found = null_maps(design, n_permutations)
    facts = {
        "null_maps": found.count,
        "distinct_null_maps": found.distinct,
        "listed": found.listed,
        "enumerated": found.enumerated,
        "smallest_p": 1 / (found.count + 1),
    }
    return {**facts, "description": describe_null_maps(facts)}


BLOCK_VOLUMES = 4  # a run of at least this many consecutive volumes of one label is a block


def is_block_design(labels, runs, volumes):
    """Whether the samples are consecutive volumes of label blocks: more than half of them lie
    in runs of at least BLOCK_VOLUMES consecutive volumes of one label. Single trials in a
    random order rarely are (two conditions: about 31% of the samples), a block design's
    volumes nearly all (Haxby's blocks: 9 volumes)."""
    units = exchangeability(labels, runs, volumes).units
    lengths = np.bincount(units)
    return bool(np.count_nonzero(lengths[units] >= BLOCK_VOLUMES) * 2 > units.size)


def check_relabellings(design, alpha, source):
    """None, or InputError when ``design`` allows too few distinct null maps for any p-value
    to reach ``alpha`` (:func:`snakelight.inference.feasibility.check_relabellings`)."""
    count = distinct_null_maps(design)
    # The samples that move: a fixed split's samples in no fold (set -1) do not.
    free = np.ones(design.units.size, dtype=bool) if design.sets is None else design.sets >= 0
    n_units = np.unique(design.units[free]).size
    moving = "samples" if n_units == np.count_nonzero(free) else "blocks"
    logging.getLogger(__name__).info(
        "%s: %d %s, %d distinct relabellings within runs modulo %d renamings of the labels",
        source,
        n_units,
        moving,
        count,
        label_renamings(design),
    )
    what = f"the {n_units} {moving} of {source} ({np.unique(design.runs[free]).size} runs)"
    feasibility.check_relabellings(count, alpha, what)


def permutation_blocks(n_permutations, per_job):
    """The blocks of permutations the null-map jobs score: (first, last) pairs, 1-based and
    inclusive, block b covering b * per_job + 1 .. min((b + 1) * per_job, n_permutations).

    A block's permutations depend on (first, last) alone, so more permutations keep every
    full block of fewer and add new ones.
    """
    return [(first, min(first + per_job - 1, n_permutations)) for first in range(1, n_permutations + 1, per_job)]


def column_names(n_permutations, first=1):
    return [f"{COLUMN_PREFIX}{k}" for k in range(first, first + n_permutations)]


def write_permutations(path, design, seed, n_permutations, first=1):
    """``permutations.tsv`` of ``design`` (:class:`Exchangeability`) with permutations
    first..first + n_permutations - 1 (:func:`null_permutations`: fewer past the listed ones;
    a null-map job's block file starts at its block's first permutation). A block past them
    all is an empty file. Returns the number of columns written."""
    block = null_permutations(design, seed, range(first, first + n_permutations))
    with atomic_path(path) as tmp:
        if block.shape[1]:
            pd.DataFrame(block, columns=column_names(block.shape[1], first)).to_csv(tmp, sep="\t", index=False)
        else:
            tmp.write_text("")
    return block.shape[1]


def read_permutations(path, labels, runs, first=1):
    """The labels of ``permutations.tsv`` (or of a block file whose columns start at permutation
    ``first``), (n samples, P) str, column j = permutation first + j; checked to be
    permutations of ``labels`` (n,) within ``runs`` (n,), else InputError. An empty block file
    (past the listed relabellings) holds none: (n, 0)."""
    if first > 1 and os.path.getsize(path) == 0:
        return np.empty((len(labels), 0), dtype=str)
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:  # pandas' parser errors are ValueErrors
        raise InputError(f"{path}: unreadable permutations file ({one_line(error)})") from None
    labels, runs = np.asarray(labels).astype(str), np.asarray(runs)
    if table.shape[1] == 0 or list(table.columns) != column_names(table.shape[1], first):
        found = ", ".join(map(repr, table.columns[:4])) or "none"
        raise InputError(
            f"{path}: columns {found}{'...' * (table.shape[1] > 4)}; a permutations file has "
            f"columns {COLUMN_PREFIX}{first} .. {COLUMN_PREFIX}P, in order"
        )
    if len(table) != labels.size:
        raise InputError(f"{path}: {len(table)} rows, but there are {labels.size} samples (one row per sample)")
    permutations = table.to_numpy()
    for run in np.unique(runs):
        in_run = runs == run
        expected = np.sort(labels[in_run])
        wrong = np.flatnonzero(np.any(np.sort(permutations[in_run], axis=0) != expected[:, None], axis=0))
        if wrong.size:
            column = table.columns[wrong[0]]
            raise InputError(
                f"{path} column {column}, run {run}: labels {_counts(table[column][in_run])} are not a "
                f"permutation of the run's labels {_counts(labels[in_run])}"
            )
    return permutations


def permutation_count(path):
    """How many null maps ``permutations.tsv`` (or a block file) holds: its ``perm_k``
    columns (the randomization test's files also name each row's condition), 0 for an empty
    block file."""
    with open(path) as f:
        header = f.readline().rstrip("\n")
    return sum(name.startswith(COLUMN_PREFIX) for name in header.split("\t")) if header else 0


def _counts(labels):
    return dict(sorted(collections.Counter(map(str, labels)).items()))


def check_settings(n_permutations, permutations_per_job, alpha, cluster_threshold):
    """:func:`snakelight.inference.feasibility.check_subject_settings`."""
    feasibility.check_subject_settings(n_permutations, permutations_per_job, alpha, cluster_threshold)
