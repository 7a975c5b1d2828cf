"""The one door to the private APIs of scikit-learn and nilearn that the exact engine
reuses, and the check that the installed versions are those they were written for.

The exact engine repeats what ``LinearSVC.fit`` and nilearn's ``SearchLight`` do, so it
calls their private helpers, which may change in any release. Importing this module with
a version outside :data:`SUPPORTED` fails with one line saying what to install
(``pyproject.toml`` states the same ranges; ``tests/test_layout.py`` checks they agree).
"""

from importlib import metadata

from packaging.specifiers import SpecifierSet

# The versions whose private API is used below.
SUPPORTED = {"scikit-learn": ">=1.9.1,<1.10", "nilearn": ">=0.14.1,<0.15"}


def _check_versions():
    for name, wanted in SUPPORTED.items():
        installed = metadata.version(name)
        if not SpecifierSet(wanted).contains(installed, prereleases=True):
            raise ImportError(
                f"snakelight needs {name}{wanted} (it reuses that version's private API), but "
                f"{name} {installed} is installed: pip install '{name}{wanted}'"
            )


_check_versions()

# ruff: noqa: E402 -- the versions are checked before anything private is imported.
from sklearn.svm import _liblinear as liblinear
from sklearn.svm._base import _get_liblinear_solver_type as liblinear_solver_type
from sklearn.svm._classes import _validate_dual_parameter as resolve_dual


def validate_estimator(estimator, owning_class_type):
    """nilearn's estimator for one of its SearchLight names. nilearn is imported on first
    use: nilearn.decoding takes about a second, which a chunk job running LinearSVC (built
    in :func:`snakelight.searchlight.scoring.make_estimator`) need not pay."""
    from nilearn.decoding._utils import validate_estimator as nilearn_validate_estimator

    return nilearn_validate_estimator(estimator, owning_class_type=owning_class_type)


__all__ = ["liblinear", "liblinear_solver_type", "resolve_dual", "validate_estimator"]
