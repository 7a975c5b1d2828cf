"""A one-node SLURM cluster on this machine, from Debian's packages (munge, slurmctld,
slurmd, slurm-client), for the cluster tests.

Its daemons run in the foreground as children of the test process, so they are
stopped by PID. Everything they write goes to a temporary folder, except the
configuration: srun inside a job reads only /etc/slurm/slurm.conf, because the SLURM
executor plugin's job step drops SLURM_CONF from srun's environment. That file is
written with a marker line and removed on stop; a configuration without the marker
belongs to a real cluster, which is left alone. One test cluster runs at a time: a
second waits for the first to stop (a lock file, released even if its process dies).
"""

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
LOCK = Path(tempfile.gettempdir()) / "snakelight-slurm.lock"
MARKER = "# A test cluster of snakelight (tests/local_slurm.py); removed when it stops."
BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
PARTITION = "debug"
# Without accounting (no slurmdbd) any account name is accepted.
ACCOUNT = "snakelight"


def unavailable():
    """Why a test cluster cannot start here, or None."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} not found); "
            "apt-get install munge slurmctld slurmd slurm-client (.ci/run does)"
        )
    if os.geteuid() != 0:
        return "starting munged and slurmd needs root"
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        return f"{SLURM_CONF} exists: this machine has a SLURM cluster of its own"
    return None


def _client(*command, timeout=30):
    """A SLURM client command's output; empty if it fails or hangs."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout.strip()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    """``start()`` brings up munged, slurmctld and slurmd with one partition holding
    this machine; ``stop()`` cancels every job and stops the daemons it started."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="snakelight-slurm-"))
        self.daemons = {}
        self.lock = open(LOCK, "w")

    def start(self, timeout=30):
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.dir.chmod(0o755)  # munged runs as the munge user and needs to reach its folder
        munge = self.dir / "munge"
        munge.mkdir(mode=0o755)
        shutil.chown(munge, "munge", "munge")
        as_munge = {"user": "munge", "group": "munge", "extra_groups": []}
        subprocess.run(["mungekey", "--create", f"--keyfile={munge}/munge.key"], check=True, timeout=30, **as_munge)
        self._daemon(
            "munged",
            [
                "munged",
                "--foreground",
                f"--key-file={munge}/munge.key",
                f"--socket={munge}/socket",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={munge}/munged.log",
                f"--seed-file={munge}/munged.seed",
            ],
            **as_munge,
        )
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(self._config(munge / "socket"))
        self._daemon("slurmctld", ["slurmctld", "-D", "-i"])
        self._daemon("slurmd", ["slurmd", "-D"])
        deadline = time.monotonic() + timeout
        while _client("sinfo", "--noheader", "--format=%T") != "idle":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test cluster's node is not idle after {timeout} s:\n{self.logs()}")
            time.sleep(0.5)

    def stop(self):
        try:
            if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
                self._cancel_jobs()
        finally:
            self._stop_daemons()

    def _cancel_jobs(self, timeout=30):
        """Cancel every job, and wait until they are gone (their processes belong to
        slurmd's job steps, which outlive slurmd)."""
        _client("scancel", f"--partition={PARTITION}")
        deadline = time.monotonic() + timeout
        while _client("squeue", "--noheader") and time.monotonic() < deadline:
            time.sleep(0.5)

    def _stop_daemons(self):
        for daemon in reversed(self.daemons.values()):
            daemon.terminate()
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        if SLURM_CONF.exists() and MARKER in SLURM_CONF.read_text():
            SLURM_CONF.unlink()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.lock.close()

    def logs(self):
        """The daemons' output, for an error message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in sorted(self.dir.glob("*.out"))
        )

    def _daemon(self, name, command, **user):
        with open(self.dir / f"{name}.out", "w") as out:
            self.daemons[name] = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **user
            )

    def _config(self, munge_socket):
        # The node as slurmd sees it: its name, CPUs, sockets, cores and memory.
        hardware = subprocess.run(
            ["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.splitlines()[0]
        host = hardware.split()[0].removeprefix("NodeName=")
        return f"""{MARKER}
ClusterName=snakelight-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={self.dir}/state
SlurmdSpoolDir={self.dir}/spool
SlurmctldPidFile={self.dir}/slurmctld.pid
SlurmdPidFile={self.dir}/slurmd.pid
SlurmctldLogFile={self.dir}/slurmctld.log
SlurmdLogFile={self.dir}/slurmd.log
# No cgroups in a container: track processes by parent ID and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# No slurmdbd: sacct is disabled, so job states come from squeue, which keeps finished
# jobs for MinJobAge seconds (the SLURM plugin wants at least 3 status intervals).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
ReturnToService=2
{hardware} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
