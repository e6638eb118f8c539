"""What a newcomer and a careful user hit, beyond the bad-input corpus:

  - `ripen COMMAND --help` prints one usage block with every option and exits 0, for every
    command;
  - out of memory inside a task exits with status 3 and says so (README: exit statuses);
  - `ripen analyze` under `mpirun -np 2` analyses the file once (rank 0), not once per rank;
  - a journal directory without a job record (a run killed while creating it) does not block a
    plain run; a checkpoint that fails its checksum is dropped with a warning and its task
    restarts, and the result equals an uninterrupted run's;
  - a step limit of 10^8 with a sample every step writes a file sized by what the replicas
    sampled (they double after ~10^3 steps), not by the limit.
"""
import glob
import os
import re
import resource
import shutil
import signal
import subprocess
import time

import h5py

import ripentest as rt

directory = rt.workdir("cli")

# --help: every command, one usage block, exit 0.
for command in ("run", "check", "merge", "analyze", "bench"):
    result = rt.run([command, "--help"], cwd=directory, check_ok=False)
    rt.check(result.returncode == 0, f"{command} --help: exit {result.returncode}")
    rt.check(result.stdout.count("usage:") == 1 and not result.stderr.strip(),
             f"{command} --help: {result.stdout.count('usage:')} usage blocks, stderr "
             f"{result.stderr.strip()[:200]!r}")
    # Help texts print what they mean: no printf directive left in them ("%%" once was).
    leftover = re.findall(r"%%|%[-0-9.]*(?:ll)?[sdfgcu]\b", result.stdout)
    rt.check(not leftover, f"{command} --help prints format directives: {leftover}")
run_help = rt.run(["run", "--help"], cwd=directory).stdout
for option in ("--resume", "--continue", "--force", "--shard", "--out", "--checkpoint-seconds",
               "--progress-seconds", "--bootstrap", "--quiet", "--keep-journal", "--no-shard"):
    rt.check(option in run_help, f"run --help does not mention {option}")

# Out of memory inside a task: the job parses (a byte per site), the task's neighbour table
# (32 bytes per site, 4 GiB here) does not fit under a 3 GiB address-space limit.
huge = rt.write_job(directory, "huge.json", {
    "seed": 1, "lattice": {"lx": 4096, "ly": 4096, "lz": 8}, "initial": {"core_sites": 27},
    "ensembles": [{"name": "a", "replicas": 1, "max_steps": 2, "sample_interval": 1}]})


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


if os.environ.get("ASAN_OPTIONS") is None and "LSAN_OPTIONS" not in os.environ:
    result = subprocess.run([rt.RIPEN, "run", huge, "--out", "huge.h5", "--quiet"], cwd=directory,
                            env=rt.environment(), capture_output=True, text=True, timeout=600,
                            preexec_fn=limit_memory)
    rt.check(result.returncode == 3 and "out of memory" in result.stderr,
             f"out of memory in a task: exit {result.returncode}, {result.stderr.strip()[:200]}")
    print(f"out of memory in a task: exit {result.returncode}: {result.stderr.strip()}")
else:
    print("out of memory in a task: not run under AddressSanitizer, which reserves terabytes of "
          "address space (the Release build runs it)")

# analyze under mpirun: rank 0 alone rewrites the file.
job = rt.write_job(directory, "job.json", rt.quick_job(replicas=2))
out = os.path.join(directory, "out.h5")
rt.run(["run", job, "--out", out, "--quiet", "--bootstrap", "20"], ranks=2, cwd=directory)
result = rt.run(["analyze", out, "--bootstrap", "20"], ranks=2, cwd=directory, check_ok=False)
rt.check(result.returncode == 0, f"analyze under mpirun -np 2: exit {result.returncode}")
rt.check(result.stdout.count("free-fq: mu_core*") == 1,
         f"analyze under mpirun -np 2 printed its results "
         f"{result.stdout.count('free-fq: mu_core*')} times")
