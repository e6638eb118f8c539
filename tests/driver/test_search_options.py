"""analysis/ridge_search.py refuses bad options and bad base jobs with one line
"ridge_search: ..." on stderr and exit status 2, and leaves its working directory exactly as it
found it (no output directory, no point file)."""
import json
import os
import subprocess
import sys

import ripentest as rt

SEARCH = os.path.join(rt.SOURCE, "analysis", "ridge_search.py")
GOOD = {"seed": 1, "lattice": {"lx": 20, "ly": 20, "lz": 3}, "initial": {"core_sites": 36},
        "ensembles": [{"name": "shelled", "shell_thickness": 1, "replicas": 2, "max_steps": 100},
                      {"name": "shell-free", "shell_thickness": 0, "replicas": 2,
                       "max_steps": 100}]}


def variant(change):
    job = json.loads(json.dumps(GOOD))
    change(job)
    return job


BASES = {
    "good.json": GOOD,
    "windows.json": variant(lambda j: j.update(windows=[
        {"name": "w", "shell_thickness": 0, "q_min": 0, "q_max": 4, "width": 2, "overlap": 1,
         "layer_sites": 2, "sampling_steps": 10}])),
    "exchange.json": variant(lambda j: j.update(exchange=[
        {"name": "x", "shell_thickness": 1, "q_min": -2, "q_max": 4, "width": 3, "overlap": 1,
         "layer_sites": 2, "equilibration_steps": 10, "interval": 10, "epochs": 2,
         "sample_interval": 5, "ladder": {"eps_scale": [1, 0.5]}}])),
    "ffs.json": variant(lambda j: j.update(ffs=[
        {"name": "f", "shell_thickness": 0, "interfaces": [2, 4], "target": 8,
         "model": {"shell_ensemble": "canonical"}}])),
    "one.json": variant(lambda j: j["ensembles"].pop()),
    "two-shelled.json": variant(lambda j: j["ensembles"][1].update(shell_thickness=2)),
    "sweep.json": variant(lambda j: j["ensembles"][0].update(sweep={"replicas": [1, 2]})),
    "override.json": variant(lambda j: j["ensembles"][0].update(model={"mu_shell": -20})),
    "invalid.json": variant(lambda j: j["ensembles"][0].update(replica=3)),
}

