import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json, read_samples_table
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.searchlight.chunks import merge_chunks
from snakelight.searchlight.cv import folds_record

to_file(snakemake.log[0])
output = snakemake.output
maps = [output.map, *output.other_maps]
folds = [output.folds, *output.other_folds]
table = read_samples_table(snakemake.input.table)
n_folds = merge_chunks(
    snakemake.input.chunks,
    snakemake.input.process_mask,
    dict(zip(snakemake.params.outputs, zip(maps, folds))),
    confusion_paths=output.confusion or None,
    rdms_path=output.rdms[0] if output.rdms else None,
)
sidecar = {
    "config": snakemake.params.config,
    "inputs": input_files(read_json(snakemake.input.dataset), process_mask=snakemake.input.process_mask),
    # A regression's: the samples table's column it decodes.
    **({} if snakemake.params.target is None else {"target": snakemake.params.target}),
}
if snakemake.params.rsa:
    # A model fit is one value per sphere (its "folds" map one volume); the RDMs' conditions.
    sidecar["conditions"] = sorted(set(table["label"]))
else:
    sidecar["cross_validation"] = folds_record(
        snakemake.params.config["searchlight"]["cv"], table, n_folds, cross=snakemake.params.cross
    )
write_sidecars([path for pair in zip(maps, folds) for path in pair], **sidecar)
if output.rdms:
    write_sidecars(list(output.rdms), **sidecar, pairs="the conditions' upper triangle, row by row")
if output.confusion:
    # The order of the confusion matrices' rows and columns, and of the recall volumes.
    write_sidecars(list(output.confusion), **sidecar, conditions=sorted(set(table["label"])))