rt.check(not glob.glob(out + ".partial"), "analyze left a partial file")

# An empty journal directory: a plain run takes it over.
empty = os.path.join(directory, "empty.h5")
os.mkdir(empty + ".journal")
result = rt.run(["run", job, "--out", empty, "--quiet", "--bootstrap", "20"], cwd=directory,
                check_ok=False)
rt.check(result.returncode == 0 and os.path.exists(empty),
         f"a run over an empty journal directory: exit {result.returncode}, "
         f"{result.stderr.strip()[:200]}")

# A corrupt checkpoint: dropped with a warning, the task restarts, the result is unchanged. The
# checkpoint is the one SIGTERM makes while task 0 runs (held there by RIPEN_TEST_HOLD).
long = rt.quick_job(seed=4, replicas=2, steps=40000, windows=False)
for e in long["ensembles"]:
    e["stop_at_doubling"] = False
    e["sample_interval"] = 100
long = rt.write_job(directory, "long.json", long)
reference = os.path.join(directory, "reference.h5")
rt.run(["run", long, "--out", reference, "--quiet"], ranks=2, cwd=directory)
interrupted = os.path.join(directory, "interrupted.h5")
process, lines, stdout = rt.start_held(["run", long, "--out", interrupted, "--checkpoint-seconds",
                                        "1000"], "task 0", directory, ranks=2)
process.send_signal(signal.SIGTERM)
stderr = rt.finish_held(process, lines, stdout).stderr
checkpoints = sorted(glob.glob(interrupted + ".journal/task-*.ckpt"))
rt.check(checkpoints, "SIGTERM left no checkpoint to corrupt")
rt.check(f"--out {interrupted}" in stderr, f"the SIGTERM message does not name the output: "
         f"{stderr.strip()[-300:]}")
if checkpoints:
    with open(checkpoints[0], "r+b") as f:
        f.seek(60)
        byte = f.read(1)
        f.seek(60)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = rt.run(["run", long, "--out", interrupted, "--resume"], ranks=2, cwd=directory)
    warning = re.search(r"warning: .*checksum mismatch.*dropped and task \d+ restarts",
                        result.stderr)
    rt.check(warning is not None, f"no warning for the corrupt checkpoint: "
             f"{result.stderr.strip()[:300]}")
    rt.check(re.search(r"tasks 4/4 done", result.stdout) is not None,
             "the resumed run's progress does not count all the tasks")
    differences = rt.same_results(reference, interrupted)
    rt.check(not differences, f"resumed after a corrupt checkpoint: {differences[:5]}")
    print(f"corrupt checkpoint: {warning.group(0) if warning else '?'}; result identical")

# A step limit of 10^8 with a sample every step: the file follows the samples.
limit = rt.quick_job(seed=12, replicas=4, steps=100000000, windows=False)
for e in limit["ensembles"]:
    e["sample_interval"] = 1
    e.pop("snapshot_interval", None)
    e.pop("snapshot_replicas", None)
limit = rt.write_job(directory, "limit.json", limit)
big = os.path.join(directory, "limit.h5")
started = time.time()
rt.run(["run", limit, "--out", big, "--quiet"], ranks=2, cwd=directory)
seconds = time.time() - started
size = os.path.getsize(big)
with h5py.File(big, "r") as f:
    lengths = [int(f[f"ensembles/{n}/series_length"][()].max()) for n in f["ensembles"]]
    doubled = all((f[f"ensembles/{n}/censored"][()] == 0).all() for n in f["ensembles"])
rt.check(doubled, "limit.json: a replica did not double (the case needs them all to)")
rt.check(size < 50 << 20, f"max_steps 10^8: the file holds {size / 2**20:.1f} MiB")
print(f"max_steps = 10^8, sample_interval 1: longest series {max(lengths)} samples, file "
      f"{size / 2**20:.2f} MiB, {seconds:.1f} s for the whole run")
rt.finish("test_cli")
