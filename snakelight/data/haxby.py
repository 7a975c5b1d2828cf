"""Dataset fetching: every source ends as one ``dataset.json`` per subject."""

import requests
from nilearn.datasets import fetch_haxby, get_data_dirs

from snakelight.data.checks import check_subject
from snakelight.data.haxby_design import T_R
from snakelight.io import InputError, one_line, write_manifest


def fetch_subject(subject, manifest_path, *, source, data_dir=None):
    """Fetch one Haxby subject with nilearn (downloading only what is missing) and
    write its manifest.

    ``data_dir=None`` keeps nilearn's default (NILEARN_DATA, else ~/nilearn_data), so
    data fetched before by nilearn is reused. The synthetic source passes the folder
    it generated, which is laid out as fetch_haxby expects: the same reader serves both.
    fetch_haxby only checks that the files exist, so they are then read in full and
    checked against each other (:func:`snakelight.data.checks.check_subject`): a damaged
    file stops the run here, with a message that says how to fetch it again.
    """
    try:
        bunch = fetch_haxby(data_dir=data_dir, subjects=[subject], fetch_stimuli=False, verbose=1)
    except requests.RequestException as error:
        raise InputError(
            f"{get_data_dirs(data_dir)[0]}/haxby2001: Haxby subject {subject} is not there and downloading it "
            f"failed ({one_line(error)[:200]}); connect to the network, or set dataset.data_dir to a folder "
            "holding haxby2001/ as nilearn's fetch_haxby lays it out"
        ) from None
    check_subject(bunch.func[0], bunch.mask, bunch.session_target[0])
    return write_manifest(
        manifest_path,
        source=source,
        subject=subject,
        t_r=T_R,
        bold=bunch.func[0],
        mask=bunch.mask,
        labels=bunch.session_target[0],
    )
