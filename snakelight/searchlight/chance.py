"""The chance level of a score: what guessing is expected to score."""


def chance_level(scoring, n_classes):
    """The expected score of guessing among ``n_classes`` balanced classes for the scorer
    ``scoring`` (None: the estimator's accuracy), or None for a scorer without one."""
    if scoring in (None, "accuracy", "balanced_accuracy"):
        return 1 / n_classes  # nilearn's default score is accuracy
    if scoring and scoring.startswith("roc_auc"):
        return 0.5
    if scoring in ("r2", "explained_variance", "pearson_r"):
        return 0.0  # a regression that predicts nothing: no variance explained, no correlation
    return None
