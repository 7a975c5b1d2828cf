import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.masks import write_process_mask
from snakelight.io import read_json
from snakelight.logs import to_file

to_file(snakemake.log[0])
write_process_mask(
    read_json(snakemake.input.dataset),
    snakemake.output[0],
    slices=snakemake.params.slices,
    box=snakemake.params.box,
    roi=snakemake.input.roi or None,
)
