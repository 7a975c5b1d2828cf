#!/usr/bin/env bash
# Snakemake's cluster-generic status command: prints running, success or failed for
# the SLURM job ID that sbatch --parsable gave ("ID" or "ID;cluster").
set -u
id=${1%%;*}
if state=$(squeue --noheader --states=all --format=%T --jobs="$id" 2>&1); then
    :  # squeue knows queued, running and recently ended jobs (MinJobAge seconds)
elif [[ $state == *"Invalid job id"* ]]; then
    # Ended longer ago: ask accounting (sacct), where the site keeps it. Its state can
    # carry a suffix ("CANCELLED by 0").
    state=$(sacct --noheader --parsable2 --allocations --format=State --jobs="$id" 2>/dev/null | head -n 1)
    state=${state%% *}
    if [ -z "$state" ]; then
        echo "SLURM job $id is unknown to squeue and sacct: reported as failed" >&2
        state=UNKNOWN
    fi
else
    state=  # the controller did not answer: ask again at the next check
fi
case "$state" in
    COMPLETED) echo success ;;
    BOOT_FAIL | CANCELLED | DEADLINE | FAILED | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | TIMEOUT | UNKNOWN) echo failed ;;
    *) echo running ;;  # queued, running, ending, requeued, suspended, or no answer
esac
