rule fscores:
    input:
        dataset="results/{dataset}/sub-{subject}/dataset.json",
        samples=rules.select_conditions.output.img,
        table=rules.select_conditions.output.table,
    output:
        "results/{dataset}/sub-{subject}/{contrast}/fscores.nii.gz",
        "results/{dataset}/sub-{subject}/{contrast}/fscores.json",
    log:
        "results/{dataset}/logs/sub-{subject}/{contrast}/fscores.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/{contrast}/fscores.tsv"
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(samples_mb),
    params:
        config=lambda wc: map_config(wc),
    script:
        "../scripts/fscores.py"
