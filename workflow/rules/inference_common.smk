# The inference rules' settings, paths and resources (rules in inference.smk).
from snakelight.inference.feasibility import cluster_forming_threshold, enumerates_every_order
from snakelight.inference.permutations import PERMUTED, describe_null_maps, permutation_blocks

INFERENCE = config["inference"]
# What the permutation files of a subject's contrast depend on (rules permutations and
# permutation_block): a cross-classification permutes its training and test sets apart.
PERMUTATION_SETTINGS = {
    **{key: INFERENCE[key] for key in ("permute", "seed")},
    "cross": lambda wc: CROSS.get(wc.contrast),
    "target": lambda wc: TARGETS.get(wc.contrast),
}
# searchlight.measure rsa permutes the conditions of the model RDM instead of the samples' labels.
PERMUTATION_SETTINGS["rsa"] = bool(RSA)
# rsa: inference.permutations = C! - 1 enumerates every relabelling but the identity.
PERMUTATION_SETTINGS["exhaustive"] = lambda wc: bool(RSA) and enumerates_every_order(
    len(config["contrasts"][wc.contrast]), INFERENCE["permutations"]
)
# Block b: permutations b * per_job + 1 .. (b + 1) * per_job. A block file is named by its
# range and its job gets no parameter that depends on P: more permutations keep every
# block already scored and run only the new ones.
BLOCKS = permutation_blocks(INFERENCE["permutations"], INFERENCE["permutations_per_job"])
# The files of a subject's contrast that the inference adds, for rule all.
INFERENCE_OUTPUTS = [
    "searchlight_null.nii.gz",
    "searchlight_logp.nii.gz",
    "searchlight_logp_fwe.nii.gz",
    "searchlight_tfce_logp_fwe.nii.gz",
    "clusters_fwe.tsv",
    "searchlight_fwe.png",
    "null_maxima.png",
    "clusters_fwe.html",
]


wildcard_constraints:
    first=r"[1-9]\d*",
    last=r"[1-9]\d*",


def inference_path(kind, name):
    """An output (``out``), log or benchmark path of a subject's contrast, under
    ``results(...)`` as the other rules' paths are."""
    folder = {
        "out": "sub-{subject}/{contrast}",
        "log": "logs/sub-{subject}/{contrast}",
        "benchmark": "benchmarks/sub-{subject}/{contrast}",
    }[kind]
    return results(f"{folder}/{name}")


def null_chunk_count(wildcards):
    """How many sphere chunks a subject's contrast's null maps are scored in: the one read
    of the chunk count by the inference rules: the real map's (chunk_count)."""
    return chunk_count(wildcards)


def inference_outputs():
    """The inference files of every subject and contrast, beside their searchlight maps."""
    return each_subject_and_contrast(INFERENCE_OUTPUTS) if INFERENCE["permutations"] else []


def null_chunk_files(wildcards):
    """Every null chunk file, block by block (the merge reads one block at a time)."""
    return [
        path
        for first, last in BLOCKS
        for path in expand(
            rules.null_chunk.output[0],
            chunk=range(null_chunk_count(wildcards)),
            first=first,
            last=last,
            **wildcards,
        )
    ]


def null_chunk_resources():
    def estimate(wildcards, input, attempt):
        return cluster.chunk_request(
            RESOURCES,
            input.samples,
            input.process_mask,
            null_chunk_count(wildcards),
            attempt=attempt,
            n_maps=int(wildcards.last) - int(wildcards.first) + 1,
        )

    return {
        "mem_mb": lambda wildcards, input, attempt: estimate(wildcards, input, attempt).mem_mb,
        "runtime": lambda wildcards, input, attempt: estimate(wildcards, input, attempt).runtime,
    }


def null_maps_resources(n_maps, copies=1, tfce=False):
    return resources_of(
        lambda input, attempt, wildcards: cluster.null_maps_request(
            RESOURCES, input.process_mask, n_maps, attempt=attempt, copies=copies, tfce=tfce
        )
    )


def inference_config(wildcards, *keys):
    """The map config (map_config) and the inference settings ``keys``, for a sidecar."""
    return {**map_config(wildcards, "process_mask", "searchlight"), "inference": {k: INFERENCE[k] for k in keys}}


def null_map_facts(path):
    """A subject's permutations.json (how many null maps, how chosen), for params read when
    the job runs and when the report is made; while Snakemake plans, before the file is
    written, None (params that take ``input`` are read again when the job runs and are not
    compared with the last run's)."""
    return read_json(path) if os.path.exists(path) else None


def null_maps_caption(wildcards, input):
    facts = null_map_facts(input.null_maps)
    return describe_null_maps(facts) if facts else "the null maps"


def cluster_forming_caption(wildcards, input):
    facts = null_map_facts(input.null_maps)
    n_null = facts["null_maps"] if facts else INFERENCE["permutations"]
    return cluster_forming_threshold(INFERENCE["cluster_threshold"], n_null)