# (arguments after the script, text the error line must contain). "OUT" is the output directory.
CASES = [
    ([], "the following arguments are required"),
    (["good.json"], "the following arguments are required: --out"),
    (["missing.json", "--out", "OUT"], "missing.json: No such file or directory"),
    (["broken.json", "--out", "OUT"], "broken.json: not a JSON job file"),
    (["invalid.json", "--out", "OUT"], "ensembles[0].replica: unknown key"),
    (["windows.json", "--out", "OUT"], "must hold ensembles only (it has windows"),
    (["exchange.json", "--out", "OUT"], "must hold ensembles only (it has exchange"),
    (["ffs.json", "--out", "OUT"], "must hold ensembles only (it has ffs"),
    (["one.json", "--out", "OUT"], "one shelled and one shell-free ensemble"),
    (["two-shelled.json", "--out", "OUT"], "one shelled and one shell-free ensemble"),
    (["sweep.json", "--out", "OUT"], "must not sweep"),
    (["override.json", "--out", "OUT"], "sets model.mu_shell, which the search sets"),
    (["good.json", "--out", "OUT", "--mu-shell=-21,-27"], "--mu-shell -21,-27: must be LO,HI"),
    (["good.json", "--out", "OUT", "--mu-shell=-27"], "--mu-shell -27: must be LO,HI"),
    (["good.json", "--out", "OUT", "--mu-shell", "a,b"], "must be comma-separated numbers"),
    (["good.json", "--out", "OUT", "--mu-shell=-27,inf"], "every value must be a finite number"),
    (["good.json", "--out", "OUT", "--mu-shell-step", "0"], "--mu-shell-step 0: must be a finite"),
    (["good.json", "--out", "OUT", "--mu-shell-step", "nan"], "--mu-shell-step nan: must be"),
    (["good.json", "--out", "OUT", "--mu-shell-step", "0.001"], "more than 1000 coarse points"),
    (["good.json", "--out", "OUT", "--bisections", "-1"], "--bisections -1: must be an integer"),
    (["good.json", "--out", "OUT", "--bisections", "2.5"], "--bisections 2.5: must be an integer"),
    (["good.json", "--out", "OUT", "--shell-life=-36,-37"], "--shell-life -36,-37: must be one"),
    (["good.json", "--out", "OUT", "--shell-life", "x"], "must be comma-separated numbers"),
    (["good.json", "--out", "OUT", "--shell-life-replicas", "0"],
     "--shell-life-replicas 0: must be an integer"),
    (["good.json", "--out", "OUT", "--extend", "101"], "--extend 101: must be an integer in"),
    (["good.json", "--out", "OUT", "--ranks", "0"], "--ranks 0: must be an integer in [1, 4096]"),
    (["good.json", "--out", "OUT", "--target", "1"], "--target 1: must be a finite number above 1"),
    (["good.json", "--out", "OUT", "--eps-interface", "6.7,6.7"], "a value is repeated"),
    (["good.json", "--out", "OUT", "--eps-interface", "6.7,2000"], "in [-1000, 1000]"),
    (["good.json", "--out", "OUT", "--mu-core", ""], "must be comma-separated numbers"),
    (["good.json", "--out", "OUT", "--p-swap", "0.5,1.5"], "--p-swap 0.5,1.5: every value"),
    (["good.json", "--out", "OUT", "--ripen", "/nonexistent/ripen"], "not an executable file"),
    (["good.json", "--out", "OUT", "--mpiexec", "/nonexistent/mpiexec"], "not found"),
    (["good.json", "--out", "good.json"], "--out good.json: exists and is not a directory"),
    (["good.json", "--out", "OUT", "--frobnicate"], "unrecognized arguments: --frobnicate"),
]


def listing(directory):
    found = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, directory)] = os.stat(path).st_mtime_ns
    return found


def run(directory, args):
    env = rt.environment()
    if "--ripen" not in args:
        args = args + ["--ripen", os.path.abspath(rt.RIPEN)]
    return subprocess.run([sys.executable, SEARCH] + args, cwd=directory, env=env,
                          capture_output=True, text=True, timeout=600)


directory = rt.workdir("search-options")
for name, job in BASES.items():
    rt.write_job(directory, name, job)
with open(os.path.join(directory, "broken.json"), "w") as f:
    f.write('{"ensembles": [')
# An output directory that holds a search with other options: refused, left as it was.
taken = os.path.join(directory, "taken")
os.makedirs(taken)
with open(os.path.join(taken, "search.json"), "w") as f:
    json.dump({"base_path": "good.json", "target": 30.0, "base_job": GOOD}, f)
CASES.append((["good.json", "--out", "taken", "--mpiexec", rt.MPIEXEC],
              "--out taken: holds a search with another"))

for args, expected in CASES:
    before = listing(directory)
    argv = [a.replace("OUT", "out") for a in args]
    if "--mpiexec" not in argv:
        argv += ["--mpiexec", rt.MPIEXEC]
    result = run(directory, argv)
    lines = result.stderr.strip().splitlines()
    ok = result.returncode == 2 and len(lines) == 1 and lines[0].startswith("ridge_search: ") \
        and expected in lines[0]
    rt.check(ok, f"{args}: exit {result.returncode}, stderr {result.stderr.strip()!r}, want "
             f"{expected!r}")
    rt.check(listing(directory) == before, f"{args}: the directory changed "
             f"({sorted(set(listing(directory)) - set(before))})")
    print(f"{'ok  ' if ok else 'FAIL'} {' '.join(args) or '(no arguments)'}: "
          f"{lines[0] if lines else ''}")
rt.finish("test_search_options")
