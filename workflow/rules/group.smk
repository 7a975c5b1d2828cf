# Group-level inference over the subjects' maps (README "Group analysis"): one rule per
# method, outputs under results/<analysis>/group/{contrast}/<method>/ (paths and settings:
# common.smk).
rule group_stelzer:
    input:
        maps=each_subject(f"{{contrast}}/{TESTED_MAP}"),
        process_masks=each_subject("process_mask.nii.gz"),
        null_maps=each_subject("{contrast}/searchlight_null.nii.gz"),
    output:
        **group_method_outputs("stelzer"),
    log:
        results("logs/group/{contrast}/stelzer.log"),
    benchmark:
        results("benchmarks/group/{contrast}/stelzer.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(input_images_mb),
    params:
        **group_params("stelzer"),
    script:
        "../scripts/group.py"


use rule group_stelzer as group_prevalence with:
    output:
        **group_method_outputs("prevalence"),
    log:
        results("logs/group/{contrast}/prevalence.log"),
    benchmark:
        results("benchmarks/group/{contrast}/prevalence.tsv")
    params:
        **group_params("prevalence"),


use rule group_stelzer as group_signflip with:
    input:
        maps=each_subject(f"{{contrast}}/{TESTED_MAP}"),
        process_masks=each_subject("process_mask.nii.gz"),
    output:
        **group_method_outputs("signflip"),
    log:
        results("logs/group/{contrast}/signflip.log"),
    benchmark:
        results("benchmarks/group/{contrast}/signflip.tsv")
    params:
        **group_params("signflip"),
