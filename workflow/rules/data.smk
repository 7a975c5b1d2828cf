rule synthetic_mask:
    output:
        mask=results("synthetic/haxby2001/mask.nii.gz"),
        md5sums=results("synthetic/haxby2001/MD5SUMS"),
    log:
        results("logs/synthetic_mask.log"),
    benchmark:
        results("benchmarks/synthetic_mask.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        shape=config["dataset"]["synthetic"]["shape"],
        voxel_size=config["dataset"]["synthetic"]["voxel_size"],
    script:
        "../scripts/synthetic_mask.py"


rule synthetic_subject:
    input:
        mask=rules.synthetic_mask.output.mask,
    output:
        files=expand(results("synthetic/haxby2001/subj{n}/{file}"), file=SUBJECT_FILES, allow_missing=True),
        truth=results("synthetic/haxby2001/subj{n}/truth.nii.gz"),
    log:
        results("logs/synthetic_subj{n}.log"),
    benchmark:
        results("benchmarks/synthetic_subj{n}.tsv")
    wildcard_constraints:
        n=r"[1-9]\d*",
    conda:
        "../envs/snakelight.yaml"
    # Two threads smooth the noise while the main one draws it: about two cores in all
    # (snakelight.data.synthetic.simulate_bold).
    threads: 2
    resources:
        **job_resources(generated_bold_mb),
    params:
        n_runs=config["dataset"]["synthetic"]["n_runs"],
        effect_size=config["dataset"]["synthetic"]["effect_size"],
        seed=config["dataset"]["synthetic"]["seed"],
        jitter_mm=config["dataset"]["synthetic"]["jitter_mm"],
        amplitude_spread=config["dataset"]["synthetic"]["amplitude_spread"],
        carries_effect=lambda wc: carries_effect(int(wc.n)),
        geometry=config["dataset"]["synthetic"]["geometry"],
        rating_effect=config["dataset"]["synthetic"]["rating_effect"],
    script:
        "../scripts/synthetic_subject.py"


rule fetch:
    input:
        generated_files,
    output:
        results("sub-{subject}/dataset.json"),
        # The BOLD image decompressed, as fetch checked it: select_conditions reads this.
        results("sub-{subject}/bold.nii"),
    log:
        results("logs/sub-{subject}/fetch.log"),
    benchmark:
        results("benchmarks/sub-{subject}/fetch.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(fetched_bold_mb),
    params:
        source=DATASET,
        data_dir=results("synthetic") if DATASET == "synthetic" else config["dataset"]["data_dir"],
    script:
        "../scripts/fetch.py"


rule collect_subject:
    input:
        subject_files,
    output:
        manifest=results("sub-{subject}/dataset.json"),
        uncompressed=results("sub-{subject}/bold.nii"),
        data=multiext(results("sub-{subject}/data/"), "bold.nii.gz", "mask.nii.gz", "labels.txt"),
    log:
        results("logs/sub-{subject}/collect_subject.log"),
    benchmark:
        results("benchmarks/sub-{subject}/collect_subject.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(input_images_mb),
    params:
        rows=lambda wc: subject_rows(wc).to_dict("records"),
        events=config["dataset"]["events"],
    script:
        "../scripts/collect_subject.py"


rule select_conditions:
    input:
        results("sub-{subject}/dataset.json"),
        results("sub-{subject}/bold.nii"),
    output:
        img=results("sub-{subject}/{contrast}/samples.nii.gz"),
        table=results("sub-{subject}/{contrast}/samples.tsv"),
        masked=results("sub-{subject}/{contrast}/masked_samples.npy"),
    log:
        results("logs/sub-{subject}/{contrast}/select_conditions.log"),
    benchmark:
        results("benchmarks/sub-{subject}/{contrast}/select_conditions.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(subject_bold_mb),
    params:
        conditions=lambda wc: config["contrasts"][wc.contrast],
        # Only to check the folds before any chunk job: a new cv reruns this step.
        cv=SEARCHLIGHT["cv"],
    script:
        "../scripts/select_conditions.py"


rule process_mask:
    input:
        dataset=results("sub-{subject}/dataset.json"),
        roi=config["process_mask"]["roi"] or [],
    output:
        results("sub-{subject}/process_mask.nii.gz"),
    log:
        results("logs/sub-{subject}/process_mask.log"),
    benchmark:
        results("benchmarks/sub-{subject}/process_mask.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        slices=config["process_mask"]["slices"],
        box=config["process_mask"]["box"],
    script:
        "../scripts/process_mask.py"
