"""The RSA measure's report figure: the peak sphere's RDM beside each model's (computed by
snakelight.rsa.peak; drawn here with matplotlib alone)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend)


def draw_rdms(peak, path, *, model_label, voxel_to_mm):
    """Save the peak sphere's RDM (``peak``: a snakelight.rsa.peak.PeakRDM) beside the model
    RDMs, each scaled to its own range, to ``path``; the title names the peak in mm
    (``voxel_to_mm``: its affine) and its fit (``model_label``: the map's model)."""
    panels = {"peak sphere": peak.rdm, **peak.models}
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), layout="constrained")
    for ax, (name, matrix) in zip(axes, panels.items()):
        image = ax.imshow(matrix.to_numpy(), cmap="viridis")
        ax.set_title(name)
        ticks = range(len(matrix))
        ax.set_xticks(ticks, matrix.columns, rotation=90, fontsize=7)
        ax.set_yticks(ticks, matrix.index, fontsize=7)
        figure.colorbar(image, ax=ax, shrink=0.7)
    xyz = voxel_to_mm[:3, :3] @ peak.ijk + voxel_to_mm[:3, 3]
    figure.suptitle(
        f"RDM at the {model_label} map's peak ({', '.join(f'{v:.0f}' for v in xyz)} mm), fit {peak.fit:.2f}"
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)
