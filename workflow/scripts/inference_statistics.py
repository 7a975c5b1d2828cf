import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.inference.feasibility import cluster_forming_threshold
from snakelight.inference.step import write_inference
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars

to_file(snakemake.log[0])
output, params = snakemake.output, snakemake.params
maps = ["logp", "logp_fwe", "tfce", "tfce_logp_fwe", "clusters_img"]
names = [*maps, "clusters_tsv", "null_maxima"]
write_inference(
    snakemake.input.map,
    snakemake.input.null,
    snakemake.input.process_mask,
    {name: output[name] for name in names},
    chance=params.chance,
    cluster_threshold=params.cluster_threshold,
    connectivity=params.connectivity,
)
null_maps = read_json(snakemake.input.null_maps)
write_sidecars(
    [output[name] for name in maps],
    params.config,
    input_files(
        read_json(snakemake.input.dataset),
        process_mask=snakemake.input.process_mask,
        permutations=snakemake.input.permutations,
        searchlight=snakemake.input.map,
        null=snakemake.input.null,
    ),
    null_maps=null_maps,
    cluster_forming_p=cluster_forming_threshold(params.cluster_threshold, null_maps["null_maps"]),
)
