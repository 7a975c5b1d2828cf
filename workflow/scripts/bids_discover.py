import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids_samples import discover_runs
from snakelight.inference.group import check_group_subjects
from snakelight.logs import to_file

to_file(snakemake.log[0])
params = snakemake.params


def check_group(subjects):
    """The group settings, checked here for bids: the subjects are first known here."""
    check_group_subjects(subjects, **params.group_check)


discover_runs(
    params.bids,
    params.labelling,
    params.contrasts,
    snakemake.output.database,
    snakemake.output.runs,
    check_subjects=check_group if params.group_check else None,
)
