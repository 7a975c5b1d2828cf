"""Send a step's log records and warnings to its Snakemake log file."""

import logging
import os
import socket
import sys


def to_file(path):
    """Route logging (INFO and up) and warnings to ``path``, and record an uncaught
    exception there too: Snakemake shows that file with --show-failed-logs. In a SLURM
    job, the log starts with the job's ID, to look it up with the scheduler."""
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    if "SLURM_JOB_ID" in os.environ:
        logging.getLogger(__name__).info("SLURM job %s on %s", os.environ["SLURM_JOB_ID"], socket.gethostname())

    def log_and_raise(*exc_info):
        logging.getLogger().error("step failed", exc_info=exc_info)
        sys.__excepthook__(*exc_info)

    sys.excepthook = log_and_raise
