SYNTHETIC_DIR = "results/synthetic/haxby2001"
# Files fetch_haxby looks for in each subject's folder.
HAXBY_SUBJECT_FILES = [
    "bold.nii.gz",
    "labels.txt",
    "mask4_vt.nii.gz",
    "mask8b_face_vt.nii.gz",
    "mask8b_house_vt.nii.gz",
    "mask8_face_vt.nii.gz",
    "mask8_house_vt.nii.gz",
    "anat.nii.gz",
]


rule synthetic_mask:
    output:
        mask=f"{SYNTHETIC_DIR}/mask.nii.gz",
        md5sums=f"{SYNTHETIC_DIR}/MD5SUMS",
    params:
        shape=config["dataset"]["synthetic"]["shape"],
        voxel_size=config["dataset"]["synthetic"]["voxel_size"],
    log:
        "results/synthetic/logs/synthetic_mask.log",
    benchmark:
        "results/synthetic/benchmarks/synthetic_mask.tsv"
    script:
        "../../scripts/synthetic_mask.py"


rule synthetic_subject:
    input:
        mask=rules.synthetic_mask.output.mask,
    output:
        files=expand(f"{SYNTHETIC_DIR}/subj{{n}}/{{file}}", file=HAXBY_SUBJECT_FILES, allow_missing=True),
        truth=f"{SYNTHETIC_DIR}/subj{{n}}/truth.nii.gz",
    params:
        n_runs=config["dataset"]["synthetic"]["n_runs"],
        effect_size=config["dataset"]["synthetic"]["effect_size"],
        seed=config["dataset"]["synthetic"]["seed"],
    wildcard_constraints:
        n=r"[1-9]\d*",
    log:
        "results/synthetic/logs/synthetic_subj{n}.log",
    benchmark:
        "results/synthetic/benchmarks/synthetic_subj{n}.tsv"
    script:
        "../../scripts/synthetic_subject.py"


def generated_files(wildcards):
    """The synthetic source's files for fetch_haxby to find; real data has none."""
    if wildcards.dataset != "synthetic":
        return []
    return expand(f"{SYNTHETIC_DIR}/subj{{n}}/{{file}}", n=int(wildcards.subject), file=HAXBY_SUBJECT_FILES)


rule fetch:
    input:
        generated_files,
    output:
        SUBJECT_DIR + "/dataset.json",
    params:
        data_dir=lambda wc: "results/synthetic" if wc.dataset == "synthetic" else config["dataset"]["data_dir"],
    log:
        LOG_DIR + "/fetch.log",
    benchmark:
        BENCHMARK_DIR + "/fetch.tsv"
    script:
        "../../scripts/fetch.py"


rule select_conditions:
    input:
        SUBJECT_DIR + "/dataset.json",
    output:
        img=CONTRAST_DIR + "/samples.nii.gz",
        table=CONTRAST_DIR + "/samples.tsv",
    params:
        conditions=lambda wc: config["contrasts"][wc.contrast],
    log:
        LOG_DIR + "/{contrast}/select_conditions.log",
    benchmark:
        BENCHMARK_DIR + "/{contrast}/select_conditions.tsv"
    script:
        "../../scripts/select_conditions.py"


rule process_mask:
    input:
        dataset=SUBJECT_DIR + "/dataset.json",
        roi=config["process_mask"]["roi"] or [],
    output:
        SUBJECT_DIR + "/process_mask.nii.gz",
    params:
        slices=config["process_mask"]["slices"],
        box=config["process_mask"]["box"],
    log:
        LOG_DIR + "/process_mask.log",
    benchmark:
        BENCHMARK_DIR + "/process_mask.tsv"
    script:
        "../../scripts/process_mask.py"
