import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json, read_samples_table
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.searchlight.chunks import write_direction_maps
from snakelight.searchlight.cv import contrast_design

to_file(snakemake.log[0])
design = contrast_design(snakemake.params.cross, read_samples_table(snakemake.input.table))
paths = dict(zip(("forward", "reverse"), snakemake.output.maps))
write_direction_maps(snakemake.input.folds, design, paths)
inputs = input_files(read_json(snakemake.input.dataset), process_mask=snakemake.input.process_mask)
for direction, path in paths.items():
    folds = int((design.reverse == (direction == "reverse")).sum())
    write_sidecars([path], config=snakemake.params.config, inputs=inputs, direction=direction, folds=folds)
