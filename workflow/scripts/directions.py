import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json, read_samples_table
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.searchlight.chunks import write_direction_maps
from snakelight.searchlight.cv import contrast_design
from snakelight.searchlight.outputs import DIRECTIONS

to_file(snakemake.log[0])
design = contrast_design(snakemake.params.cross, read_samples_table(snakemake.input.table))
inputs = input_files(read_json(snakemake.input.dataset), process_mask=snakemake.input.process_mask)
maps = iter(snakemake.output.maps)  # output by output, each direction's (DIRECTION_FILES)
for output, folds_path in zip(snakemake.params.outputs, snakemake.input.folds):
    paths = {direction: next(maps) for direction in DIRECTIONS}
    write_direction_maps(folds_path, design, paths)
    for direction, path in paths.items():
        folds = int((design.reverse == (direction == "reverse")).sum())
        write_sidecars(
            [path], config=snakemake.params.config, inputs=inputs, output=output, direction=direction, folds=folds
        )
