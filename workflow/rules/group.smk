# Group-level inference over the subjects' maps (README "Group analysis"): one rule per
# method, outputs under results/<analysis>/group/{contrast}/<method>/.
from snakelight.inference.group import check_group_settings, method_maps
from snakelight.io import InputError

GROUP = config["group"]
GROUP_SUBJECTS = [f"{s:02d}" for s in config["subjects"]]
# Issue 15's inference.permutations, where the schema has it: each subject's null maps.
NULL_MAPS_PER_SUBJECT = config.get("inference", {}).get("permutations")


def group_dir(method):
    """Where a group method writes; the one place that names the group stage's paths."""
    return results(f"group/{{contrast}}/{method}")


def each_subject(name):
    """Input function: ``name`` (under results/<analysis>/sub-<NN>/, may hold {contrast})
    of every subject: the one place that names the group stage's inputs."""
    return lambda wildcards: expand(
        results(f"sub-{{subject}}/{name}"),
        subject=GROUP_SUBJECTS,
        contrast=wildcards.contrast,
    )


def group_outputs():
    """Every group method's figure and cluster table, for rule all."""
    return expand(
        results("group/{contrast}/{method}/{output}"),
        contrast=list(config["contrasts"]),
        method=GROUP["methods"],
        output=["group.png", "clusters.tsv", "clusters.html"],
    )


def group_method_outputs(method):
    """A method's outputs: its maps, cluster table, figure and report page."""
    folder = group_dir(method)
    labels = {"contrast": "{contrast}", "subject": "group", "figure": method}
    return {
        "maps": expand(f"{folder}/{{map}}.nii.gz", map=method_maps(method, GROUP), allow_missing=True),
        "clusters": f"{folder}/clusters.tsv",
        "figure": report(
            f"{folder}/group.png",
            caption=f"../report/group_{method}.rst",
            category="{contrast}",
            subcategory="group",
            labels=labels,
        ),
        "page": report(
            f"{folder}/clusters.html",
            caption="../report/group_clusters.rst",
            category="{contrast}",
            subcategory="group",
            labels={**labels, "figure": f"{method} clusters"},
        ),
    }


def check_group():
    """The group settings, checked at parse time (snakelight.inference.group)."""
    for method in GROUP["methods"]:
        if method == "signflip" and chance_level(SEARCHLIGHT["scoring"], 2) is None:
            raise InputError(
                f"group.methods: signflip tests score - chance; scorer {SEARCHLIGHT['scoring']!r} has none"
            )
        if method != "signflip" and NULL_MAPS_PER_SUBJECT == 0:
            raise InputError(f"group.methods: {method} needs each subject's null maps; set inference.permutations")
    first_level = None if NULL_MAPS_PER_SUBJECT is None else NULL_MAPS_PER_SUBJECT + 1
    sections = {key: GROUP[key] for key in ("alpha", "min_subjects", *GROUP["methods"])}
    check_group_settings(sections, len(GROUP_SUBJECTS), first_level)


if GROUP["methods"]:
    try:
        check_group()
    except InputError as error:
        raise WorkflowError(f"config key {error}") from None


def method_settings(method):
    """The group settings one method depends on."""
    return {key: GROUP[key] for key in ("alpha", "min_subjects", "seed", method)}


def group_params(method):
    return {
        "method": method,
        "subjects": [f"sub-{s}" for s in GROUP_SUBJECTS],
        # Only the method's own settings: choosing another method reruns none of the others.
        "settings": method_settings(method),
        "chance": chance,
        "cut_coords": config["figures"]["cut_coords"],
        "config": lambda wc: {
            "dataset": config["dataset"],
            "subjects": config["subjects"],
            "contrast": {wc.contrast: config["contrasts"][wc.contrast]},
            "searchlight": SEARCHLIGHT,
            "group": method_settings(method),
        },
    }


rule group_stelzer:
    input:
        maps=each_subject("{contrast}/searchlight.nii.gz"),
        process_masks=each_subject("process_mask.nii.gz"),
        null_maps=each_subject("{contrast}/searchlight_null.nii.gz"),
    output:
        **group_method_outputs("stelzer"),
    log:
        results("logs/group/{contrast}/stelzer.log"),
    benchmark:
        results("benchmarks/group/{contrast}/stelzer.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(input_images_mb),
    params:
        **group_params("stelzer"),
    script:
        "../scripts/group.py"


use rule group_stelzer as group_prevalence with:
    output:
        **group_method_outputs("prevalence"),
    log:
        results("logs/group/{contrast}/prevalence.log"),
    benchmark:
        results("benchmarks/group/{contrast}/prevalence.tsv")
    params:
        **group_params("prevalence"),


use rule group_stelzer as group_signflip with:
    input:
        maps=each_subject("{contrast}/searchlight.nii.gz"),
        process_masks=each_subject("process_mask.nii.gz"),
    output:
        **group_method_outputs("signflip"),
    log:
        results("logs/group/{contrast}/signflip.log"),
    benchmark:
        results("benchmarks/group/{contrast}/signflip.tsv")
    params:
        **group_params("signflip"),
