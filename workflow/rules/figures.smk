rule figures:
    input:
        samples=rules.select_conditions.output.img,
        map=rules.merge.output.map,
        fscores=rules.fscores.output[0],
        process_mask=rules.process_mask.output[0],
    output:
        searchlight=report(
            CONTRAST_DIR + "/searchlight.png",
            caption="../report/searchlight.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "searchlight"},
        ),
        fscores=report(
            CONTRAST_DIR + "/fscores.png",
            caption="../report/fscores.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "F-scores"},
        ),
    params:
        figures=config["figures"],
        radius=SEARCHLIGHT["radius"],
    log:
        LOG_DIR + "/{contrast}/figures.log",
    benchmark:
        BENCHMARK_DIR + "/{contrast}/figures.tsv"
    script:
        "../../scripts/figures.py"
