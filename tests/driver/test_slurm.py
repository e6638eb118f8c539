"""The shipped SLURM scripts on a real one-node SLURM cluster (Debian's slurm-wlm and munge,
daemons started here and stopped at the end): jobs/slurm-array.sbatch as a 3-task array, merged,
and jobs/slurm-mpi.sbatch on 2 tasks, both bitwise identical to a plain mpiexec run.

Needs: slurm-wlm slurmd slurmctld slurm-client munge (.ci/run installs them)."""
import os
import shutil
import signal
import socket
import subprocess
import time

import ripentest as rt

for tool in ("sbatch", "slurmctld", "slurmd", "munged", "sinfo"):
    if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
        rt.check(False, f"{tool} is not installed: apt-get install slurm-wlm slurmd "
                        "slurmctld slurm-client munge")
        rt.finish("test_slurm")

directory = rt.workdir("slurm")
started = []  # (name, pid file or pid) to stop at the end


# How long daemons may take to come up: generous, so that a loaded machine only makes the test
# slower, never failing (a daemon that never comes up still fails it, after this).
STARTUP_SECONDS = 180


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def munge_works():
    try:
        return subprocess.run(["munge", "-n"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=STARTUP_SECONDS).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_munge():
    if munge_works():
        return
    # A munged killed without cleaning up leaves its socket behind; slurmd then blocks for ever
    # waiting on it, so a socket file alone proves nothing. --force takes over a stale socket.
    os.makedirs("/run/munge", exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    os.chmod("/run/munge", 0o711)
    subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--force"], check=True,
                   timeout=STARTUP_SECONDS)
    started.append(("munged", "/run/munge/munged.pid"))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if munge_works():
            return
        time.sleep(0.2)
    raise RuntimeError("munged started but `munge -n` still fails")


def start_daemon(command, log):
    """Start a daemon that forks into the background; on failure, say why from its log."""
    try:
        subprocess.run(command, check=True, timeout=STARTUP_SECONDS)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        tail = ""
        if os.path.exists(log):
            with open(log) as f:
                tail = "".join(f.readlines()[-10:])
        raise RuntimeError(f"{' '.join(command)} did not start ({error}); its log ends:\n{tail}")


def start_slurm():
    state = os.path.join(directory, "slurm")
    os.makedirs(os.path.join(state, "state"))
    os.makedirs(os.path.join(state, "spool"))
    config = os.path.join(state, "slurm.conf")
    ctld, slurmd = free_port(), free_port()
    with open(config, "w") as f:
        f.write(f"""ClusterName=ripentest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation={state}/state
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
SlurmctldPort={ctld}
SlurmdPort={slurmd}
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES State=UP MaxTime=60
""")
    os.environ["SLURM_CONF"] = config
    started.append(("slurmctld", f"{state}/slurmctld.pid"))
    start_daemon(["slurmctld", "-i"], f"{state}/slurmctld.log")
    started.append(("slurmd", f"{state}/slurmd.pid"))
    start_daemon(["slurmd", "-N", "localhost"], f"{state}/slurmd.log")
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                             timeout=STARTUP_SECONDS).stdout.strip()
        if out == "idle":
            return
        time.sleep(0.2)
    raise RuntimeError(f"the SLURM node did not come up: sinfo says {out!r}")


def alive(pid):
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_all():
    """SIGTERM each daemon we started, then SIGKILL what is still there after 30 s (cleaning up:
    no outcome depends on it)."""
    pids = []
    for name, pidfile in reversed(started):
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            pids.append((name, pid))
        except (OSError, ValueError):
            print(f"could not stop {name}")
    deadline = time.monotonic() + 30
    for name, pid in pids:
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            print(f"{name} ignored SIGTERM; killing it")
            os.kill(pid, signal.SIGKILL)


def sbatch(script, args, env, succeed=True):
    command = ["sbatch", "--wait", "--chdir", directory] + args + [script]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, **rt.MPI_ENV, **env))
    rt.check((result.returncode == 0) == succeed,
             f"sbatch {' '.join(args)} {os.path.basename(script)}: exit {result.returncode} "
             f"{result.stderr}")
    return result


try:
    start_munge()
    start_slurm()
    job = rt.write_job(directory, "job.json", rt.quick_job(replicas=3))
    reference = os.path.join(directory, "reference.h5")
    rt.run(["run", job, "--out", reference, "--quiet", "--bootstrap", "200"], ranks=2,
           cwd=directory)
    env = {"JOB": job, "RIPEN": rt.RIPEN}

    sbatch(os.path.join(rt.SOURCE, "jobs", "slurm-array.sbatch"),
           ["--array=0-2", "--time=10", "--output", os.path.join(directory, "array-%a.log")],
           env)
    shards = [os.path.join(directory, f"job.shard-{i}-of-3.h5") for i in range(3)]
    rt.check(all(os.path.exists(s) for s in shards), f"array shards missing: {os.listdir(directory)}")
    merged = os.path.join(directory, "merged.h5")
    rt.run(["merge", merged] + shards, cwd=directory)
    differences = rt.same_results(reference, merged)
    rt.check(not differences, f"SLURM array + merge differs: {differences[:5]}")
    print(f"slurm-array.sbatch (3 tasks) + merge: {'identical' if not differences else 'DIFFERENT'}")

    sbatch(os.path.join(rt.SOURCE, "jobs", "slurm-mpi.sbatch"),
           ["--ntasks=2", "--time=10", "--output", os.path.join(directory, "mpi.log")], env)
    single = os.path.join(directory, "job.h5")
    rt.check(os.path.exists(single), "slurm-mpi.sbatch wrote no result")
    differences = rt.same_results(reference, single) if os.path.exists(single) else ["missing"]
    rt.check(not differences, f"SLURM MPI run differs: {differences[:5]}")
    print(f"slurm-mpi.sbatch (2 tasks): {'identical' if not differences else 'DIFFERENT'}")
    # Requeued or resubmitted: --continue sees the finished file and does nothing.
    sbatch(os.path.join(rt.SOURCE, "jobs", "slurm-mpi.sbatch"),
           ["--ntasks=2", "--time=10", "--output", os.path.join(directory, "mpi2.log")], env)
    with open(os.path.join(directory, "mpi2.log")) as f:
        rt.check("already holds this job's finished result" in f.read(),
                 "resubmission did not notice the finished run")
    # A copied job that keeps the first one's "output": --continue refuses the other job's file
    # (the job fails, saying why) instead of reporting it done.
    copied = rt.write_job(directory, "copied.json", dict(rt.quick_job(seed=6, replicas=3),
                                                         output="job.h5"))
    sbatch(os.path.join(rt.SOURCE, "jobs", "slurm-mpi.sbatch"),
           ["--ntasks=2", "--time=10", "--output", os.path.join(directory, "copied.log")],
           dict(env, JOB=copied), succeed=False)
    with open(os.path.join(directory, "copied.log")) as f:
        log = f.read()
    rt.check("holds the results of another job" in log,
             f"a copied job with the same output was not refused: {log[-400:]}")
finally:
    stop_all()
rt.finish("test_slurm")
