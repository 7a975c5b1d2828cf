"""scikit-learn's scorer names, for the config check while Snakemake parses (importing
scikit-learn there would cost every job's start): ``tests/test_new_user.py`` asserts that
:data:`SCORERS` equals ``sklearn.metrics.get_scorer_names()`` of the pinned release.

This module imports nothing.
"""

SCORERS = (
    "accuracy",
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "average_precision",
    "balanced_accuracy",
    "completeness_score",
    "d2_absolute_error_score",
    "d2_brier_score",
    "d2_log_loss_score",
    "explained_variance",
    "f1",
    "f1_macro",
    "f1_micro",
    "f1_samples",
    "f1_weighted",
    "fowlkes_mallows_score",
    "homogeneity_score",
    "jaccard",
    "jaccard_macro",
    "jaccard_micro",
    "jaccard_samples",
    "jaccard_weighted",
    "matthews_corrcoef",
    "mutual_info_score",
    "neg_brier_score",
    "neg_log_loss",
    "neg_max_error",
    "neg_mean_absolute_error",
    "neg_mean_absolute_percentage_error",
    "neg_mean_gamma_deviance",
    "neg_mean_poisson_deviance",
    "neg_mean_squared_error",
    "neg_mean_squared_log_error",
    "neg_median_absolute_error",
    "neg_negative_likelihood_ratio",
    "neg_root_mean_squared_error",
    "neg_root_mean_squared_log_error",
    "normalized_mutual_info_score",
    "positive_likelihood_ratio",
    "precision",
    "precision_macro",
    "precision_micro",
    "precision_samples",
    "precision_weighted",
    "r2",
    "rand_score",
    "recall",
    "recall_macro",
    "recall_micro",
    "recall_samples",
    "recall_weighted",
    "roc_auc",
    "roc_auc_ovo",
    "roc_auc_ovo_weighted",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
    "top_k_accuracy",
    "v_measure_score",
)
# What each scorer needs that a searchlight's labels (condition names) or estimator may
# lack; scikit-learn fails every fold then, and cross_val_score turns each failure into a
# NaN score. tests/test_new_user.py checks each entry against scikit-learn, for every
# estimator on two and three classes.
REGRESSION_SCORERS = tuple(
    name
    for name in SCORERS
    if name.startswith(("neg_mean", "neg_median", "neg_max", "neg_root", "d2_absolute"))
    or name in ("r2", "explained_variance")
)
POSITIVE_LABEL_SCORERS = ("f1", "jaccard", "precision", "recall")
# These average over classes beyond two, but on two they too need a class labelled 1.
TWO_CLASS_POSITIVE_LABEL_SCORERS = ("average_precision", "d2_brier_score", "neg_brier_score")
MULTILABEL_SCORERS = tuple(name for name in SCORERS if name.endswith("_samples"))
TWO_CLASS_SCORERS = ("neg_negative_likelihood_ratio", "positive_likelihood_ratio", "roc_auc")
PROBABILITY_SCORERS = (
    "d2_brier_score",
    "d2_log_loss_score",
    "neg_brier_score",
    "neg_log_loss",
    *(name for name in SCORERS if name.startswith("roc_auc_ov")),
)
# snakelight's estimator names (snakelight.searchlight.scoring.make_estimator) without
# predict_proba, and those that fit two classes only (liblinear's logistic regression).
WITHOUT_PROBABILITIES = ("svc", "svc_l2", "svc_l1", "ridge_classifier")
TWO_CLASS_ESTIMATORS = ("logistic", "logistic_l1", "logistic_l2")


def scoring_problem(scoring, n_classes, estimator):
    """Why ``estimator`` scored by ``scoring`` (None: its own score) cannot decode a contrast of
    ``n_classes`` conditions, as (config key, why), or None."""
    if estimator in TWO_CLASS_ESTIMATORS and n_classes > 2:
        return "estimator", f"{estimator!r} (liblinear's logistic regression) fits two classes, not {n_classes}"
    if scoring is None:
        return None
    if scoring not in SCORERS:
        close = [name for name in SCORERS if name.startswith(scoring[:3])] or ["accuracy", "balanced_accuracy"]
        return "scoring", (
            f"{scoring!r} is not a scikit-learn scorer (e.g. {', '.join(close[:6])}; "
            "all: sklearn.metrics.get_scorer_names())"
        )
    if scoring in REGRESSION_SCORERS:
        return "scoring", f"{scoring!r} scores a regression; a searchlight classifies conditions"
    if scoring in POSITIVE_LABEL_SCORERS or (scoring in TWO_CLASS_POSITIVE_LABEL_SCORERS and n_classes == 2):
        return "scoring", f"{scoring!r} needs a class labelled 1; conditions are names: use e.g. {_instead(scoring)}"
    if scoring in MULTILABEL_SCORERS:
        return "scoring", f"{scoring!r} scores multilabel targets; a volume has one condition"
    if scoring in TWO_CLASS_SCORERS and n_classes > 2:
        return "scoring", f"{scoring!r} scores two classes, not {n_classes}; use e.g. {_instead(scoring)}"
    if scoring in PROBABILITY_SCORERS and estimator in WITHOUT_PROBABILITIES:
        return "scoring", f"{scoring!r} needs class probabilities, which {estimator!r} does not give"
    return None


def _instead(scoring):
    """Scorers to suggest instead of ``scoring``: its class-averaged variants, if any."""
    variants = [name for name in (f"{scoring}_macro", f"{scoring}_ovr") if name in SCORERS]
    return " or ".join([*variants, "balanced_accuracy"])
