import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
import nibabel as nib
import numpy as np

from snakelight.io import read_json, read_samples_table, write_nifti
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.searchlight.cross import by_direction
from snakelight.searchlight.cv import contrast_design

to_file(snakemake.log[0])
table = read_samples_table(snakemake.input.table)
design = contrast_design(snakemake.params.cross, table)
folds = nib.load(snakemake.input.folds)
data = np.asarray(folds.dataobj)
if data.shape[-1] != len(design.folds):
    raise ValueError(f"{snakemake.input.folds}: {data.shape[-1]} folds; the design of samples.tsv has {len(design.folds)}")
# by_direction's means, voxel by voxel: (voxels, folds) -> {direction: (voxels,)}.
means = by_direction(data.reshape(-1, data.shape[-1]), design)
inputs = input_files(read_json(snakemake.input.dataset), process_mask=snakemake.input.process_mask)
for direction, path, sidecar in zip(("forward", "reverse"), snakemake.output.maps, snakemake.output.sidecars):
    mean = means[direction].reshape(data.shape[:-1]).astype(data.dtype)
    write_nifti(path, nib.Nifti1Image(mean, folds.affine))
    write_sidecars([path], config=snakemake.params.config, inputs=inputs, direction=direction,
                   folds=int(np.count_nonzero(design.reverse == (direction == "reverse"))))
