rule fscores:
    input:
        dataset=SUBJECT_DIR + "/dataset.json",
        samples=rules.select_conditions.output.img,
        table=rules.select_conditions.output.table,
    output:
        CONTRAST_DIR + "/fscores.nii.gz",
    log:
        LOG_DIR + "/{contrast}/fscores.log",
    benchmark:
        BENCHMARK_DIR + "/{contrast}/fscores.tsv"
    script:
        "../../scripts/fscores.py"
