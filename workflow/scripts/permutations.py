import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.inference.feasibility import check_samples_permutable
from snakelight.inference.permutations import check_relabellings, exchangeability, is_block_design, write_permutations
from snakelight.io import read_samples_table
from snakelight.logs import to_file

to_file(snakemake.log[0])
table = read_samples_table(snakemake.input.table)
if snakemake.params.rsa:
    # The randomization test relabels the model RDM's conditions, not the samples.
    from snakelight.rsa.job import write_relabellings

    write_relabellings(
        snakemake.output[0],
        table["label"],
        seed=snakemake.params.seed,
        n_permutations=snakemake.params.n_permutations,
        first=snakemake.params.first,
        exhaustive=snakemake.params.exhaustive,
    )
else:
    # Single volumes of label blocks are not exchangeable: permute: samples is refused on them.
    check_samples_permutable(
        snakemake.params.permute,
        is_block_design(table["label"], table["run"], table["volume"]),
        snakemake.config["samples"]["mode"],
    )
    design = exchangeability(table["label"], table["run"], table["volume"], snakemake.params.permute)
    # alpha from the config, not a param: a new alpha must not rescore the null maps.
    check_relabellings(design, snakemake.config["inference"]["alpha"], source=snakemake.input.table)
    write_permutations(
        snakemake.output[0],
        design,
        seed=snakemake.params.seed,
        n_permutations=snakemake.params.n_permutations,
        first=snakemake.params.first,
    )
