"""The tiny workflow on a real one-node SLURM cluster (tests/local_slurm.py), through
profiles/slurm and profiles/cluster-generic, against a local run of the same config.

Skipped, with the reason, where the cluster cannot start (SLURM not installed, not
root); with SNAKELIGHT_REQUIRE_SLURM=1 (.ci/run sets it) that is a failure instead.
"""

import os
import re
import shutil

import nibabel as nib
import numpy as np
import pytest

from .conftest import OUT, REPO, TINY_CONFIG, job_counts, run_snakemake, write_config
from .local_slurm import ACCOUNT, PARTITION, LocalSlurm, unavailable

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

# The profiles' site settings, as a user sets them.
SITE = {"SNAKELIGHT_SLURM_PARTITION": PARTITION, "SNAKELIGHT_SLURM_ACCOUNT": ACCOUNT}
# The test cluster keeps no accounting (sacct is disabled), so the SLURM plugin asks
# squeue. Its first status check of a wave waits 15 s: a job takes about 10 s here.
SLURM = [
    "--profile",
    str(REPO / "profiles/slurm"),
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "15",
]
GENERIC = ["--profile", str(REPO / "profiles/cluster-generic"), "--seconds-between-status-checks", "2"]
CHUNK_LOG = "results/config/logs/sub-02/face_vs_house/searchlight_chunk_{}.log"
# Every job but `all`, which runs in Snakemake itself.
CLUSTER_JOBS = 12


@pytest.fixture(scope="module")
def slurm():
    reason = unavailable()
    if reason is not None:
        if os.environ.get("SNAKELIGHT_REQUIRE_SLURM") == "1":
            pytest.fail(f"SNAKELIGHT_REQUIRE_SLURM=1 but no test cluster: {reason}")
        pytest.skip(reason)
    cluster = LocalSlurm()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def local_map(tiny_run):
    return merged_map(tiny_run)


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    """A finished run of the tiny config through profiles/slurm: its folder and output."""
    workdir = tmp_path_factory.mktemp("slurm")
    result = run_snakemake(workdir, *SLURM, "--configfile", write_config(workdir, TINY_CONFIG), env=SITE)
    return workdir, result.stdout


def merged_map(workdir):
    return nib.load(workdir / OUT / "searchlight.nii.gz").get_fdata()


def chunk_job_id(workdir, chunk):
    """The SLURM job ID a chunk's log records (snakelight.logs)."""
    return re.search(r"SLURM job (\d+) on ", (workdir / CHUNK_LOG.format(chunk)).read_text())[1]


def assert_each_chunk_ran_as_its_own_job(workdir, submitted, local_map):
    """Every job was submitted once, the three chunks as three of them, and the map is
    the local run's."""
    assert len(set(submitted)) == CLUSTER_JOBS
    chunk_jobs = {chunk_job_id(workdir, chunk) for chunk in range(3)}
    assert len(chunk_jobs) == 3 and chunk_jobs <= set(submitted)
    assert np.array_equal(merged_map(workdir), local_map)


def test_slurm_profile_runs_each_chunk_as_its_own_slurm_job(slurm_run, local_map):
    workdir, output = slurm_run
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert_each_chunk_ran_as_its_own_job(workdir, submitted, local_map)


def test_failed_chunk_fails_the_run_with_its_log_and_a_rerun_does_only_what_is_missing(slurm_run, local_map, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(slurm_run[0], workdir, symlinks=True)
    # Back to before the chunks, but for chunk 2: this run scores chunks 0 and 1.
    for name in ("chunks/0.npz", "chunks/1.npz", "searchlight.nii.gz", "searchlight_folds.nii.gz"):
        (workdir / OUT / name).unlink()
    chunks = workdir / OUT / "chunks"
    # Chunk 1 fails for real, after scoring: an old non-empty folder stands where its
    # output goes. Being older than the chunk's inputs, it is rerun; Snakemake removes
    # only empty folders before a job, and the chunk cannot replace it with its file.
    (chunks / "1.npz").mkdir()
    (chunks / "1.npz" / "in-the-way").touch()
    os.utime(chunks / "1.npz", (0, 0))
    failed = run_snakemake(workdir, *SLURM, "--configfile", str(workdir / "config.yaml"), env=SITE, check=False)
    assert failed.returncode != 0
    assert job_counts(failed.stdout) == {"searchlight_chunk": 2, "merge": 1, "figures": 1, "summary": 1, "all": 1}
    assert (chunks / "0.npz").is_file()
    log = (workdir / CHUNK_LOG.format(1)).read_text()
    assert "IsADirectoryError" in log
    assert f"Logfile {CHUNK_LOG.format(1)}:" in failed.stdout
    assert all(line in failed.stdout for line in log.splitlines())

    shutil.rmtree(chunks / "1.npz")
    rerun = run_snakemake(workdir, *SLURM, "--configfile", str(workdir / "config.yaml"), env=SITE)
    assert job_counts(rerun.stdout) == {"searchlight_chunk": 1, "merge": 1, "figures": 1, "summary": 1, "all": 1}
    assert chunk_job_id(workdir, 1) in re.findall(r"has been submitted with SLURM jobid (\d+)", rerun.stdout)
    assert np.array_equal(merged_map(workdir), local_map)


def test_cluster_generic_profile_runs_each_chunk_as_its_own_slurm_job(slurm, local_map, tmp_path):
    result = run_snakemake(tmp_path, *GENERIC, "--configfile", write_config(tmp_path, TINY_CONFIG), env=SITE)
    submitted = re.findall(r"with external jobid '(\d+)'", result.stdout)
    assert_each_chunk_ran_as_its_own_job(tmp_path, submitted, local_map)
