rule searchlight_chunk:
    input:
        dataset=SUBJECT_DIR + "/dataset.json",
        samples=rules.select_conditions.output.img,
        table=rules.select_conditions.output.table,
        process_mask=rules.process_mask.output[0],
    output:
        CONTRAST_DIR + "/chunks/{chunk}.npz",
    params:
        n_chunks=SEARCHLIGHT["n_chunks"],
        radius=SEARCHLIGHT["radius"],
        estimator=SEARCHLIGHT["estimator"],
        cv=SEARCHLIGHT["cv"],
        scoring=SEARCHLIGHT["scoring"],
    log:
        LOG_DIR + "/{contrast}/searchlight_chunk_{chunk}.log",
    benchmark:
        BENCHMARK_DIR + "/{contrast}/searchlight_chunk_{chunk}.tsv"
    script:
        "../../scripts/searchlight_chunk.py"


rule merge:
    input:
        chunks=expand(CONTRAST_DIR + "/chunks/{chunk}.npz", chunk=range(SEARCHLIGHT["n_chunks"]), allow_missing=True),
        process_mask=rules.process_mask.output[0],
    output:
        map=CONTRAST_DIR + "/searchlight.nii.gz",
        folds=CONTRAST_DIR + "/searchlight_folds.nii.gz",
    log:
        LOG_DIR + "/{contrast}/merge.log",
    benchmark:
        BENCHMARK_DIR + "/{contrast}/merge.tsv"
    script:
        "../../scripts/merge.py"
