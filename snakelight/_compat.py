"""The one door to the private APIs of scikit-learn and nilearn that the exact engine and
:class:`snakelight.SearchLight` reuse, and the check that the installed versions are
those they were written for.

The exact engine repeats what ``LinearSVC.fit`` and nilearn's ``SearchLight`` do, and
``snakelight.SearchLight`` checks its parameters and estimator as nilearn's does, so they
call their private helpers, which may change in any release. Importing this module with
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
from nilearn._utils.param_validation import check_params
from nilearn.decoding._utils import SUPPORTED_ESTIMATORS, validate_estimator
from nilearn.decoding.searchlight import _check_searchlight_estimator as check_searchlight_estimator
from sklearn.svm import _liblinear as liblinear
from sklearn.svm._base import _get_liblinear_solver_type as liblinear_solver_type
from sklearn.svm._classes import _validate_dual_parameter as resolve_dual

__all__ = [
    "SUPPORTED_ESTIMATORS",
    "check_params",
    "check_searchlight_estimator",
    "liblinear",
    "liblinear_solver_type",
    "resolve_dual",
    "validate_estimator",
]
