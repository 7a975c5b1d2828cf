"""Send a step's log records and warnings to its Snakemake log file, and show the user
snakelight's warnings and input errors as one line each."""

import gc
import logging
import os
import socket
import sys

from snakelight.io import InputError


class _Console(logging.Formatter):
    def format(self, record):
        return f"{record.levelname.lower()}: {record.getMessage()}"


def to_file(path):
    """Route logging (INFO and up) and warnings to ``path``; also print snakelight's own
    warnings on stderr as ``warning: <message>``.

    An uncaught :class:`InputError` (a bad input, or a bad config key) is reported as
    ``error: <message>`` on stderr and in the log, without a traceback; any other
    exception gets its full traceback in both. Snakemake shows stderr, and the log of a
    failed job with --show-failed-logs (set in the default profile). In a SLURM job,
    the log starts with the job's ID, to look it up with the scheduler.

    Garbage collection, paused by :mod:`snakelight.step`, resumes here, the imports'
    objects frozen out of it.
    """
    if not gc.isenabled():  # paused by snakelight.step while the script imported
        gc.freeze()
        gc.enable()
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(_Console())
    package = logging.getLogger("snakelight")
    for old in [h for h in package.handlers if isinstance(h.formatter, _Console)]:
        package.removeHandler(old)
    package.addHandler(console)
    if "SLURM_JOB_ID" in os.environ:
        logging.getLogger(__name__).info("SLURM job %s on %s", os.environ["SLURM_JOB_ID"], socket.gethostname())

    def report(kind, error, traceback):
        if isinstance(error, InputError):
            package.error("%s", error)
        else:
            logging.getLogger().error("step failed", exc_info=(kind, error, traceback))
            sys.__excepthook__(kind, error, traceback)

    sys.excepthook = report
