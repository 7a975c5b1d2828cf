from pathlib import Path

import pandas as pd

from snakelight.logs import to_file
from snakelight.own_data import collect_subject

to_file(snakemake.log[0])
collect_subject(pd.DataFrame(snakemake.params.rows), Path(snakemake.output.manifest).parent / "data",
                snakemake.output.manifest, shift=snakemake.params.events["hemodynamic_shift"],
                baseline=snakemake.params.events["baseline"])
