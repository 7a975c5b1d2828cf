import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.inference.feasibility import check_samples_permutable
from snakelight.inference.permutations import (
    check_relabellings,
    exchangeability,
    is_block_design,
    null_map_facts,
    write_permutations,
)
from snakelight.io import read_samples_table, write_json
from snakelight.logs import to_file
from snakelight.searchlight.cv import permutation_targets

to_file(snakemake.log[0])
table = read_samples_table(snakemake.input.table)
if snakemake.params.rsa:
    # The randomization test relabels the model RDM's conditions, not the samples.
    from snakelight.rsa.job import relabelling_facts, write_relabellings

    write_relabellings(
        snakemake.output.table,
        table["label"],
        seed=snakemake.params.seed,
        n_permutations=snakemake.params.n_permutations,
        first=snakemake.params.first,
        exhaustive=snakemake.params.exhaustive,
    )
    if "facts" in snakemake.output.keys():  # the whole table's: how its null maps were chosen
        facts = relabelling_facts(table["label"], snakemake.params.n_permutations, snakemake.params.exhaustive)
        write_json(snakemake.output.facts, facts)
else:
    # Single volumes of label blocks are not exchangeable: permute: samples is refused on them.
    check_samples_permutable(
        snakemake.params.permute,
        is_block_design(table["label"], table["run"], table["volume"]),
        snakemake.config["samples"]["mode"],
    )
    # A cross-classification permutes its targets, the training and the test sets apart.
    labels, sets = permutation_targets(snakemake.params.cross, table)
    # A continuous target permutes its values, which no renaming leaves unchanged.
    target = snakemake.params.target
    if target is not None:
        labels = table[target].to_numpy(float)
    design = exchangeability(labels, table["run"], table["volume"], snakemake.params.permute, sets, target is None)
    # alpha from the config, not a param: a new alpha must not rescore the null maps.
    check_relabellings(design, snakemake.config["inference"]["alpha"], source=snakemake.input.table)
    write_permutations(
        snakemake.output.table,
        design,
        seed=snakemake.params.seed,
        n_permutations=snakemake.params.n_permutations,
        first=snakemake.params.first,
    )
    if "facts" in snakemake.output.keys():  # the whole table's: how its null maps were chosen
        write_json(snakemake.output.facts, null_map_facts(design, snakemake.params.n_permutations))
