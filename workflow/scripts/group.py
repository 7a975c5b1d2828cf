from pathlib import Path

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.inference.group_stage import write_method
from snakelight.logs import to_file

to_file(snakemake.log[0])
params = snakemake.params
write_method(
    params.method,
    params.subjects,
    snakemake.input.maps,
    snakemake.input.process_masks,
    snakemake.input.get("null_maps"),
    Path(snakemake.output.clusters).parent,
    settings=params.settings,
    chance=params.chance,
    title=f"{snakemake.wildcards.contrast}, group, {params.method}",
    cut_coords=params.cut_coords,
    config=params.config,
)
