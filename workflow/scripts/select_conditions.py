import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.conditions import select_conditions
from snakelight.logs import to_file

to_file(snakemake.log[0])
select_conditions(
    snakemake.input[0],
    snakemake.params.conditions,
    snakemake.params.cv,
    snakemake.output.img,
    snakemake.output.table,
    snakemake.output.masked,
)
