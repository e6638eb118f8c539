"""analysis/ never shows a traceback (analysis/cli.py): every script, over a result file of every
kind the tests produce (ensembles (tracked particles and a seeded defect among them), windows,
exchange, forward flux sampling and relay sets, alone
and together, a shard, sweeps over numbers and over strings, censored medians) and over files
that are no result file at all (truncated at several lengths, bytes flipped, empty, text, a
foreign HDF5 file, a directory, a missing path), either succeeds or prints exactly one line
"PROG: ..." with exit status 2 and creates nothing; bad output places (-o naming a file, a
directory where a file is wanted, a place that cannot be written) likewise. A ratio whose
shell-free median was not reached is printed as the bound it is ("< 0.25"), never as
"0.00 [0.00, 0.00]".

The scripts run in this process (their main(argv), matplotlib imported once) with stdout and
stderr captured; one damaged file also goes through each script as a real process, for the
exit status and the absence of a traceback there."""
import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys

import h5py

import ripentest as rt

ANALYSIS = os.path.join(rt.SOURCE, "analysis")
sys.path.insert(0, ANALYSIS)
import criteria  # noqa: E402
import ffs  # noqa: E402
import figures  # noqa: E402
import particles  # noqa: E402
import readings_table  # noqa: E402
import scan_map  # noqa: E402

SCRIPTS = {"figures": figures, "readings_table": readings_table, "criteria": criteria,
           "ffs": ffs, "scan_map": scan_map, "particles": particles}
# How each script is called over a file: output into "out" (a directory, or files in it).
ARGUMENTS = {
    "figures": lambda f: [f, "-o", "out"],
    "readings_table": lambda f: [f],
    "criteria": lambda f: [f],
    "ffs": lambda f: [f, "-o", "out"],
    "scan_map": lambda f: [f, "-o", "out"],
    "particles": lambda f: [f, "-o", "out"],
}

base = rt.workdir("analysis-errors")


# ----------------------------------------------------------------------------------------------
# Result files of every kind, and broken ones


def produce(name, job, *extra):
    rt.write_job(base, f"{name}.json", job)
    rt.run(["run", f"{name}.json", "--out", f"{name}.h5", "--quiet", "--bootstrap", "20"] +
           list(extra), cwd=base)
    return f"{name}.h5"


def without(job, *kinds):
    for kind in kinds:
        job.pop(kind, None)
    return job


good = []
small = dict(replicas=4, steps=600)
good.append(produce("all", rt.quick_job(**small, relay=True, ffs=True, exchange=True,
                                        particles=True)))
good.append(produce("windows", without(rt.quick_job(**small), "ensembles")))
for kind, flag in (("exchange", "exchange"), ("ffs", "ffs"), ("relay", "relay")):
    good.append(produce(f"{kind}-only", without(rt.quick_job(**small, windows=False,
                                                             **{flag: True}), "ensembles")))
strings = rt.quick_job(**small, windows=False)
numbers = rt.quick_job(**small, windows=False)
for e in strings["ensembles"]:
    e["sweep"] = {"model.move_set": ["vacancy", "identity"]}
for e in numbers["ensembles"]:
    e["sweep"] = {"model.mu_shell": [-20, -22], "model.eps_shell": [6.7]}
    e.pop("snapshot_interval", None), e.pop("snapshot_replicas", None)
good.append(produce("sweep-strings", strings))
good.append(produce("sweep-numbers", numbers))
# Identity moves at the paper's couplings: the shelled core turns its shell into core within
# ~25 steps, the shell-free one does not double in 100: its median is censored.
censored = rt.quick_job(replicas=8, steps=100, windows=False)
censored["model"] = {"move_set": "identity"}
censored["ensembles"][0]["snapshot_interval"] = 50
good.append(produce("censored", censored))
# A shard: whatever name ripen gives it (the --out name or OUTPUT.shard-I-of-N.h5), as shard.h5.
shards = rt.workdir("analysis-shard")
shutil.copy(os.path.join(base, "all.json"), shards)
rt.run(["run", "all.json", "--out", "all.h5", "--quiet", "--shard", "0/2"], cwd=shards)
produced = [n for n in os.listdir(shards) if n.endswith(".h5")]
rt.check(len(produced) == 1, f"a shard run left {produced}")
shutil.copy(os.path.join(shards, produced[0]), os.path.join(base, "shard.h5"))
good.append("shard.h5")

with open(os.path.join(base, "all.h5"), "rb") as f:
    whole = f.read()
bad = {}       # no result file at all: every script must refuse it
damaged = []   # bytes flipped: a script that never reads them may succeed, else it refuses


def broken(name, data):
    with open(os.path.join(base, name), "wb") as f:
        f.write(data)
    bad[name] = name


for fraction in (0.1, 0.5, 0.9):
    broken(f"truncated-{fraction}.h5", whole[:int(len(whole) * fraction)])
