# searchlight.measure rsa: the RDM of the first model's peak sphere beside the models'.
rule rsa_figure:
    input:
        map=output_map(OUTPUTS[0]),
        process_mask=rules.process_mask.output[0],
        dataset=results("sub-{subject}/dataset.json"),
        masked_samples=rules.select_conditions.output.masked,
        table=rules.select_conditions.output.table,
    output:
        rdm=results("sub-{subject}/{contrast}/rsa_peak.tsv"),
        figure=report(
            results("sub-{subject}/{contrast}/rsa_rdms.png"),
            caption="../report/rsa_rdms.rst",
            category="{contrast}",
            subcategory="sub-{subject}",
            labels={"subject": "{subject}", "contrast": "{contrast}", "figure": "peak RDM"},
        ),
    log:
        results("logs/sub-{subject}/{contrast}/rsa_figure.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/rsa_figure.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        radius=SEARCHLIGHT["radius"],
        rsa=RSA,
        model=OUTPUTS[0],
    script:
        "../scripts/rsa_figure.py"
