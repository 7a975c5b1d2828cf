"""Dataset fetching: every source ends as one ``dataset.json`` per subject."""

from pathlib import Path

from snakelight.data.checks import check_subject
from snakelight.data.haxby_design import SUBJECT_FILES, SUBJECTS, T_R
from snakelight.io import InputError, one_line, uncompressed_bold, write_manifest


def fetch_subject(subject, manifest_path, *, source, data_dir=None):
    """Fetch one Haxby subject with nilearn (downloading only what is missing) and
    write its manifest.

    ``data_dir=None`` keeps nilearn's default (NILEARN_DATA, else ~/nilearn_data), so
    data fetched before by nilearn is reused. The synthetic source passes the folder
    it generated, which is laid out as fetch_haxby expects: the same reader serves
    both (when every file is already in ``data_dir``, :func:`local_files` names them
    as fetch_haxby would, without importing nilearn). fetch_haxby only checks that
    the files exist, so they are then read in full and
    checked against each other (:func:`snakelight.data.checks.check_subject`): a damaged
    file stops the run here, with a message that says how to fetch it again. The BOLD
    image, decompressed, goes to ``bold.nii`` beside the manifest.
    """
    files = local_files(subject, data_dir) or _fetch_haxby(subject, data_dir)
    uncompressed = uncompressed_bold(manifest_path)
    check_subject(files["bold"], files["mask"], files["labels"], uncompressed)
    return write_manifest(manifest_path, source=source, subject=subject, t_r=T_R, uncompressed=uncompressed, **files)


def local_files(subject, data_dir):
    """The subject's bold, mask and labels paths as fetch_haxby would return them, when
    ``data_dir`` is given and holds every file fetch_haxby looks for (it would then
    download nothing and return these); else None. This saves importing nilearn's
    fetchers (about 3 s of a 6 s step)."""
    if data_dir is None or subject not in SUBJECTS:  # nilearn's search path, or its error
        return None
    haxby_dir = Path(data_dir) / "haxby2001"
    subject_dir = haxby_dir / f"subj{subject}"
    needed = [haxby_dir / "mask.nii.gz", haxby_dir / "MD5SUMS", *(subject_dir / name for name in SUBJECT_FILES)]
    if not all(path.is_file() for path in needed):
        return None
    return {
        "bold": subject_dir / "bold.nii.gz",
        "mask": haxby_dir / "mask.nii.gz",
        "labels": subject_dir / "labels.txt",
    }


def _fetch_haxby(subject, data_dir):
    import requests
    from nilearn.datasets import fetch_haxby, get_data_dirs

    try:
        bunch = fetch_haxby(data_dir=data_dir, subjects=[subject], fetch_stimuli=False, verbose=1)
    except requests.RequestException as error:
        raise InputError(
            f"{get_data_dirs(data_dir)[0]}/haxby2001: Haxby subject {subject} is not there and downloading it "
            f"failed ({one_line(error)[:200]}); connect to the network, or set dataset.data_dir to a folder "
            "holding haxby2001/ as nilearn's fetch_haxby lays it out"
        ) from None
    return {"bold": bunch.func[0], "mask": bunch.mask, "labels": bunch.session_target[0]}
