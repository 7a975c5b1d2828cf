"""The RSA measure's workflow jobs (searchlight.measure: rsa): a chunk's model-fit outputs,
the randomization test's condition relabellings, and a chunk's null fits under a block of
them. The chunk's spheres and samples are the classification chunk's
(:func:`snakelight.searchlight.job.load_chunk`); the outputs go through the same chunk
files, merge, null maps and inference.
"""

import logging

import numpy as np
import pandas as pd

from snakelight.data.glm import read_residuals
from snakelight.inference.feasibility import condition_orders
from snakelight.inference.permutations import COLUMN_PREFIX, column_names, describe_null_maps
from snakelight.io import InputError, atomic_path, write_chunk, write_null_chunk
from snakelight.rsa import models
from snakelight.rsa.measure import RSASettings, data_rdms, model_vectors, rsa_measure
from snakelight.searchlight.job import load_chunk

log = logging.getLogger(__name__)


def settings(rsa):
    """The :class:`RSASettings` of the config key ``rsa``."""
    return RSASettings(method=rsa["distance"], noise=rsa["noise"], fit=rsa["evaluation"], keep_rdms=rsa["rdms"])


def _loaded(inputs, chunk, n_chunks, radius, cv):
    problem = load_chunk(inputs, chunk=chunk, n_chunks=n_chunks, radius=radius, cv=cv)
    return problem, problem.table["label"].to_numpy(), problem.table["run"].to_numpy()


def noise_residuals(path, rsa, columns=None):
    """The GLM residuals at ``path`` (the manifest's ``residuals``: snakelight.data.glm.
    Residuals) in mask columns ``columns`` (default all), when ``rsa.noise`` normalises
    by them; else None (the samples' own residuals, or no normalisation)."""
    if path is None or rsa["noise"] == "none":
        return None
    found = read_residuals(path)
    return found if columns is None else found._replace(residuals=found.residuals[:, columns])


def run_rsa_chunk(inputs, *, chunk, n_chunks, radius, cv, rsa, output):
    """Write chunk ``chunk``'s outputs (``chunks/<i>.npz``): each model's fit (spheres, 1)
    and with ``rsa.rdms`` the RDMs (spheres, pairs)."""
    problem, labels, runs = _loaded(inputs, chunk, n_chunks, radius, cv)
    rsa_settings = settings(rsa)
    log.info(
        "rsa: %s RDMs, noise %s, %s fits of %s", rsa["distance"], rsa["noise"], rsa["evaluation"], list(rsa["models"])
    )
    if problem.spheres:
        residuals = noise_residuals(inputs.residuals, rsa, problem.columns)
        found = rsa_measure(problem.X, labels, runs, problem.spheres, rsa["models"], rsa_settings, residuals)
    else:  # an empty chunk (more chunks than seeds)
        n_pairs = len(np.unique(labels)) * (len(np.unique(labels)) - 1) // 2
        found = {name: np.empty(0) for name in rsa["models"]} | (
            {"rdms": np.empty((0, n_pairs))} if rsa["rdms"] else {}
        )
    # A fit is one value per sphere: one "fold" in the merge's terms.
    outputs = {name: values if name == "rdms" else values[:, None] for name, values in found.items()}
    write_chunk(output, problem.positions, outputs)
    return outputs


def write_relabellings(path, conditions, seed, n_permutations, first=1, exhaustive=False):
    """The randomization test's relabellings first .. first + n_permutations - 1 of the
    distinct ``conditions`` (e.g. the samples' labels) as a TSV: one row per condition
    (sorted), column ``perm_k`` the condition whose model-RDM row and column it takes under
    permutation k, drawn from (seed, k) alone; ``exhaustive``: permutation k is the k-th
    of the C! - 1 orders other than the identity, in itertools.permutations' order."""
    conditions = np.unique(np.asarray(conditions).astype(str))
    last, orders = first + n_permutations - 1, condition_orders(len(conditions))
    if orders <= last:
        raise InputError(f"{len(conditions)} conditions have {orders} orders; ask for fewer than {orders} relabellings")
    # snakelight.rsa.models' relabellings: all C! (the identity first, so permutation k is
    # row k) or random ones (permutation k is row k - 1).
    if exhaustive:
        block = models.condition_permutations(len(conditions), orders, seed, block=(first, last + 1))
    else:
        block = models.condition_permutations(len(conditions), last, seed, block=(first - 1, last))
    table = pd.DataFrame(conditions[block].T, columns=column_names(n_permutations, first))
    with atomic_path(path) as tmp:
        table.insert(0, "condition", conditions)
        table.to_csv(tmp, sep="\t", index=False)


def relabelling_facts(conditions, n_permutations, exhaustive):
    """What ``permutations.json`` records of the randomization test's null maps, as
    :func:`snakelight.inference.permutations.null_map_facts` does for relabelled samples:
    the C! orders of the distinct ``conditions``, all but the identity when ``exhaustive``."""
    orders = condition_orders(np.unique(np.asarray(conditions).astype(str)).size)
    facts = {
        "null_maps": n_permutations,
        "distinct_null_maps": orders,
        "listed": bool(exhaustive),
        "enumerated": bool(exhaustive),
        "smallest_p": 1 / (n_permutations + 1),
    }
    return {**facts, "description": describe_null_maps(facts)}


def read_relabellings(path, conditions, first=1):
    """(P, C) relabellings of the sorted ``conditions`` from :func:`write_relabellings`'s
    file, checked, else InputError."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    conditions = np.unique(np.asarray(conditions).astype(str))
    columns = [c for c in table.columns if c.startswith(COLUMN_PREFIX)]
    if list(table.get("condition", [])) != list(conditions) or columns != column_names(len(columns), first):
        raise InputError(
            f"{path}: not the condition relabellings of {', '.join(conditions)} from {COLUMN_PREFIX}{first}; "
            "delete it to have it written again"
        )
    index = {c: i for i, c in enumerate(conditions)}
    return np.array([[index[c] for c in table[column]] for column in columns], dtype=np.intp)


def run_rsa_null_chunk(inputs, relabellings_tsv, *, chunk, n_chunks, first, last, radius, cv, rsa, model, output):
    """Write chunk ``chunk``'s null fits of ``model`` under relabellings ``first`` .. ``last``
    (``null_chunks/<i>/<first>-<last>.npz``, (P, spheres)): the data RDMs once, then the
    model with its conditions relabelled, the same relabelling at every sphere."""
    problem, labels, runs = _loaded(inputs, chunk, n_chunks, radius, cv)
    permutations = read_relabellings(relabellings_tsv, np.unique(labels.astype(str)), first)
    if len(permutations) != last - first + 1:
        raise InputError(f"{relabellings_tsv}: {len(permutations)} relabellings, this job scores {first}..{last}")
    rsa_settings = settings(rsa)
    if problem.spheres:
        residuals = noise_residuals(inputs.residuals, rsa, problem.columns)
        conditions, rdms = data_rdms(problem.X, labels, runs, problem.spheres, rsa_settings, residuals)
        names, vectors = model_vectors(rsa["models"], conditions)
        null = models.null_fits(rdms, vectors, rsa_settings.fit, permutations, names.index(model))
    else:
        null = np.empty((len(permutations), 0))
    write_null_chunk(output, problem.positions, np.arange(first, last + 1), null)
    return null
