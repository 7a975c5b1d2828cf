# searchlight.n_chunks: auto only (an explicit number needs no plan): how many chunks,
# from the process mask's voxels and the samples, computed in Snakemake's own process.
# A checkpoint, so the merge knows its chunks once it has run. The number is a resource,
# not a param, because resources trigger no rerun: another --cores keeps the chunks made
# (docs: Explanation, "Performance").
checkpoint chunk_plan:
    input:
        samples=rules.select_conditions.output.img,
        process_mask=rules.process_mask.output[0],
    output:
        results("sub-{subject}/{contrast}/chunks.txt"),
    log:
        results("logs/sub-{subject}/{contrast}/chunk_plan.log"),
    localrule: True
    conda:
        "../envs/snakelight.yaml"
    resources:
        n_chunks=planned_chunks,
    shell:
        "(echo {resources.n_chunks} > {output}.tmp && mv {output}.tmp {output}) 2> {log}"


rule searchlight_chunk:
    input:
        dataset=results("sub-{subject}/dataset.json"),
        samples=rules.select_conditions.output.img,
        masked_samples=rules.select_conditions.output.masked,
        table=rules.select_conditions.output.table,
        process_mask=rules.process_mask.output[0],
    output:
        results("sub-{subject}/{contrast}/chunks/{chunk}.npz"),
    log:
        results("logs/sub-{subject}/{contrast}/searchlight_chunk_{chunk}.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/searchlight_chunk_{chunk}.tsv")
    conda:
        "../envs/snakelight.yaml"
    threads: SEARCHLIGHT["threads"]
    resources:
        **chunk_resources(),
    params:
        n_chunks=chunk_count,
        radius=SEARCHLIGHT["radius"],
        estimator=SEARCHLIGHT["estimator"],
        cv=SEARCHLIGHT["cv"],
        scoring=SEARCHLIGHT["scoring"],
        confusion=SEARCHLIGHT["confusion"],
        cross=lambda wc: CROSS.get(wc.contrast),
        target=lambda wc: TARGETS.get(wc.contrast),
        engine=SEARCHLIGHT["engine"],
        # searchlight.measure rsa: the rsa settings (the classification keys are then unused).
        rsa=RSA,
    script:
        "../scripts/searchlight_chunk.py"


rule merge:
    input:
        chunks=chunk_files,
        process_mask=rules.process_mask.output[0],
        dataset=results("sub-{subject}/dataset.json"),
        # The samples' runs: the sidecars record the folds that ran.
        table=rules.select_conditions.output.table,
    output:
        # The primary output's maps, then every other output's (maps, per-fold maps, sidecars).
        map=output_map(OUTPUTS[0]),
        folds=output_map(OUTPUTS[0], folds=True),
        sidecars=multiext(results("sub-{subject}/{contrast}/searchlight"), ".json", "_folds.json"),
        other_maps=[output_map(name) for name in OUTPUTS[1:]],
        other_folds=[output_map(name, folds=True) for name in OUTPUTS[1:]],
        other_sidecars=[
            path.replace(".nii.gz", ".json")
            for name in OUTPUTS[1:]
            for path in (output_map(name), output_map(name, True))
        ],
        # searchlight.confusion: the confusion matrices and the recall maps, and their sidecars.
        confusion=CONFUSION_MAPS,
        confusion_sidecars=[path.replace(".nii.gz", ".json") for path in CONFUSION_MAPS],
        # rsa.rdms: each sphere's RDM, and its sidecar.
        rdms=RDMS_MAPS,
        rdms_sidecars=[path.replace(".nii.gz", ".json") for path in RDMS_MAPS],
    log:
        results("logs/sub-{subject}/{contrast}/merge.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/merge.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        config=lambda wc: map_config(wc, "process_mask", "searchlight", *(["rsa"] if RSA else [])),
        outputs=OUTPUTS,
        cross=lambda wc: CROSS.get(wc.contrast),
        target=lambda wc: TARGETS.get(wc.contrast),
        rsa=bool(RSA),
    script:
        "../scripts/merge.py"


# cross_classification.<contrast>.directions: each: every output's mean over each
# direction's folds, from its per-fold maps.
rule directions:
    input:
        folds=[output_map(name, folds=True) for name in OUTPUTS],
        table=rules.select_conditions.output.table,
        dataset=results("sub-{subject}/dataset.json"),
        process_mask=rules.process_mask.output[0],
    output:
        # Output by output, each direction's map.
        maps=[results(f"sub-{{subject}}/{{contrast}}/{path}") for path in DIRECTION_FILES],
        sidecars=[
            results(f"sub-{{subject}}/{{contrast}}/{path}".replace(".nii.gz", ".json")) for path in DIRECTION_FILES
        ],
    log:
        results("logs/sub-{subject}/{contrast}/directions.log"),
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        cross=lambda wc: CROSS[wc.contrast],
        config=lambda wc: map_config(wc, "process_mask", "searchlight"),
        outputs=OUTPUTS,
    script:
        "../scripts/directions.py"
