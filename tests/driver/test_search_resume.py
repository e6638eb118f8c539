"""analysis/ridge_search.py: a search killed (SIGKILL, the whole process group) after some of its
points are done resumes from the same command without running those points again (their files
untouched, the log says they were skipped), and ends with the same points, results and tables
as an uninterrupted search; a third invocation runs nothing. The search itself works on a small
system whose ratio rises and falls along mu_s: it finds both crossings of the target."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import ripentest as rt

SEARCH = os.path.join(rt.SOURCE, "analysis", "ridge_search.py")
# A small particle in a small box: the ratio of median doubling times rises from ~5 at mu_s =
# -26 to > 40 at -23 and falls to ~3 at -21 (measured), so the target 10 is crossed twice.
BASE = {"seed": 3, "lattice": {"lx": 20, "ly": 20, "lz": 3}, "initial": {"core_sites": 36},
        "dynamics": "rejection-free", "model": {"mu_core": -27.0},
        "ensembles": [{"name": "shelled", "shell_thickness": 1, "replicas": 6,
                       "max_steps": 20000, "sample_interval": 50},
                      {"name": "shell-free", "shell_thickness": 0, "replicas": 6,
                       "max_steps": 20000, "sample_interval": 50}]}
OPTIONS = ["--mu-shell=-26,-21", "--target", "10", "--bisections", "1", "--ranks", "2",
           # criterion 7 at the best point: a rerun with a third ensemble at mu_c -30
           "--shell-life=-30", "--shell-life-points", "1", "--shell-life-replicas", "4",
           "--shell-life-steps", "20000"]

directory = rt.workdir("search-resume")
base = rt.write_job(directory, "base.json", BASE)


def command(out):
    return [sys.executable, SEARCH, base, "--out", out, "--ripen", os.path.abspath(rt.RIPEN),
            "--mpiexec", rt.MPIEXEC] + OPTIONS


def search(out):
    result = subprocess.run(command(out), cwd=directory, env=rt.environment(),
                            capture_output=True, text=True, timeout=900)
    rt.check(result.returncode == 0, f"search {out}: exit {result.returncode}: {result.stderr}")
    return result


def points(out):
    """{name: path} of the complete point files."""
    folder = os.path.join(directory, out, "points")
    found = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if name.endswith(".h5") and not os.path.exists(path + ".partial"):
            try:
                with rt.h5py.File(path, "r") as f:
                    if f.attrs.get("complete") == 1:
                        found[name] = path
            except OSError:
                pass
    return found


def tables(out):
    """search.md without what legitimately differs between runs (wall times, --out)."""
    with open(os.path.join(directory, out, "search.md")) as f:
        text = f.read()
    text = re.sub(r"wall time of this invocation .*", "", text)
    return text.replace(f"--out {out}", "--out OUT")


started = time.time()
search("reference")
duration = time.time() - started
reference = points("reference")
with open(os.path.join(directory, "reference", "ridge.json")) as f:
    ridge = json.load(f)["ridge"]
branches = sorted(r["branch"] for r in ridge)
found = [(r["branch"], r["results"]["ratio"]["text"]) for r in ridge]
print(f"reference: {len(reference)} points, ridge {found}, {duration:.1f} s")
rt.check(branches == ["high μ_s", "low μ_s"], f"crossings found: {branches}")
# Both brackets were halved once: each crossing's final bracket is one coarse step over 2.
rt.check(all(abs(r["bracket"][1] - r["bracket"][0] - 0.5) < 1e-12 for r in ridge) and
         len(reference) >= 6, f"points: {sorted(reference)}, brackets "
         f"{[r['bracket'] for r in ridge]}")

# The agreement table ("Which criteria hold together") against the criteria of every point file,
# evaluated here afresh: cell (a, b) counts the points where both a and b pass.
sys.path.insert(0, os.path.join(rt.SOURCE, "analysis"))
import criteria  # noqa: E402

verdicts = [{r.name: r.status for r in criteria.evaluate_file(path)[0].results}
            for name, path in reference.items() if not name.endswith(",life.h5")]
# criterion 7's reruns: the best point's, with the pair of the point's own file bit for bit
lives = [name for name in reference if name.endswith(",life.h5")]
rt.check(len(lives) == 1, f"criterion 7 reruns: {lives}")
for name in lives:
    rerun = criteria.evaluate_file(reference[name])[0]
    own = criteria.evaluate_file(reference[name].replace(",life.h5", ".h5"))[0]
    rt.check([(r.name, r.text) for r in rerun.results if r.name != "persist"] ==
             [(r.name, r.text) for r in own.results if r.name != "persist"] and
             own.result("persist").text.startswith("no shell lifetime") and
             not rerun.result("persist").text.startswith("no shell lifetime"),
             f"{name}: {rerun.results} vs {own.results}")
    with rt.h5py.File(reference[name], "r") as f, \
            rt.h5py.File(reference[name].replace(",life.h5", ".h5"), "r") as g:
        for e in ("shelled", "shell-free"):
            rt.check(all((f[f"ensembles/{e}/{k}"][()] == g[f"ensembles/{e}/{k}"][()]).all()
                         for k in ("tau", "steps_run", "n_core")), f"{name}: {e} differs")
with open(os.path.join(directory, "reference", "search.md")) as f:
    text = f.read()
section = text.split("## Which criteria hold together")[1].split("## Every point")[0]
rows = [line.split(" | ") for line in section.splitlines() if re.match(r"\| \d ", line)]
named = {criteria.TITLES[n]: n for n in criteria.NAMES}
for row in rows:
    a = named[row[0].lstrip("| ")]
    columns = [named[c] for c in section.split("| passes | n | ")[1].split(" |\n")[0].split(" | ")]
    want = [sum(v[a] == v[b] == criteria.PASS for v in verdicts) for b in columns]
    got = [int(c.rstrip(" |")) for c in row[2:]]
    rt.check(int(row[1]) == sum(v[a] == criteria.PASS for v in verdicts) and got == want,
             f"agreement row {a}: {row[1:]} vs {want}")
rt.check(len(rows) >= 3, f"agreement table: {len(rows)} rows")
best = text.split("## Best points")[1].split("## Which")[0]
most = max(sum(s == criteria.PASS for s in v.values()) for v in verdicts)
rt.check(f": {most} passed |" in best.splitlines()[4], f"best point: {best.splitlines()[4]}")
print(f"agreement table: {len(rows)} criteria checked against {len(verdicts)} point files; "
      f"best point passes {most}")

# Kill the search once at least two points are complete (and a third is likely running). Every
# check below holds wherever the kill lands, even after the last point (then the resume skips
# them all): no outcome depends on how fast the machine is.
process = subprocess.Popen(command("run"), cwd=directory, env=rt.environment(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
while len(points("run")) < 2 and process.poll() is None:
    time.sleep(0.05)
rt.kill_group(process, signal.SIGKILL)
process.communicate()
done = points("run")
rt.check(len(done) >= 2, f"killed with {len(done)} points done")
if len(done) == len(reference):
    print("note: the search finished before the kill; the resume below skips every point")
stamps = {name: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for name, p in done.items()}
result = search("run")
skipped = re.findall(r"point (\S+): .*\(done before, skipped\)", result.stdout)
rt.check(sorted(f"{s}.h5" for s in skipped) == sorted(done),
         f"skipped {skipped}, done before {sorted(done)}")
for name, stamp in stamps.items():
    path = os.path.join(directory, "run", "points", name)
    rt.check((os.stat(path).st_ino, os.stat(path).st_mtime_ns) == stamp, f"{name} was rewritten")
rt.check(sorted(points("run")) == sorted(reference), "resumed search: other points")
for name, path in reference.items():
    differences = rt.same_results(path, os.path.join(directory, "run", "points", name))
    rt.check(not differences, f"{name}: {differences[:3]}")
rt.check(tables("run") == tables("reference"), "resumed search: tables differ")
print(f"killed after {len(done)} points; resumed: {len(skipped)} skipped, "
      f"{len(reference) - len(skipped)} run, tables "
      f"{'identical' if tables('run') == tables('reference') else 'DIFFERENT'}")

# Everything done: a third invocation runs no point.
result = search("run")
rt.check(len(re.findall(r"done before, skipped", result.stdout)) == len(reference) and
         "ran in" not in result.stdout, f"third run: {result.stdout[-500:]}")
rt.finish("test_search_resume")
