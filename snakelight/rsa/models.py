"""Model RDMs and their fit to many data RDMs at once.

Model RDMs come from a TSV file (a square matrix whose header and first column name the
conditions) or from a categorical grouping (conditions of one group are 0 apart, of
different groups 1). Fits, for data RDMs (n_spheres, n_pairs):

- ``spearman``, ``tau-a``, ``corr``: rsatoolbox 0.3.2's ``compare(model, data, method)``
  (Spearman rho with average ranks for ties; Kendall tau-a, ties counting neither way;
  Pearson r), one value per sphere and model;
- ``ols``: least-squares weights of all models together plus an intercept
  (numpy's ``lstsq`` on each sphere); ``nnls``: non-negative least-squares weights of all
  models, no intercept (scipy's ``nnls`` on each sphere), one map per model.
"""

import itertools

import numpy as np
import pandas as pd
from numba import njit
from scipy import stats

from snakelight.inference.feasibility import condition_orders
from snakelight.rsa.distances import pairs, square

COMPARISONS = ("spearman", "tau-a", "corr")
REGRESSIONS = ("ols", "nnls")
FITS = COMPARISONS + REGRESSIONS


def model_from_matrix(matrix, model_conditions, conditions, name="model"):
    """The (n_pairs,) vector of the square ``matrix`` whose rows and columns are
    ``model_conditions``, reordered to ``conditions`` (the data's sorted conditions)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    model_conditions = [str(c) for c in model_conditions]
    conditions = [str(c) for c in conditions]
    if matrix.shape != (len(model_conditions),) * 2:
        raise ValueError(f"model RDM {name!r} must be square with one row per condition, got {matrix.shape}")
    if not np.allclose(matrix, matrix.T, equal_nan=True):
        raise ValueError(f"model RDM {name!r} must be symmetric")
    missing = sorted(set(conditions) - set(model_conditions))
    if missing:
        raise ValueError(f"model RDM {name!r} lacks conditions {missing}; it names {model_conditions}")
    order = [model_conditions.index(c) for c in conditions]
    rows, cols = pairs(len(conditions))
    return matrix[np.ix_(order, order)][rows, cols]


def model_from_tsv(path, conditions, name=None):
    """The model RDM in TSV file ``path`` (header and first column: condition names) as an
    (n_pairs,) vector over ``conditions``."""
    table = pd.read_csv(path, sep="\t", index_col=0)
    name = name or str(path)
    if [str(c) for c in table.index] != [str(c) for c in table.columns]:
        raise ValueError(f"model RDM {name}: the first column must name the same conditions as the header, in order")
    return model_from_matrix(table.to_numpy(), table.columns, conditions, name)


def model_from_groups(groups, conditions, name="model"):
    """The model RDM of a categorical grouping ``groups`` (group name -> conditions), over
    ``conditions``: 0 within a group, 1 between groups. Every condition in one group."""
    conditions = [str(c) for c in conditions]
    group_of = {}
    for group, members in groups.items():
        for member in members:
            if str(member) in group_of:
                raise ValueError(f"model {name!r}: condition {member!r} is in two groups")
            group_of[str(member)] = group
    unknown = sorted(set(group_of) - set(conditions))
    missing = sorted(set(conditions) - set(group_of))
    if unknown or missing:
        raise ValueError(
            f"model {name!r}: groups must cover the conditions {conditions} exactly"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )
    labels = np.array([group_of[c] for c in conditions])
    rows, cols = pairs(len(conditions))
    return (labels[rows] != labels[cols]).astype(np.float64)


def _standardised(vectors):
    """Rows centred and scaled to unit norm (rows of zero norm stay zero: rsatoolbox's
    ``_cosine`` gives them similarity 0)."""
    centred = vectors - vectors.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.einsum("...p,...p->...", centred, centred))[..., None]
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def _ranks(vectors):
    return stats.rankdata(vectors, axis=-1)


@njit(cache=True)
def _tau_a(data, model_signs):
    """Kendall tau-a of each data row (S, P) with a model given as the signs (K, P * (P - 1) / 2)
    of its differences over pairs of pairs (a < b, row-major); returns (S, K)."""
    n_spheres, n_pairs = data.shape
    n_models = model_signs.shape[0]
    out = np.zeros((n_spheres, n_models))
    signs = np.empty(model_signs.shape[1])
    for s in range(n_spheres):
        q = 0
        for a in range(n_pairs):
            for b in range(a + 1, n_pairs):
                signs[q] = np.sign(data[s, a] - data[s, b])
                q += 1
        for k in range(n_models):
            out[s, k] = np.dot(signs, model_signs[k]) / len(signs)
    return out


def _difference_signs(models):
    """(K, P * (P - 1) / 2) signs of model[a] - model[b] over pairs of pairs a < b."""
    a, b = np.triu_indices(models.shape[-1], 1)
    return np.sign(models[:, a] - models[:, b])


def compare(data, models, method):
    """(n_spheres, n_models) similarity of each data RDM (n_spheres, n_pairs) with each
    model (n_models, n_pairs): rsatoolbox's ``compare(model, data, method)``."""
    data, models = np.atleast_2d(data), np.atleast_2d(models)
    if method == "corr":
        return _standardised(data) @ _standardised(models).T
    if method == "spearman":
        return _standardised(_ranks(data)) @ _standardised(_ranks(models)).T
    if method == "tau-a":
        return _tau_a(np.ascontiguousarray(data), np.ascontiguousarray(_difference_signs(models)))
    raise ValueError(f"rsa comparison must be one of {', '.join(COMPARISONS)}, got {method!r}")


