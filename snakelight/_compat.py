"""The one door to the private APIs of scikit-learn and nilearn that the exact engine
reuses, and the check that the installed versions are those they were written for.

The exact engine repeats what ``LinearSVC.fit`` and nilearn's ``SearchLight`` do, so it
calls their private helpers; those may change in any release. The ranges come from this
package's own requirements (``pyproject.toml``, one home), and importing this module with
a version outside them fails with one line saying what to install.
"""

from importlib import metadata

from packaging.requirements import Requirement

# Packages whose private API is used below.
_PRIVATE_API_OF = ("scikit-learn", "nilearn")


def _check_versions():
    requirements = {req.name: req for req in map(Requirement, metadata.requires("snakelight") or [])}
    for name in _PRIVATE_API_OF:
        wanted = requirements[name].specifier
        installed = metadata.version(name)
        if not wanted.contains(installed, prereleases=True):
            raise ImportError(
                f"snakelight needs {name}{wanted} (it reuses that version's private API), but "
                f"{name} {installed} is installed: pip install '{name}{wanted}'"
            )


_check_versions()

# ruff: noqa: E402 -- the versions are checked before anything private is imported.
from nilearn.decoding._utils import validate_estimator
from sklearn.svm import _liblinear as liblinear
from sklearn.svm._base import _get_liblinear_solver_type as liblinear_solver_type
from sklearn.svm._classes import _validate_dual_parameter as resolve_dual

__all__ = ["liblinear", "liblinear_solver_type", "resolve_dual", "validate_estimator"]
