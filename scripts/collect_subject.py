from pathlib import Path

from snakelight.logs import to_file
from snakelight.own_data import collect_subject, read_subjects_table

to_file(snakemake.log[0])
table = read_subjects_table(snakemake.input.table)
collect_subject(table[table["subject"] == int(snakemake.wildcards.subject)],
                Path(snakemake.output.manifest).parent / "data", snakemake.output.manifest,
                shift=snakemake.params.events["hemodynamic_shift"], baseline=snakemake.params.events["baseline"])
