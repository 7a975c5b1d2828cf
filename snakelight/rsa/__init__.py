"""Representational similarity analysis searchlights: RDMs of many spheres at once
(correlation, Euclidean, crossnobis with noise normalisation), model fits, and the
randomization test's null; equal to rsatoolbox 0.3.2 (docs/explanation/rsa.md)."""

from snakelight.rsa.api import evaluate_models_searchlight, get_searchlight_RDMs, get_volume_searchlight
from snakelight.rsa.measure import RSASettings, rsa_measure, rsa_null

__all__ = [
    "RSASettings",
    "evaluate_models_searchlight",
    "get_searchlight_RDMs",
    "get_volume_searchlight",
    "rsa_measure",
    "rsa_null",
]
