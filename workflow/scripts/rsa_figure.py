import nibabel as nib

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.report.rsa import draw_rdms
from snakelight.rsa.job import noise_residuals, settings
from snakelight.rsa.peak import peak_rdm

to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
manifest = read_json(inputs.dataset)
peak = peak_rdm(
    inputs.map,
    inputs.process_mask,
    manifest["mask"],
    inputs.masked_samples,
    inputs.table,
    params.radius,
    params.rsa["models"],
    settings(params.rsa),
    noise_residuals(manifest.get("residuals"), params.rsa),
)
peak.rdm.to_csv(snakemake.output.rdm, sep="\t")
draw_rdms(peak, snakemake.output.figure, model_label=params.model, voxel_to_mm=nib.load(inputs.map).affine)
