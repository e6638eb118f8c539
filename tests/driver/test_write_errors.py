"""Full disks and failing writes: ripen reports them with one "ripen:" line and exit status 4,
never leaves a half-written result (the output is absent, or the old one untouched), and the run
resumes to the identical result once there is room again (the journal keeps finished tasks).

Two ways to make writes fail, both in the two phases of a run (journal records while tasks run,
then the one HDF5 file at the end):

* RLIMIT_FSIZE (always available): each rank runs under a file size limit with SIGXFSZ ignored,
  so a write past the limit fails with EFBIG. Under mpiexec, so that only the ranks are limited
  (Open MPI's runtime needs larger files than the limits used here). Also one run with SIGXFSZ
  left at its default (the rank is killed): nothing is corrupt and the run resumes.
* Mounts, in a private mount namespace (`unshare --mount`, when the container allows it; else
  that part is skipped and says so): a small tmpfs (real ENOSPC; "room again" = remount it
  larger) and the journal directory bind-mounted read-only under a run whose tasks then write
  their records (EROFS); a temporary record such a moment leaves is removed by the next resume.

No outcome depends on timing: every failure is set up before the run that meets it.

Usage: test_write_errors.py (the other modes are internal: --exec-limited wraps one rank,
--namespace runs the mount part inside the namespace).
"""
import os
import sys

THIS = os.path.abspath(__file__)

# Wrapper for one rank: file size limit and SIGXFSZ disposition, then become ripen. Kept ahead of
# the imports below (h5py) so that every rank starts fast.
if len(sys.argv) > 4 and sys.argv[1] == "--exec-limited":
    import resource
    import signal

    limit, xfsz = int(sys.argv[2]), sys.argv[3]
    # Python ignores SIGXFSZ itself; an ignored signal stays ignored across exec.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN if xfsz == "ignore" else signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    os.execv(sys.argv[4], sys.argv[4:])

import glob
import shutil
import subprocess
import time

import ripentest as rt

SKIPPED = 77  # exit status of the namespace part when mounts are refused
RUN = ["--quiet", "--bootstrap", "20"]


def write_error_job():
    """Short replicas whose journal records are small (~1 KiB), one replica with snapshots whose
    record is large (~40 KiB) and, by its lower cost, runs after them, and a window set (F(q) in
    the file). The whole file is ~100 KiB."""
    job = rt.quick_job(seed=11, replicas=4, steps=1000)
    small = dict(job["ensembles"][1], name="small", sample_interval=50, stop_at_doubling=False)
    big = {"name": "big", "shell_thickness": 2, "replicas": 1, "max_steps": 800,
           "sample_interval": 50, "snapshot_interval": 50, "snapshot_replicas": 1,
           "stop_at_doubling": False}
    job["ensembles"] = [small, big]
    return job


def limited(args, limit, cwd, ranks=2, xfsz="ignore"):
    """Runs ripen on `ranks` ranks, each under RLIMIT_FSIZE = limit bytes."""
    command = [rt.MPIEXEC, "-np", str(ranks), sys.executable, THIS, "--exec-limited", str(limit),
               xfsz, rt.RIPEN] + list(args)
    return subprocess.run(command, cwd=cwd, env=rt.environment(), capture_output=True, text=True,
                          timeout=600)


def ripen_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("ripen:")]


def leftovers(directory, out):
    """Temporary files a failed write must not leave behind."""
    found = glob.glob(out + ".partial") + glob.glob(out + ".journal.new-*")
    found += glob.glob(os.path.join(out + ".journal", "*.tmp"))
    return [os.path.relpath(f, directory) for f in found]


def clean_failure(name, result, directory, out, text, old=None):
    """One 'ripen:' line naming the problem, status 4, no result file (or the old one as it
    was), no temporary files."""
    lines = ripen_lines(result)
    rt.check(result.returncode == 4, f"{name}: exit status {result.returncode}, want 4: "
             f"{result.stderr.strip()[-500:]}")
    rt.check(len(lines) == 1, f"{name}: want one 'ripen:' line, got {lines}")
    rt.check(any(text in line for line in lines), f"{name}: no '{text}' in {lines}")
    if old is None:
        rt.check(not os.path.exists(out), f"{name}: a result file was written")
    elif os.path.exists(out):
        with open(out, "rb") as f:
            rt.check(f.read() == old, f"{name}: the old result file was changed")
    rt.check(not leftovers(directory, out), f"{name}: left {leftovers(directory, out)}")
    print(f"{name}: exit {result.returncode}: {lines[0] if lines else result.stderr[-200:]}")


