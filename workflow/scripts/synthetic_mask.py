from pathlib import Path

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.synthetic import write_mask
from snakelight.logs import to_file

to_file(snakemake.log[0])
write_mask(Path(snakemake.output.mask).parent, snakemake.params.shape, snakemake.params.voxel_size)
