"""What jobs ask a cluster for (snakelight.workflow.resources), without Snakemake."""

import math
import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from snakelight.workflow import resources
from snakelight.workflow.config import validate_config
from snakelight.workflow.resources import Request, chunk_request, request

from .conftest import SCHEMA, run_snakemake

DEFAULTS = validate_config({"contrasts": {"face_vs_house": ["face", "house"]}}, SCHEMA)["resources"]
# Floors of 1 MB and 1 minute, no margin: the estimates themselves.
BARE = {**DEFAULTS, "min_mem_mb": 1, "min_runtime": 1, "margin": 1}


def test_small_jobs_get_the_floors():
    assert DEFAULTS == {"min_mem_mb": 1000, "min_runtime": 10, "margin": 2, "sphere_cost_us": 50}
    assert request(DEFAULTS) == Request(mem_mb=1000, runtime=10)


def test_estimates_follow_the_documented_formula():
    # Half of the whole-brain searchlight: 21,893 spheres, 216 samples on a 40x64x64
    # grid (283 MB as float64). Its chunk jobs were measured at 344-370 MB peak RSS
    # and 30 s (exact engine): the bare estimates cover that.
    image_mb = resources.array_mb((40, 64, 64, 216))
    assert image_mb == pytest.approx(283.1, abs=0.1)
    scoring_s = 21_893 * 216 * 50e-6
    bare = request(BARE, image_mb=image_mb, scoring_s=scoring_s)
    assert bare == Request(mem_mb=math.ceil(500 + image_mb), runtime=math.ceil((30 + 0.05 * image_mb + scoring_s) / 60))
    assert bare.mem_mb > 370 and bare.runtime * 60 > 30
    assert request(DEFAULTS, image_mb=image_mb, scoring_s=scoring_s) == Request(
        mem_mb=math.ceil(2 * (500 + image_mb)), runtime=math.ceil(2 * (30 + 0.05 * image_mb + scoring_s) / 60)
    )


def test_a_retry_asks_for_twice_as_much():
    first, second = (request(DEFAULTS, attempt=attempt, image_mb=5000) for attempt in (1, 2))
    assert (second.mem_mb, second.runtime) == (2 * first.mem_mb, 2 * first.runtime)


def test_chunk_request_counts_its_spheres_and_samples(tmp_path):
    affine = np.eye(4)
    process_mask = np.zeros((10, 10, 10), np.uint8)
    process_mask.flat[:250] = 1
    nib.Nifti1Image(process_mask, affine).to_filename(tmp_path / "pm.nii.gz")
    nib.Nifti1Image(np.zeros((10, 10, 10, 40), np.float32), affine).to_filename(tmp_path / "samples.nii.gz")
    settings = {**BARE, "sphere_cost_us": 1e6}  # a second per sphere and sample
    assert resources.chunk_spheres(tmp_path / "pm.nii.gz", 3) == 84
    assert chunk_request(settings, tmp_path / "samples.nii.gz", tmp_path / "pm.nii.gz", 3, attempt=2) == request(
        settings, attempt=2, image_mb=resources.array_mb((10, 10, 10, 40)), scoring_s=84 * 40
    )


def test_an_image_not_made_yet_is_named_for_snakemake(tmp_path):
    # Snakemake evaluates a resource later when the error names one of the job's inputs.
    path = str(tmp_path / "later.nii.gz")
    with pytest.raises(FileNotFoundError) as error:
        resources.image_mb(path)
    assert error.value.filename == path


@pytest.mark.workflow
def test_every_job_asked_for_more_than_its_benchmark_recorded(tiny_run):
    """Each job's request (as Snakemake evaluates it) against the peak RSS and the time
    its benchmark directive recorded in the finished tiny run."""
    result = run_snakemake(tiny_run, "-n", "--forceall", "--configfile", str(tiny_run / "config.yaml"))
    jobs = [block for block in re.split(r"\n(?=(?:local)?rule \w+:)", result.stdout) if "benchmark:" in block]
    assert len(jobs) == 12  # every job of the tiny run but `all` and the local analysis_config
    for job in jobs:
        rule = re.match(r"(?:local)?rule (\w+):", job)[1]
        benchmark = pd.read_csv(tiny_run / re.search(r"benchmark: (\S+)", job)[1], sep="\t")
        asked = dict(re.findall(r"(mem_mb|runtime)=(\d+)", job))
        assert benchmark["max_rss"].max() < int(asked["mem_mb"]), rule
        assert benchmark["s"].max() < 60 * int(asked["runtime"]), rule
