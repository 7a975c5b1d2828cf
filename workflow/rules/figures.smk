rule figures:
    input:
        samples=rules.select_conditions.output.img,
        map=rules.merge.output.map,
        fscores=rules.fscores.output[0],
        process_mask=rules.process_mask.output[0],
    output:
        searchlight=report(
            results("sub-{subject}/{contrast}/searchlight.png"),
            caption="../report/searchlight.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "searchlight"},
        ),
        fscores=report(
            results("sub-{subject}/{contrast}/fscores.png"),
            caption="../report/fscores.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "F-scores"},
        ),
    log:
        results("logs/sub-{subject}/{contrast}/figures.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/figures.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(samples_mb),
    params:
        cut_coords=config["figures"]["cut_coords"],
        vmin=config["figures"]["searchlight_vmin"],
        threshold=config["figures"]["searchlight_threshold"],
        chance=chance,
        # rsa: the title names the model and its fit (chance, a fit of 0, says little there).
        title=f"RSA, model {OUTPUTS[0]}, {RSA['evaluation']} fit" if RSA else None,
        # For the caption only: the figure shows the primary output.
        scoring=OUTPUTS[0],
        engine=resolve_engine(SEARCHLIGHT["engine"], SEARCHLIGHT["estimator"]),
    script:
        "../scripts/figures.py"


rule summary:
    input:
        map=rules.merge.output.map,
        process_mask=rules.process_mask.output[0],
        # searchlight.confusion: the confusion matrices (their sidecar names the conditions).
        confusion=CONFUSION_MAPS[:1],
    output:
        histogram=report(
            results("sub-{subject}/{contrast}/score_histogram.png"),
            caption="../report/histogram.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "score histogram"},
        ),
        clusters=results("sub-{subject}/{contrast}/clusters.tsv"),
        clusters_html=report(
            results("sub-{subject}/{contrast}/clusters.html"),
            caption="../report/clusters.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "clusters"},
        ),
    log:
        results("logs/sub-{subject}/{contrast}/summary.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/summary.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        chance=chance,
        cluster_above_chance=config["figures"]["cluster_above_chance"],
        cluster_min_voxels=config["figures"]["cluster_min_voxels"],
    script:
        "../scripts/summary.py"
