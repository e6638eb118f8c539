"""The bad-input corpus (tests/bad-inputs/cases.txt): each case must exit with status 2, print
exactly one line "ripen: <message>" on stderr containing the expected text, and leave its working
directory exactly as it found it (no result, journal or partial file created or changed)."""
import os
import re
import shutil
import subprocess
import sys

import h5py

import ripentest as rt

CORPUS = os.path.join(rt.SOURCE, "tests", "bad-inputs")


def parse_cases():
    cases = []
    with open(os.path.join(CORPUS, "cases.txt")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, setup, args, expected = [field.strip() for field in line.split("|", 3)]
            cases.append((name, setup, args.split(), expected))
    return cases


def make_valid_result(directory):
    """A real result file of good.json, for the truncated-file setups."""
    rt.run(["run", "good.json", "--out", "valid.h5", "--quiet"], cwd=directory)
    with open(os.path.join(directory, "valid.h5"), "rb") as f:
        return f.read()


def make_journal(directory):
    """The journal a run of good.json leaves when its result file is lost: every task's finished
    record (the template for the corrupt-record setup)."""
    rt.run(["run", "good.json", "--out", "kept.h5", "--quiet", "--keep-journal"], cwd=directory)
    os.remove(os.path.join(directory, "kept.h5"))
    journal = os.path.join(directory, "kept.h5.journal")
    os.remove(os.path.join(journal, "lock"))
    return journal


def hold_lock(journal):
    """A process that holds the journal's lock, as a live ripen run does."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); time.sleep(600)", os.path.join(journal, "lock")],
        stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    return holder


def make_shards(directory):
    """The two shard files of good.json (task 0 is in shard 0, shard 1 holds none)."""
    for index in range(2):
        rt.run(["run", "good.json", "--shard", f"{index}/2", "--quiet"], cwd=directory)
    return {name: open(os.path.join(directory, name), "rb").read()
            for name in (f"good.shard-{i}-of-2.h5" for i in range(2))}


DEEP = "d" * 200  # a directory name long enough that a message quoting a path twice is long


def setup(directory, kind, valid_bytes, journal_template, args, shard_bytes):
    """Prepares the case's directory; returns the environment, the arguments and a process to
    stop afterwards (or None)."""
    env, process = {}, None
    if kind == "exists":
        with open(os.path.join(directory, "out.h5"), "wb") as f:
            f.write(valid_bytes)
    elif kind in ("journal", "corrupt-journal"):
        journal = os.path.join(directory, "good.h5.journal")
        os.mkdir(journal)
        with open(os.path.join(CORPUS, "good.json")) as f:
            text = f.read()
        with open(os.path.join(journal, "job.json"), "w") as f:
            f.write(text)
        with open(os.path.join(journal, "job.hash"), "w") as f:
            f.write("not a hash\n" if kind == "corrupt-journal" else "0\n")
    elif kind == "foreign-h5":
        with h5py.File(os.path.join(directory, "foreign.h5"), "w") as f:
            f["numbers"] = [1, 2, 3]
    elif kind == "truncated-h5":
        with open(os.path.join(directory, "truncated.h5"), "wb") as f:
            f.write(valid_bytes[: len(valid_bytes) // 3])
    elif kind == "empty-file":
        open(os.path.join(directory, "empty.h5"), "w").close()
    elif kind == "slurm-bad":
        env = {"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3",
               "SLURM_ARRAY_TASK_MIN": "0"}
    elif kind == "slurm-huge":
        env = {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "99999999999",
               "SLURM_ARRAY_TASK_MIN": "0"}
    elif kind == "out-dir":
        os.mkdir(os.path.join(directory, "out.h5"))
    elif kind == "fifo":
        os.mkfifo(os.path.join(directory, "out.fifo"))
    elif kind == "empty-arg":
        args = args + [""]
    elif kind == "empty-journal":
        os.mkdir(os.path.join(directory, "good.h5.journal"))
    elif kind == "live-lock":
        journal = os.path.join(directory, "good.h5.journal")
        shutil.copytree(journal_template, journal)
        process = hold_lock(journal)
    elif kind == "corrupt-done":
        journal = os.path.join(directory, "good.h5.journal")
        shutil.copytree(journal_template, journal)
        record = os.path.join(journal, "task-00000000.done")
        with open(record, "r+b") as f:
            f.seek(40)
            byte = f.read(1)
            f.seek(40)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif kind == "link-to-job":
        os.symlink("good.json", os.path.join(directory, "link.json"))
    elif kind == "hardlink-job":
        os.link(os.path.join(directory, "good.json"), os.path.join(directory, "hard.h5"))
    elif kind == "job-named-partial":
        shutil.copy(os.path.join(directory, "good.json"), os.path.join(directory, "out.h5.partial"))
    elif kind in ("shards", "shard-link", "damaged-shard", "misnamed-shard"):
        for name, data in shard_bytes.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        if kind == "shard-link":
            os.symlink("good.shard-1-of-2.h5", os.path.join(directory, "link.h5"))
        elif kind == "damaged-shard":
            with h5py.File(os.path.join(directory, "good.shard-0-of-2.h5"), "a") as f:
                del f["ensembles/a"]
        elif kind == "misnamed-shard":
            shutil.copy(os.path.join(directory, "good.shard-0-of-2.h5"),
                        os.path.join(directory, "good.shard-1-of-2.h5"))
    elif kind == "other-job-output":
        with open(os.path.join(directory, "out.h5"), "wb") as f:
            f.write(valid_bytes)
    elif kind == "deep-corrupt-done":
        os.mkdir(os.path.join(directory, DEEP))
        journal = os.path.join(directory, DEEP, "x.h5.journal")
        shutil.copytree(journal_template, journal)
        with open(os.path.join(journal, "task-00000000.done"), "r+b") as f:
            f.seek(40)
            byte = f.read(1)
            f.seek(40)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif kind != "none":
        raise ValueError(f"unknown setup {kind}")
    return env, args, process


def snapshot(directory):
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.stat(path)
            state[os.path.relpath(path, directory)] = (st.st_size, st.st_mtime_ns)
    return state


base = rt.workdir("bad")
for name in os.listdir(CORPUS):
    shutil.copy(os.path.join(CORPUS, name), base)
valid_bytes = make_valid_result(base)
os.remove(os.path.join(base, "valid.h5"))
template = os.path.join(rt.workdir("journal"), "good.h5.journal")
shutil.move(make_journal(base), template)

shard_bytes = make_shards(base)
for name in shard_bytes:
    os.remove(os.path.join(base, name))

cases = parse_cases()
passed = 0
for name, kind, args, expected in cases:
    directory = os.path.join(rt.workdir("case"), "work")
    shutil.copytree(base, directory)
    env, args, holder = setup(directory, kind, valid_bytes, template, args, shard_bytes)
    before = snapshot(directory)
    result = subprocess.run([rt.RIPEN] + args, cwd=directory, env=rt.environment(env),
                            capture_output=True, text=True, timeout=600)
    if holder:
        holder.kill()
        holder.wait()
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    ok = rt.check(result.returncode == 2, f"{name}: exit status {result.returncode}, want 2")
    ok &= rt.check(len(lines) == 1 and lines[0].startswith("ripen: "),
                   f"{name}: stderr is not one 'ripen:' line: {lines[:3]}")
    # A message quoting the one before it once doubled its prefix and cut the file it named.
    doubled = re.search(r"(\b[a-z][a-z ]{3,}: )\1", result.stderr)
    ok &= rt.check(doubled is None, f"{name}: a repeated prefix: {result.stderr.strip()[:300]}")
    ok &= rt.check(expected in result.stderr,
                   f"{name}: message lacks '{expected}': {result.stderr.strip()[:300]}")
    after = snapshot(directory)
    ok &= rt.check(before == after,
                   f"{name}: directory changed: {sorted(set(after.items()) ^ set(before.items()))[:4]}")
    passed += bool(ok)
    shutil.rmtree(os.path.dirname(directory))
print(f"bad-input corpus: {passed}/{len(cases)} cases give their one-line error and change "
      f"nothing")
rt.check(len(cases) >= 40, f"corpus has only {len(cases)} cases")
rt.finish("test_bad_inputs")
