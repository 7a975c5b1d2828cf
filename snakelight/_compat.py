"""The one door to the private APIs of scikit-learn and nilearn that the exact engine and
:class:`snakelight.SearchLight` reuse, and the check that the installed versions are
those they were written for.

The exact engine repeats what ``LinearSVC.fit`` and nilearn's ``SearchLight`` do, and
``snakelight.SearchLight`` checks its parameters and estimator as nilearn's does, so they
call their private helpers, which may change in any release. Importing this module with
a version outside :data:`SUPPORTED` fails with one line saying what to install
(``pyproject.toml`` states the same ranges; ``tests/test_layout.py`` checks they agree).
"""

from importlib import import_module, metadata

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

# nilearn's helpers, each (module, name), imported on first use: nilearn.decoding takes
# about a second, which a chunk job running LinearSVC (built in
# :func:`snakelight.searchlight.scoring.make_estimator`) need not pay.
_NILEARN = {
    "SUPPORTED_ESTIMATORS": ("nilearn.decoding._utils", "SUPPORTED_ESTIMATORS"),
    "check_params": ("nilearn._utils.param_validation", "check_params"),
    "check_searchlight_estimator": ("nilearn.decoding.searchlight", "_check_searchlight_estimator"),
    "validate_estimator": ("nilearn.decoding._utils", "validate_estimator"),
}


def __getattr__(name):
    """One of nilearn's helpers in :data:`_NILEARN`, imported now."""
    if name not in _NILEARN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _NILEARN[name]
    return getattr(import_module(module), attribute)


__all__ = ["liblinear", "liblinear_solver_type", "resolve_dual", *_NILEARN]