def regress(data, models, method):
    """(n_spheres, n_models) regression weights of the models (n_models, n_pairs) fitted to
    each data RDM together: ``ols`` with an intercept, or ``nnls`` (non-negative, no
    intercept, the exact solution found among the least-squares fits of every subset of
    models, so limited to 12 models)."""
    data, models = np.atleast_2d(data), np.atleast_2d(models)
    if method == "ols":
        design = np.column_stack([np.ones(models.shape[1]), models.T])
        return (data @ np.linalg.pinv(design).T)[:, 1:]
    if method != "nnls":
        raise ValueError(f"rsa regression must be one of {', '.join(REGRESSIONS)}, got {method!r}")
    n_models = len(models)
    if n_models > 12:
        raise ValueError(f"nnls fits at most 12 models together, got {n_models}")
    # The NNLS solution is the least-squares fit on its support; every subset's fit with
    # non-negative weights is feasible, so the best feasible subset fit is the solution.
    best = np.zeros((len(data), n_models))
    best_loss = np.einsum("sp,sp->s", data, data)
    for size in range(1, n_models + 1):
        for subset in itertools.combinations(range(n_models), size):
            weights = data @ np.linalg.pinv(models[list(subset)].T).T
            residual = data - weights @ models[list(subset)]
            loss = np.einsum("sp,sp->s", residual, residual)
            better = np.all(weights >= 0, axis=1) & (loss < best_loss)
            best[np.ix_(better, subset)] = weights[better]
            best[np.ix_(better, [k for k in range(n_models) if k not in subset])] = 0.0
            best_loss[better] = loss[better]
    return best


def fit(data, models, method):
    """(n_spheres, n_models): :func:`compare` or :func:`regress` by ``method`` (one of FITS)."""
    if method in REGRESSIONS:
        return regress(data, models, method)
    if method in COMPARISONS:
        return compare(data, models, method)
    raise ValueError(f"rsa fit must be one of {', '.join(FITS)}, got {method!r}")


def condition_permutations(n_conditions, n_permutations, seed=0, block=None):
    """(P, C) relabellings of the conditions: all C! (the identity first) when there are at
    most ``n_permutations`` of them, else ``n_permutations`` random ones, permutation k
    drawn from the generator [seed, k] alone (asking for more keeps the first ones).
    ``block`` (first, stop) keeps rows first..stop-1 only: a null-map job's share."""
    orders = condition_orders(n_conditions)
    first, stop = block or (0, min(n_permutations, orders))
    if orders <= n_permutations:
        rows = itertools.islice(itertools.permutations(range(n_conditions)), first, stop)
        return np.array(list(rows), dtype=np.intp).reshape(-1, n_conditions)
    rows = [np.random.default_rng([seed, k]).permutation(n_conditions) for k in range(first + 1, stop + 1)]
    return np.array(rows, dtype=np.intp).reshape(-1, n_conditions)


def permuted_models(model, permutations):
    """(P, n_pairs): the model RDM (n_pairs,) with its conditions relabelled by each
    permutation (P, C): condition i takes the place of condition permutation[i]."""
    matrix = square(model)
    rows, cols = pairs(matrix.shape[0])
    return np.stack([matrix[np.ix_(perm, perm)][rows, cols] for perm in permutations])


def null_fits(data, models, method, permutations, model_index=0):
    """(P, n_spheres) fits of model ``model_index`` with its conditions relabelled by each
    permutation (P, C), the data RDMs (n_spheres, n_pairs) computed once. For regressions
    the other models stay as they are."""
    data, models = np.atleast_2d(data), np.atleast_2d(models)
    relabelled = permuted_models(models[model_index], permutations)
    if method in COMPARISONS:
        return compare(data, relabelled, method).T
    out = np.empty((len(relabelled), len(data)))
    for k, permuted in enumerate(relabelled):
        candidates = models.copy()
        candidates[model_index] = permuted
        out[k] = regress(data, candidates, method)[:, model_index]
    return out
