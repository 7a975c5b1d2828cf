"""``snakemake --report`` of an analysis whose run failed or never ran. Snakemake 9 then
either writes an empty report and says "Report created." (the ``bids`` source before
discovery: rule all's files are not known yet) or stops on the first report file it
misses, naming it alone (``File results/<analysis>/config.yaml marked for report but does
not exist``). The Snakefile asks :func:`report_requested` while it parses and, for a
report, stops first with one line naming what is missing and the command that makes it
(:func:`check_report`)."""

import os
import shlex

from snakelight.io import InputError

# Snakemake's options that make a report instead of running the workflow (--report-after-run
# runs it first).
REPORT_OPTIONS = ("--report", "--reporter")
# Missing files named in the message; the others are counted.
NAMED = 3


def report_requested(argv):
    """Whether the command line ``argv`` asks Snakemake for a report of what exists
    (``--report`` or ``--reporter``, without ``--report-after-run``)."""
    options = {arg.split("=", 1)[0] for arg in argv}
    return bool(options & set(REPORT_OPTIONS)) and "--report-after-run" not in options


def run_command(configfiles):
    """The command that runs the analysis of the config files ``configfiles`` (Snakemake's
    --configfile list; empty for the default config/config.yaml)."""
    command = ["snakemake", "--cores", "all"]
    if configfiles:
        command += ["--configfile", *map(str, configfiles)]
    return shlex.join(command)


def check_report(outputs, *, analysis, configfiles):
    """Nothing when every path of ``outputs`` (the analysis's results, as rule all asks
    for them) exists; else an :class:`~snakelight.io.InputError` whose one line says how
    many are missing, names the first ones, and the command to run before the report."""
    outputs = list(dict.fromkeys(map(str, outputs)))
    missing = [path for path in outputs if not os.path.exists(path)]
    if not missing:
        return
    named = ", ".join(missing[:NAMED]) + (f" and {len(missing) - NAMED} more" if len(missing) > NAMED else "")
    run = f"run `{run_command(configfiles)}` first, then the report again"
    if len(missing) == len(outputs):
        raise InputError(f"snakelight: analysis {analysis!r} has no results to report ({named}): {run}")
    raise InputError(
        f"snakelight: analysis {analysis!r} lacks {len(missing)} of its {len(outputs)} results to report "
        f"({named}): its run failed or did not finish (its log says why); {run}"
    )
