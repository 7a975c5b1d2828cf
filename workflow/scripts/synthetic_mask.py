from pathlib import Path

from snakelight.data.synthetic import write_mask
from snakelight.logs import to_file

to_file(snakemake.log[0])
write_mask(Path(snakemake.output.mask).parent, snakemake.params.shape, snakemake.params.voxel_size)
