from pathlib import Path

import pandas as pd

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.table import collect_subject
from snakelight.logs import to_file

to_file(snakemake.log[0])
collect_subject(
    pd.DataFrame(snakemake.params.rows),
    Path(snakemake.output.manifest).parent / "data",
    snakemake.output.manifest,
    shift=snakemake.params.events["hemodynamic_shift"],
    baseline=snakemake.params.events["baseline"],
)