def done_records(out):
    return len(glob.glob(os.path.join(out + ".journal", "task-*.done")))


def resume(name, job, out, reference, cwd, ranks=1, fresh=False):
    """Completes the run (resume, or a fresh start if no journal was kept); compares."""
    args = ["run", job, "--out", out, "--bootstrap", "20"] + ([] if fresh else ["--resume"])
    result = rt.run(args, ranks=ranks, cwd=cwd, check_ok=False)
    rt.check(result.returncode == 0, f"{name}: resume failed ({result.returncode}): "
             f"{result.stderr.strip()[-400:]}")
    if result.returncode == 0:
        differences = rt.same_results(reference, out)
        rt.check(not differences, f"{name}: resumed result differs: {differences[:5]}")
    first = result.stdout.splitlines()[0] if result.stdout else ""
    print(f"{name}: {'fresh run' if fresh else 'resumed'}: {first}")
    return result


# ---- RLIMIT_FSIZE ----

def rlimit_part(directory, job, reference):
    size = os.path.getsize(reference)
    # Job record and hash: the very first writes of a run.
    out = os.path.join(directory, "start.h5")
    result = limited(["run", job, "--out", out] + RUN, 256, directory)
    clean_failure("journal creation, EFBIG", result, directory, out, "File too large")
    rt.check(not os.path.exists(out + ".journal"), "journal creation: a journal was left")
    resume("journal creation, EFBIG", job, out, reference, directory, fresh=True)

    # Journal records while tasks run: the small records fit, the large one does not.
    out = os.path.join(directory, "records.h5")
    result = limited(["run", job, "--out", out] + RUN, 16 << 10, directory)
    clean_failure("journal record, EFBIG", result, directory, out, "File too large")
    kept = done_records(out)
    rt.check(kept > 0, "journal record: no finished task kept in the journal")
    resume(f"journal record, EFBIG ({kept} finished tasks kept)", job, out, reference, directory)

    # The final HDF5 file: every record fits, the file does not.
    rt.check(size > 64 << 10, f"the result file ({size} bytes) fits in the 64 KiB limit")
    out = os.path.join(directory, "final.h5")
    result = limited(["run", job, "--out", out] + RUN, 64 << 10, directory)
    clean_failure("final write, EFBIG", result, directory, out, "File too large")
    rt.check(done_records(out) == len(glob.glob(os.path.join(out + ".journal", "task-*"))),
             "final write: the journal is not all finished records")
    result = resume("final write, EFBIG", job, out, reference, directory)
    rt.check(", 0 to run)" in result.stdout, f"final write: resume reran tasks: {result.stdout}")

    # The same with an old result in place and --force: absent or untouched, never damaged.
    out = os.path.join(directory, "old.h5")
    shutil.copy(reference, out)
    with open(out, "rb") as f:
        old = f.read()
    result = limited(["run", job, "--out", out, "--force"] + RUN, 64 << 10, directory)
    clean_failure("final write over an old result (--force)", result, directory, out,
                  "File too large", old=old)
    print(f"  the old result is {'untouched' if os.path.exists(out) else 'gone (--force)'}")

    # ripen merge writes through the same writer.
    shards = []
    for index in range(2):  # --out names the file each shard's name is derived from
        rt.run(["run", job, "--out", os.path.join(directory, "shard.h5"), "--shard", f"{index}/2"]
               + RUN, cwd=directory)
        shards.append(os.path.join(directory, f"shard.shard-{index}-of-2.h5"))
    out = os.path.join(directory, "merged.h5")
    result = limited(["merge", out] + shards + ["--bootstrap", "20"], 64 << 10, directory, ranks=1)
    clean_failure("merge, EFBIG", result, directory, out, "File too large")
    rt.run(["merge", out] + shards + ["--bootstrap", "20"], cwd=directory)
    differences = rt.same_results(reference, out)
    rt.check(not differences, f"merge after EFBIG: {differences[:5]}")

    # SIGXFSZ at its default disposition (ripen does not ignore it): the rank is killed at the
    # first write past the limit. No clean message then, but nothing is damaged either.
    out = os.path.join(directory, "signal.h5")
    result = limited(["run", job, "--out", out] + RUN, 16 << 10, directory, ranks=1,
                     xfsz="default")
    rt.check(result.returncode != 0, "SIGXFSZ: exit status 0")
    rt.check(not os.path.exists(out) and not os.path.exists(out + ".partial"),
             "SIGXFSZ: a result file was written")
    stray = glob.glob(os.path.join(out + ".journal", "*.tmp"))
    print(f"SIGXFSZ not ignored: exit {result.returncode}, {len(ripen_lines(result))} 'ripen:' "
          f"line(s), stray temporary records: {[os.path.basename(s) for s in stray]}")
    resume("SIGXFSZ not ignored", job, out, reference, directory)


