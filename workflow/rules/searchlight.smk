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
        n_chunks=SEARCHLIGHT["n_chunks"],
        radius=SEARCHLIGHT["radius"],
        estimator=SEARCHLIGHT["estimator"],
        cv=SEARCHLIGHT["cv"],
        scoring=SEARCHLIGHT["scoring"],
        engine=SEARCHLIGHT["engine"],
    script:
        "../scripts/searchlight_chunk.py"


rule merge:
    input:
        chunks=expand(
            results("sub-{subject}/{contrast}/chunks/{chunk}.npz"),
            chunk=range(SEARCHLIGHT["n_chunks"]),
            allow_missing=True,
        ),
        process_mask=rules.process_mask.output[0],
        dataset=results("sub-{subject}/dataset.json"),
    output:
        map=results("sub-{subject}/{contrast}/searchlight.nii.gz"),
        folds=results("sub-{subject}/{contrast}/searchlight_folds.nii.gz"),
        sidecars=multiext(results("sub-{subject}/{contrast}/searchlight"), ".json", "_folds.json"),
    log:
        results("logs/sub-{subject}/{contrast}/merge.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/merge.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        config=lambda wc: map_config(wc, "process_mask", "searchlight"),
    script:
        "../scripts/merge.py"
