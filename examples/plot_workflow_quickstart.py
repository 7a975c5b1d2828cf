"""
The workflow's default run, and what it writes
==============================================

The quick start's run, in a scratch folder: Snakemake runs the seed's analysis
(``config/config.yaml``: subject 2, face vs house, one axial slice, radius 5.6 mm,
``KFold(4)``) on a generated Haxby-shaped subject, offline; the figures below are the
files it writes under ``results/<analysis>/sub-02/face_vs_house/``.

.. code-block:: bash

    python examples/plot_workflow_quickstart.py           # config/config.yaml
    python examples/plot_workflow_quickstart.py --quick   # the tests' tiny configuration
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import snakelight

# The checkout whose package is installed (make setup installs it in editable mode).
REPO = Path(snakelight.__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description="the workflow's default run, in a scratch folder")
    parser.add_argument("--quick", action="store_true", help="the tests' tiny configuration (a 12x14x12 volume)")
    args = parser.parse_args(argv)
    config = REPO / (".test/config/config.yaml" if args.quick else "config/config.yaml")
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]
        start = time.perf_counter()
        subprocess.run(
            [*command, "--directory", scratch, "--cores", "2", "--configfile", str(config), "--quiet"],
            check=True,
            capture_output=True,
        )
        print(f"snakemake --cores 2 --configfile {config.relative_to(REPO)}: {time.perf_counter() - start:.0f} s")
        show(Path(scratch) / "results" / config.stem / "sub-02" / "face_vs_house")


def show(out):
    """Print what the run wrote, and draw its three figures."""
    print("written:", ", ".join(sorted(path.name for path in out.iterdir() if path.is_file())))
    sidecar = json.loads((out / "searchlight.json").read_text())
    print("cross-validation as it ran:", sidecar["cross_validation"]["method"], sidecar["cross_validation"]["n_splits"])
    print(pd.read_csv(out / "clusters.tsv", sep="\t").head().to_string(index=False))
    figure, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, name in zip(axes, ("searchlight.png", "fscores.png", "score_histogram.png")):
        ax.imshow(plt.imread(out / name))
        ax.set_title(name)
        ax.set_axis_off()
    figure.tight_layout()


if __name__ == "__main__":
    main()
