"""The bad-input corpus (tests/bad-inputs/cases.txt): each case must exit with status 2, print
exactly one line "ripen: <message>" on stderr containing the expected text, and leave its working
directory exactly as it found it (no result, journal or partial file created or changed)."""
import os
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


def setup(directory, kind, valid_bytes, journal_template, args):
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

cases = parse_cases()
passed = 0
for name, kind, args, expected in cases:
    directory = os.path.join(rt.workdir("case"), "work")
    shutil.copytree(base, directory)
    env, args, holder = setup(directory, kind, valid_bytes, template, args)
    before = snapshot(directory)
    result = subprocess.run([rt.RIPEN] + args, cwd=directory, env=rt.environment(env),
                            capture_output=True, text=True, timeout=120)
    if holder:
        holder.kill()
        holder.wait()
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    ok = rt.check(result.returncode == 2, f"{name}: exit status {result.returncode}, want 2")
    ok &= rt.check(len(lines) == 1 and lines[0].startswith("ripen: "),
                   f"{name}: stderr is not one 'ripen:' line: {lines[:3]}")
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
