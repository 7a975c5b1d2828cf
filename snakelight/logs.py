"""Send a step's log records and warnings to its Snakemake log file."""

import logging
import sys


def to_file(path):
    """Route logging (INFO and up) and warnings to ``path``; errors also reach stderr."""
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    # Keep tracebacks in the log too: Snakemake shows it with --show-failed-logs.
    sys.excepthook = lambda *exc: (logging.getLogger().error("failed", exc_info=exc),
                                   sys.__excepthook__(*exc))
