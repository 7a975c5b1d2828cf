"""The engines that score spheres, and what each can run: ``exact`` (nilearn's scores, bit
for bit; :mod:`.exact`) and ``fast`` (batched; :mod:`.fast`).

This module imports nothing but the names of outputs: the config is checked against it
while Snakemake parses.
"""

from snakelight.searchlight.outputs import PREDICTION_SCORERS, output_name

# nilearn's SearchLight estimator names, which the exact engine runs as nilearn does.
NILEARN_ESTIMATORS = (
    "svc",
    "svc_l2",
    "svc_l1",
    "logistic",
    "logistic_l2",
    "logistic_l1",
    "ridge_classifier",
    "dummy_classifier",
)
# The estimators of the fast engine.
FAST_ESTIMATORS = ("svc", "svc_l2", "gnb", "lda")


def resolve_engine(engine, estimator):
    """``auto``: fast for the closed-form estimators (names the fast engine has and
    nilearn has not), exact for anything else: nilearn's names, estimator objects."""
    if engine == "auto":
        closed_form = isinstance(estimator, str) and estimator in set(FAST_ESTIMATORS) - set(NILEARN_ESTIMATORS)
        return "fast" if closed_form else "exact"
    return engine


# The fast engine's estimators that fit two classes only.
FAST_BINARY_ESTIMATORS = ("svc", "svc_l2")


def fast_unsupported(estimator, scoring, n_classes=2):
    """What the fast engine cannot run for a contrast of ``n_classes`` conditions: (the
    searchlight config key, why), or None."""
    if estimator not in FAST_ESTIMATORS:
        return "estimator", f"engine 'fast' has no estimator {estimator!r}; it has {', '.join(FAST_ESTIMATORS)}"
    if output_name(scoring) not in PREDICTION_SCORERS:
        return "scoring", f"engine 'fast' scores {' and '.join(PREDICTION_SCORERS)} only, not {scoring!r}"
    if estimator in FAST_BINARY_ESTIMATORS and n_classes > 2:
        return "estimator", f"engine 'fast' fits {estimator!r} on two classes only, not {n_classes}"
    return None
