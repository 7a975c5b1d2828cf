"""examples/plot_haxby_searchlight.py runs as a script, offline, and its two maps agree."""

import re
import subprocess
import sys

from .conftest import REPO


def test_haxby_example_runs_quick_offline_and_matches_nilearn():
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "plot_haxby_searchlight.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert re.search(r"snakelight.SearchLight: [\d.]+ s; nilearn.decoding.SearchLight: [\d.]+ s", result.stdout)
    assert "scores_ identical: True" in result.stdout
    assert "Downloading" not in result.stdout + result.stderr
