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


def test_group_signflip_example_runs_quick_and_its_t_map_is_scipys():
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "plot_group_signflip.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "256 sign patterns, all of them: True" in result.stdout
    assert "t map equals scipy's ttest_1samp: True" in result.stdout
    found, planted, outside = map(
        int, re.search(r"FWE p < 0.05: (\d+) of (\d+) planted voxels, (\d+) outside", result.stdout).groups()
    )
    assert found > planted // 2 and outside == 0
