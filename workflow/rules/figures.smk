rule figures:
    input:
        samples=rules.select_conditions.output.img,
        map=rules.merge.output.map,
        fscores=rules.fscores.output[0],
        process_mask=rules.process_mask.output[0],
    output:
        searchlight=report(
            "results/{dataset}/sub-{subject}/{contrast}/searchlight.png",
            caption="../report/searchlight.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "searchlight"},
        ),
        fscores=report(
            "results/{dataset}/sub-{subject}/{contrast}/fscores.png",
            caption="../report/fscores.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "F-scores"},
        ),
    params:
        figures=config["figures"],
    resources:
        **job_resources(samples_mb),
    log:
        "results/{dataset}/logs/sub-{subject}/{contrast}/figures.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/{contrast}/figures.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../../scripts/figures.py"