# ---- mounts (inside a private mount namespace) ----

def mount(*args):
    result = subprocess.run(["mount"] + list(args), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {result.stderr.strip()}")


def tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"size={size}", "ripen-test", path)


def namespace_part(directory):
    job = os.path.join(directory, "job.json")
    reference = os.path.join(directory, "reference.h5")
    probe = os.path.join(directory, "probe")
    try:
        tmpfs(probe, "64k")
    except RuntimeError as error:
        print(f"skipped: cannot mount a tmpfs ({error})")
        sys.exit(SKIPPED)

    # ENOSPC at the start: room for the job record but not its hash.
    fs = os.path.join(directory, "full-start")
    tmpfs(fs, "4k")
    out = os.path.join(fs, "out.h5")
    result = rt.run(["run", job, "--out", out] + RUN, ranks=2, cwd=fs, check_ok=False)
    clean_failure("journal creation, ENOSPC", result, fs, out, "No space left on device")
    rt.check(os.listdir(fs) == [], f"journal creation, ENOSPC: left {os.listdir(fs)}")
    mount("-o", "remount,size=4m", fs)
    resume("journal creation, ENOSPC", job, out, reference, fs, fresh=True)

    # ENOSPC while tasks run: room for the small records, not for the large one.
    fs = os.path.join(directory, "full-records")
    tmpfs(fs, "32k")
    out = os.path.join(fs, "out.h5")
    result = rt.run(["run", job, "--out", out] + RUN, ranks=2, cwd=fs, check_ok=False)
    clean_failure("journal record, ENOSPC", result, fs, out, "No space left on device")
    kept = done_records(out)
    rt.check(kept > 0, "journal record, ENOSPC: no finished task kept")
    mount("-o", "remount,size=4m", fs)
    resume(f"journal record, ENOSPC ({kept} finished tasks kept)", job, out, reference, fs)

    # ENOSPC at the end: the whole journal fits, the HDF5 file does not.
    fs = os.path.join(directory, "full-final")
    tmpfs(fs, "128k")
    out = os.path.join(fs, "out.h5")
    result = rt.run(["run", job, "--out", out] + RUN, ranks=2, cwd=fs, check_ok=False)
    clean_failure("final write, ENOSPC", result, fs, out, "No space left on device")
    # The room reserved is the uncompressed size, an upper bound: the refusal says so.
    rt.check("the file's uncompressed size: an upper bound" in result.stderr,
             f"final write, ENOSPC: the refusal does not say its size is a bound: "
             f"{result.stderr.strip()[-300:]}")
    mount("-o", "remount,size=4m", fs)
    result = resume("final write, ENOSPC", job, out, reference, fs)
    rt.check(", 0 to run)" in result.stdout, f"final write, ENOSPC: reran tasks: {result.stdout}")

    # The journal turns read-only under a live run (EROFS) while its tasks run. Deterministic,
    # no moment to hit: the run resumes a journal that is read-only from the start (a bind mount
    # of the journal onto itself, remounted read-only, with its lock file bind-mounted writable so
    # that the run takes its lock), so the first record its running tasks write fails, wherever
    # and whenever that is.
    long_job = rt.quick_job(seed=13, replicas=3, steps=20000, windows=False)
    for e in long_job["ensembles"]:
        e["stop_at_doubling"] = False
        e["sample_interval"] = 500
    long_job = rt.write_job(directory, "long.json", long_job)
    long_reference = os.path.join(directory, "long-reference.h5")
    rt.run(["run", long_job, "--out", long_reference] + RUN, ranks=2, cwd=directory)
    out = os.path.join(directory, "readonly.h5")
    journal = out + ".journal"
    rt.run(["run", long_job, "--out", out, "--keep-journal"] + RUN, ranks=2, cwd=directory)
    os.remove(out)
    records = sorted(glob.glob(os.path.join(journal, "task-*.done")))
    for record in records[len(records) // 2:]:  # half of the tasks still to run
        os.remove(record)
    writable_lock = os.path.join(directory, "writable-lock")
    open(writable_lock, "w").close()
    mount("--bind", journal, journal)
    mount("-o", "remount,bind,ro", journal)
    mount("--bind", writable_lock, os.path.join(journal, "lock"))
    result = rt.run(["run", long_job, "--out", out, "--resume", "--checkpoint-seconds", "0.2"] +
                    RUN, ranks=2, cwd=directory, check_ok=False)
    subprocess.run(["umount", os.path.join(journal, "lock")], check=True)
    subprocess.run(["umount", journal], check=True)
    clean_failure("journal read-only mid-run, EROFS", result, directory, out,
                  "Read-only file system")
    rt.check(done_records(out) == len(records) - len(records[len(records) // 2:]),
             "read-only journal: its records changed")

    # What ripen promises when a file system turns read-only (or full, or the run is killed)
    # between creating a record's temporary file and renaming it: the temporary file may stay
    # (a read-only file system cannot unlink it); the record it was to replace is intact, and
    # the next resume removes it and says so. The leftover is planted here, as such a moment
    # leaves it.
    stale = os.path.join(journal, "task-00000001.ckpt.tmp")
    with open(stale, "wb") as f:
        f.write(b"RIPENREC half a record")
    result = resume("journal read-only mid-run, EROFS", long_job, out, long_reference, directory,
                    ranks=2)
    rt.check(not os.path.exists(stale) and not leftovers(directory, out),
             f"resume left the stale temporary record: {leftovers(directory, out)}")
    rt.check("removed 1 temporary file(s)" in result.stderr and "task-00000001.ckpt.tmp" in
             result.stderr, f"resume did not say it removed the stale record: "
             f"{result.stderr.strip()[-300:]}")
    rt.finish("test_write_errors (mount namespace part)")


# ---- main ----

if len(sys.argv) > 2 and sys.argv[1] == "--namespace":
    namespace_part(sys.argv[2])

started = time.time()
directory = rt.workdir("write-errors")
job = rt.write_job(directory, "job.json", write_error_job())
reference = os.path.join(directory, "reference.h5")
rt.run(["run", job, "--out", reference] + RUN, ranks=2, cwd=directory)
print(f"reference: {os.path.getsize(reference)} bytes")

rlimit_part(directory, job, reference)

unshare = ["unshare", "--mount", "--propagation", "private"]
allowed = subprocess.run(unshare + ["true"], capture_output=True, text=True)
if allowed.returncode != 0:
    print(f"mount part skipped: no private mount namespace here ({allowed.stderr.strip()})")
else:
    namespace = subprocess.run(unshare + [sys.executable, THIS, "--namespace", directory],
                               env=rt.environment(), capture_output=True, text=True, timeout=900)
    print(namespace.stdout, end="")
    if namespace.returncode == SKIPPED:
        print("mount part skipped (tmpfs mounts refused)")
    else:
        rt.check(namespace.returncode == 0,
                 f"the mount part failed ({namespace.returncode}): {namespace.stderr[-2000:]}")
print(f"test_write_errors: {time.time() - started:.1f} s")
rt.finish("test_write_errors")