broken("truncated-tail.h5", whole[:-100])
flipped = bytearray(whole)
for k in range(len(flipped) // 3, 2 * len(flipped) // 3, 97):
    flipped[k] ^= 0xFF
broken("flipped-middle.h5", bytes(flipped))
damaged.append(bad.pop("flipped-middle.h5"))
flipped = bytearray(whole)
for k in range(8, 400, 3):
    flipped[k] ^= 0x5A
broken("flipped-header.h5", bytes(flipped))
broken("empty.h5", b"")
broken("text.h5", b"this is not HDF5\n")
with h5py.File(os.path.join(base, "foreign.h5"), "w") as f:
    f["numbers"] = [1, 2, 3]
bad["foreign.h5"] = "foreign.h5"
os.mkdir(os.path.join(base, "directory.h5"))
bad["directory.h5"] = "directory.h5"
bad["missing.h5"] = "missing.h5"


# ----------------------------------------------------------------------------------------------
# Running the scripts


def listing(directory):
    found = set()
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), directory))
    return found


kept = {}  # (script, file) -> the text of an output file, for the checks below


def call(script, argv, setup=None, keep=None):
    """Runs SCRIPTS[script].main(argv) in a fresh directory holding the result files (linked);
    returns (status, stdout, stderr, files created); the text of output file `keep` goes to
    kept."""
    work = rt.workdir(f"analysis-{script}")
    for name in os.listdir(base):
        if name.endswith(".h5") and os.path.isfile(os.path.join(base, name)):
            os.symlink(os.path.join(base, name), os.path.join(work, name))
    if os.path.isdir(os.path.join(base, "directory.h5")):
        os.mkdir(os.path.join(work, "directory.h5"))
    if setup:
        setup(work)
    before = listing(work)
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = SCRIPTS[script].main(argv)
    finally:
        os.chdir(here)
    created = listing(work) - before
    if keep and os.path.isfile(os.path.join(work, keep)):
        with open(os.path.join(work, keep)) as f:
            kept[script, argv[0]] = f.read()
    shutil.rmtree(work, ignore_errors=True)
    return status, out.getvalue(), err.getvalue(), created


def check_failure(script, argv, status, err, created, expected=None):
    """An expected failure: exit 2, one line "script: ...", nothing created."""
    lines = [line for line in err.splitlines() if line.strip()]
    ok = rt.check(status == 2, f"{script} {argv}: exit {status}, want 2 ({err.strip()[:200]})")
    ok &= rt.check(len(lines) == 1 and lines[0].startswith(f"{script}: "),
                   f"{script} {argv}: stderr is not one '{script}:' line: {lines[:3]}")
    ok &= rt.check(not created, f"{script} {argv}: created {sorted(created)}")
    if expected is not None:
        ok &= rt.check(expected in err, f"{script} {argv}: {err.strip()!r} lacks {expected!r}")
    return ok


outcomes = {}
for path in good + damaged + list(bad):
    for script in SCRIPTS:
        argv = ARGUMENTS[script](path)
        status, out, err, created = call(script, argv, keep="out/results.md")
        outcomes[script, path] = status
        if path in bad:
            check_failure(script, argv, status, err, created)
            continue
        rt.check(status in (0, 2), f"{script} {argv}: exit {status}: {err.strip()[:300]}")
        if status == 2:
            check_failure(script, argv, status, err, created)
        else:
            rt.check(not err.strip() or script == "figures",
                     f"{script} {argv}: succeeded but wrote to stderr: {err.strip()[:200]}")
            if "-o" in argv:
                rt.check(any(name.startswith("out") for name in created),
                         f"{script} {argv}: succeeded without output")

# Every script succeeds on the files it is for.
for script, path in (("figures", "all.h5"), ("figures", "windows.h5"), ("figures", "exchange-only.h5"),
                     ("figures", "censored.h5"), ("figures", "shard.h5"),
                     ("readings_table", "all.h5"), ("readings_table", "censored.h5"),
                     ("readings_table", "sweep-strings.h5"), ("criteria", "all.h5"),
                     ("criteria", "censored.h5"), ("ffs", "all.h5"), ("ffs", "ffs-only.h5"),
                     ("scan_map", "sweep-numbers.h5")):
    if (script, path) in outcomes:
        rt.check(outcomes[script, path] == 0, f"{script} {path}: exit {outcomes[script, path]}")
# A sweep point chosen by name, from ensembles that kept no snapshots (fig5a says so).
status, _, err, created = call("figures", ["sweep-numbers.h5", "-o", "out", "--shelled",
                                           "shelled@mu_shell=-20,eps_shell=6.7", "--shell-free",
                                           "shell-free@mu_shell=-20,eps_shell=6.7"])
rt.check(status == 0 and "out/fig5a.png" in created, f"figures on a sweep point without "
         f"snapshots: exit {status}, {err.strip()[:300]}")
