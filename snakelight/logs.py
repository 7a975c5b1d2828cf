"""Send a step's log records and warnings to its Snakemake log file."""

import logging
import sys


def to_file(path):
    """Route logging (INFO and up) and warnings to ``path``, and record an uncaught
    exception there too: Snakemake shows that file with --show-failed-logs."""
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)

    def log_and_raise(*exc_info):
        logging.getLogger().error("step failed", exc_info=exc_info)
        sys.__excepthook__(*exc_info)

    sys.excepthook = log_and_raise
