rule fscores:
    input:
        dataset=results("sub-{subject}/dataset.json"),
        masked_samples=rules.select_conditions.output.masked,
        table=rules.select_conditions.output.table,
        # Not read by the job: samples_mb sizes its resources from this image's header.
        samples=rules.select_conditions.output.img,
    output:
        results("sub-{subject}/{contrast}/fscores.nii.gz"),
        results("sub-{subject}/{contrast}/fscores.json"),
    log:
        results("logs/sub-{subject}/{contrast}/fscores.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/fscores.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(samples_mb),
    params:
        config=lambda wc: map_config(wc),
    script:
        "../scripts/fscores.py"
