"""snakelight: fMRI searchlight decoding as a Snakemake workflow, and as a drop-in for
nilearn's ``SearchLight`` (``from snakelight import SearchLight``)."""

__version__ = "0.1.0"
__all__ = ["SearchLight"]


def __getattr__(name):
    # Lazy: every ``import snakelight.x`` runs this module, and the workflow's parse-time
    # modules must not load nilearn, scikit-learn or numba.
    if name == "SearchLight":
        from snakelight.searchlight.estimator import SearchLight

        return SearchLight
    raise AttributeError(f"module 'snakelight' has no attribute {name!r}")
