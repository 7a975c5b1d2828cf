import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.searchlight.chunks import merge_chunks

to_file(snakemake.log[0])
merge_chunks(snakemake.input.chunks, snakemake.input.process_mask, snakemake.output.map, snakemake.output.folds)
write_sidecars(
    [snakemake.output.map, snakemake.output.folds],
    snakemake.params.config,
    input_files(read_json(snakemake.input.dataset), process_mask=snakemake.input.process_mask),
)