# ... and says why on the ones it is not for.
for script, path, expected in (
        ("scan_map", "sweep-strings.h5", "is not a number"),
        ("scan_map", "windows.h5", "no ensembles"),
        ("scan_map", "relay-only.h5", "no ensembles"),
        ("figures", "relay-only.h5", "nothing to plot"),
        ("ffs", "exchange-only.h5", "no forward flux sampling set"),
        ("readings_table", "windows.h5", "no shelled ensemble"),
        ("criteria", "ffs-only.h5", "no shelled and shell-free ensembles")):
    status, _, err, created = call(script, ARGUMENTS[script](path))
    check_failure(script, [path], status, err, created, expected)


# ----------------------------------------------------------------------------------------------
# Output places


def existing_file(work):
    with open(os.path.join(work, "taken"), "w") as f:
        f.write("keep me\n")


def existing_directory(work):
    os.mkdir(os.path.join(work, "folder"))


read_only = "/proc/ripen-analysis-errors/out"  # no directory can be made under /proc
OUTPUT_CASES = [
    ("figures", ["all.h5", "-o", "taken"], existing_file, "exists and is not a directory"),
    ("ffs", ["ffs-only.h5", "-o", "taken"], existing_file, "exists and is not a directory"),
    ("scan_map", ["sweep-numbers.h5", "-o", "taken"], existing_file,
     "exists and is not a directory"),
    ("figures", ["all.h5", "-o", "taken/sub"], existing_file, "is not a directory"),
    ("figures", ["all.h5", "-o", read_only], None, "-o " + read_only),
    ("ffs", ["ffs-only.h5", "-o", read_only], None, "-o " + read_only),
    ("scan_map", ["sweep-numbers.h5", "-o", read_only], None, "-o " + read_only),
    ("readings_table", ["all.h5", "-o", "folder"], existing_directory, "is a directory"),
    ("criteria", ["all.h5", "-o", "folder"], existing_directory, "is a directory"),
    ("criteria", ["all.h5", "--json", "folder"], existing_directory, "--json folder"),
    ("readings_table", ["all.h5", "-o", "/proc/ripen-table.md"], None, "/proc/ripen-table.md"),
    ("criteria", ["all.h5", "-o", "nowhere/c.md"], None, "no directory"),
    ("figures", ["all.h5", "--shelled", "nonexistent"], None, "no ensemble 'nonexistent'"),
    ("figures", [], None, "the following arguments are required"),
    ("ffs", ["ffs-only.h5", "--frobnicate"], None, "unrecognized arguments"),
]
if os.geteuid() != 0:  # root writes anywhere: the permission bits say nothing then
    def locked(work):
        os.mkdir(os.path.join(work, "locked"))
        os.chmod(os.path.join(work, "locked"), stat.S_IRUSR | stat.S_IXUSR)
    OUTPUT_CASES.append(("figures", ["all.h5", "-o", "locked/out"], locked, "not writable"))
for script, argv, setup, expected in OUTPUT_CASES:
    status, _, err, created = call(script, argv, setup)
    check_failure(script, argv, status, err, created, expected)


# ----------------------------------------------------------------------------------------------
# A ratio with a censored shell-free median is a bound


status, out, err, _ = call("readings_table", ["censored.h5"])
rt.check(status == 0 and "| < 0.25 |" in out and "0.00 [0.00, 0.00]" not in out,
         f"readings_table on a censored shell-free median: {out.splitlines()[2:3]}")
status, out, err, _ = call("criteria", ["censored.h5"])
rt.check(status == 0 and "fail: < 0.25" in out, f"criteria on a censored shell-free median: "
         f"{out.splitlines()[2:3]}")


text = kept.get(("figures", "censored.h5"), "")
rt.check("shell-free`): < 0.25 (the shell-free median was not reached" in text,
         "figures' results.md on a censored shell-free median: " +
         next((line for line in text.splitlines() if "Ratio of KM" in line), "(none)"))


# ----------------------------------------------------------------------------------------------
# As real processes

for script in SCRIPTS:
    work = rt.workdir(f"analysis-process-{script}")
    shutil.copy(os.path.join(base, "truncated-0.5.h5"), work)
    before = listing(work)
    result = subprocess.run([sys.executable, os.path.join(ANALYSIS, f"{script}.py")] +
                            ARGUMENTS[script]("truncated-0.5.h5"), cwd=work,
                            capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    rt.check(result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"{script}: ")
             and "Traceback" not in result.stderr and listing(work) == before,
             f"{script}.py on a truncated file: exit {result.returncode}, stderr "
             f"{result.stderr.strip()[:300]!r}")

print(f"{len(outcomes)} script x file runs, {len(OUTPUT_CASES)} output-place cases, "
      f"{len(SCRIPTS)} processes")
print(json.dumps({f"{s} {p}": v for (s, p), v in sorted(outcomes.items())}, indent=0)[:2000])
rt.finish("test_analysis_errors")
