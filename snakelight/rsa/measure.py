"""RSA as a searchlight measure with named outputs: one map per model, optionally the RDMs,
and the subject-level randomization test's null maps.

The null relabels the conditions of one model RDM (the same relabelling at every sphere):
the data RDMs do not change under it, so they are computed once and each permutation costs
one fit of every sphere.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from snakelight.rsa import distances, models, patterns


class RSASettings(NamedTuple):
    """``method``: correlation, euclidean or crossnobis; ``noise`` (crossnobis only): none,
    univariate, shrinkage_diag or shrinkage_eye; ``dof``: the residuals' degrees of freedom
    for noise normalisation (None: samples minus condition-run means); ``fit``: spearman,
    tau-a, corr, ols or nnls; ``keep_rdms``: also return the RDMs (n_spheres, n_pairs)."""

    method: str = "correlation"
    noise: str = "none"
    dof: int | None = None
    fit: str = "spearman"
    keep_rdms: bool = False


DEFAULT = RSASettings()


class NullFits(NamedTuple):
    """``permutations`` (P, C) the condition relabellings; ``fits`` (P, n_spheres)."""

    permutations: np.ndarray
    fits: np.ndarray


def model_vectors(model_specs, conditions):
    """(n_models, n_pairs) model RDMs over ``conditions`` from ``model_specs`` (name ->
    a TSV path, a grouping dict, or an (n_pairs,) vector already in the sorted conditions'
    pair order); returns (names, vectors)."""
    names, vectors = [], []
    n_pairs = len(conditions) * (len(conditions) - 1) // 2
    for name, spec in model_specs.items():
        if isinstance(spec, (str, Path)):
            vector = models.model_from_tsv(spec, conditions, name)
        elif isinstance(spec, dict):
            vector = models.model_from_groups(spec, conditions, name)
        else:
            vector = np.asarray(spec, dtype=np.float64)
            if vector.shape != (n_pairs,):
                raise ValueError(f"model {name!r} must have {n_pairs} dissimilarities, got shape {vector.shape}")
        names.append(str(name))
        vectors.append(vector)
    if not names:
        raise ValueError("rsa needs at least one model RDM")
    return names, np.stack(vectors)


def data_rdms(X, labels, runs, spheres, settings=DEFAULT, residuals=None):
    """(conditions (C,), RDMs (n_spheres, n_pairs)) of samples X (N, V) per sphere.
    ``residuals``: the noise that crossnobis normalises by, a GLM's
    (snakelight.data.glm.Residuals: ``residuals`` (T, V), ``dof``), instead of the
    samples' own (each sample minus its condition-run mean)."""
    found = patterns.condition_patterns(X, labels, runs)
    if residuals is not None:
        found = found._replace(residuals=np.asarray(residuals.residuals, dtype=np.float64), dof=residuals.dof)
    return found.conditions, distances.rdms(found, spheres, settings.method, settings.noise, settings.dof)


def rsa_measure(X, labels, runs, spheres, model_specs, settings=DEFAULT, residuals=None):
    """Named outputs: model name -> (n_spheres,) fit, and "rdms" -> (n_spheres, n_pairs)
    when ``settings.keep_rdms``; ``residuals`` as :func:`data_rdms`'s."""
    conditions, rdms = data_rdms(X, labels, runs, spheres, settings, residuals)
    names, vectors = model_vectors(model_specs, conditions)
    fits = models.fit(rdms, vectors, settings.fit)
    outputs = {name: fits[:, k] for k, name in enumerate(names)}
    if settings.keep_rdms:
        outputs["rdms"] = rdms
    return outputs


def rsa_null(
    X, labels, runs, spheres, model_specs, model, n_permutations, seed=0, settings=DEFAULT, block=None, residuals=None
):
    """The randomization test's null of model ``model``: its fits with the conditions
    relabelled (all C! relabellings when there are at most ``n_permutations``; ``block``
    (first, stop): only those permutations, a null-map job's share); ``residuals`` as
    :func:`data_rdms`'s."""
    conditions, rdms = data_rdms(X, labels, runs, spheres, settings, residuals)
    names, vectors = model_vectors(model_specs, conditions)
    if model not in names:
        raise ValueError(f"rsa null: model {model!r} is not one of {names}")
    permutations = models.condition_permutations(len(conditions), n_permutations, seed, block)
    fits = models.null_fits(rdms, vectors, settings.fit, permutations, names.index(model))
    return NullFits(permutations, fits)
