# Subject-level permutation inference (docs: How-to, "Add inference to any analysis"): null maps over
# (sphere chunk x permutation block), merged into one 4D image, then voxel, cluster and
# TFCE FWE statistics. Only when inference.permutations > 0.


include: "inference_common.smk"


rule permutations:
    input:
        table=rules.select_conditions.output.table,
    output:
        table=inference_path("out", "permutations.tsv"),
        # How many null maps, and how chosen (enumerated or drawn): what every later stage reads.
        facts=inference_path("out", "permutations.json"),
    log:
        inference_path("log", "permutations.log"),
    benchmark:
        inference_path("benchmark", "permutations.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        **PERMUTATION_SETTINGS,
        first=1,
        n_permutations=INFERENCE["permutations"],
    script:
        "../scripts/permutations.py"


# A block's permutations, which its null-map jobs read: permutations.tsv changes with P,
# this file does not.
rule permutation_block:
    input:
        table=rules.select_conditions.output.table,
    output:
        table=inference_path("out", "permutations/{first}-{last}.tsv"),
    log:
        inference_path("log", "permutations_{first}-{last}.log"),
    benchmark:
        inference_path("benchmark", "permutations_{first}-{last}.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        **PERMUTATION_SETTINGS,
        first=lambda wc: int(wc.first),
        n_permutations=lambda wc: int(wc.last) - int(wc.first) + 1,
    script:
        "../scripts/permutations.py"


rule null_chunk:
    input:
        dataset=results("sub-{subject}/dataset.json"),
        samples=rules.select_conditions.output.img,
        masked_samples=rules.select_conditions.output.masked,
        table=rules.select_conditions.output.table,
        process_mask=rules.process_mask.output[0],
        permutations=rules.permutation_block.output.table,
    output:
        inference_path("out", "null_chunks/{chunk}/{first}-{last}.npz"),
    log:
        inference_path("log", "null_chunk_{chunk}_{first}-{last}.log"),
    benchmark:
        inference_path("benchmark", "null_chunk_{chunk}_{first}-{last}.tsv")
    conda:
        "../envs/snakelight.yaml"
    threads: SEARCHLIGHT["threads"]
    resources:
        **null_chunk_resources(),
    params:
        n_chunks=null_chunk_count,
        radius=SEARCHLIGHT["radius"],
        estimator=SEARCHLIGHT["estimator"],
        cv=SEARCHLIGHT["cv"],
        scoring=TESTED_SCORER,
        cross=lambda wc: CROSS.get(wc.contrast),
        target=lambda wc: TARGETS.get(wc.contrast),
        engine=SEARCHLIGHT["engine"],
        # searchlight.measure rsa: its settings, and the model whose null this is.
        rsa=RSA,
        model=TESTED,
    script:
        "../scripts/null_chunk.py"


rule merge_null:
    input:
        chunks=null_chunk_files,
        process_mask=rules.process_mask.output[0],
        dataset=results("sub-{subject}/dataset.json"),
        permutations=rules.permutations.output.table,
        null_maps=rules.permutations.output.facts,
    output:
        null=inference_path("out", "searchlight_null.nii.gz"),
        sidecar=inference_path("out", "searchlight_null.json"),
    log:
        inference_path("log", "merge_null.log"),
    benchmark:
        inference_path("benchmark", "merge_null.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **null_maps_resources(INFERENCE["permutations_per_job"]),
    params:
        n_chunks=null_chunk_count,
        config=lambda wc: inference_config(wc, "permutations", "permute", "seed", "output"),
    script:
        "../scripts/merge_null.py"


rule inference_statistics:
    input:
        map=output_map(TESTED),
        null=rules.merge_null.output.null,
        process_mask=rules.process_mask.output[0],
        dataset=results("sub-{subject}/dataset.json"),
        permutations=rules.permutations.output.table,
        null_maps=rules.permutations.output.facts,
    output:
        logp=inference_path("out", "searchlight_logp.nii.gz"),
        logp_fwe=inference_path("out", "searchlight_logp_fwe.nii.gz"),
        tfce=inference_path("out", "searchlight_tfce.nii.gz"),
        tfce_logp_fwe=inference_path("out", "searchlight_tfce_logp_fwe.nii.gz"),
        clusters_img=inference_path("out", "clusters_fwe.nii.gz"),
        clusters_tsv=inference_path("out", "clusters_fwe.tsv"),
        null_maxima=inference_path("out", "null_maxima.tsv"),
        sidecars=[
            inference_path("out", f"{name}.json")
            for name in (
                "searchlight_logp",
                "searchlight_logp_fwe",
                "searchlight_tfce",
                "searchlight_tfce_logp_fwe",
                "clusters_fwe",
            )
        ],
    log:
        inference_path("log", "inference_statistics.log"),
    benchmark:
        inference_path("benchmark", "inference_statistics.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        # The null maps as float32, their copy with the observed map, ranks of a batch.
        **null_maps_resources(INFERENCE["permutations"] + 1, copies=2, tfce=True),
    params:
        chance=tested_chance,
        cluster_threshold=INFERENCE["cluster_threshold"],
        connectivity=INFERENCE["connectivity"],
        config=lambda wc: inference_config(
            wc, "permutations", "permute", "seed", "output", "cluster_threshold", "connectivity"
        ),
    script:
        "../scripts/inference_statistics.py"


rule inference_figures:
    input:
        samples=rules.select_conditions.output.img,
        score_map=output_map(TESTED),
        process_mask=rules.process_mask.output[0],
        logp_fwe=rules.inference_statistics.output.logp_fwe,
        tfce=rules.inference_statistics.output.tfce,
        tfce_logp_fwe=rules.inference_statistics.output.tfce_logp_fwe,
        clusters_img=rules.inference_statistics.output.clusters_img,
        clusters_tsv=rules.inference_statistics.output.clusters_tsv,
        null_maxima=rules.inference_statistics.output.null_maxima,
        null_maps=rules.permutations.output.facts,
    output:
        fwe=report(
            inference_path("out", "searchlight_fwe.png"),
            caption="../report/searchlight_fwe.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "FWE map"},
        ),
        null_maxima=report(
            inference_path("out", "null_maxima.png"),
            caption="../report/null_maxima.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "null maxima"},
        ),
        clusters_html=report(
            inference_path("out", "clusters_fwe.html"),
            caption="../report/clusters_fwe.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "FWE clusters"},
        ),
    log:
        inference_path("log", "inference_figures.log"),
    benchmark:
        inference_path("benchmark", "inference_figures.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(samples_mb),
    params:
        alpha=INFERENCE["alpha"],
        # The subject's own count and how its null maps were chosen (enumerated or drawn).
        null_maps=null_maps_caption,
        cluster_threshold=cluster_forming_caption,
        permuted=PERMUTED[INFERENCE["permute"]],
        cut_coords=config["figures"]["cut_coords"],
    script:
        "../scripts/inference_figures.py"
