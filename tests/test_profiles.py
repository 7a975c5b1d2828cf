"""The cluster profiles without a cluster: they load, and the cluster-generic status
command reads SLURM's answers right (tests/test_cluster.py runs them on SLURM)."""

import os
import subprocess

import pytest

from .conftest import REPO, TINY_CONFIG, job_counts, run_snakemake, write_config

STATUS = REPO / "profiles" / "cluster-generic" / "status.sh"
INVALID_ID = "slurm_load_jobs error: Invalid job id specified"


def fake_command(folder, name, output, exit_code=0):
    """An executable ``name`` in ``folder`` that records its arguments in
    ``<name>.args``, prints ``output`` and exits with ``exit_code``."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "$@" > "{folder}/{name}.args"\nprintf "%s\\n" "{output}"\nexit {exit_code}\n')
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("squeue", "sacct", "expected"),
    [
        (("PENDING", 0), None, "running"),
        (("RUNNING", 0), None, "running"),
        (("COMPLETING", 0), None, "running"),
        (("COMPLETED", 0), None, "success"),
        (("FAILED", 0), None, "failed"),
        (("OUT_OF_MEMORY", 0), None, "failed"),
        (("TIMEOUT", 0), None, "failed"),
        # squeue has forgotten the job: accounting answers.
        ((INVALID_ID, 1), "COMPLETED", "success"),
        ((INVALID_ID, 1), "CANCELLED by 0", "failed"),
        # Neither knows it: reported failed rather than waited for forever.
        ((INVALID_ID, 1), "", "failed"),
        # The controller did not answer: ask again later.
        (("slurm_load_jobs error: Unable to contact slurm controller", 1), None, "running"),
    ],
)
def test_status_command_maps_slurm_states(tmp_path, squeue, sacct, expected):
    fake_command(tmp_path, "squeue", *squeue)
    fake_command(tmp_path, "sacct", sacct or "")
    result = subprocess.run(
        [STATUS, "42;cluster"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )
    assert result.stdout == f"{expected}\n"
    assert "--jobs=42" in (tmp_path / "squeue.args").read_text().split()


@pytest.mark.workflow
@pytest.mark.parametrize("profile", ["slurm", "cluster-generic"])
def test_profiles_load(tmp_path, profile):
    result = run_snakemake(
        tmp_path,
        "-n",
        "--profile",
        str(REPO / "profiles" / profile),
        "--configfile",
        write_config(tmp_path, TINY_CONFIG),
    )
    assert job_counts(result.stdout)["searchlight_chunk"] == 3
