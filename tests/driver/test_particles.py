"""Lists of particles, their tracking and seeded defects, through a real run and the analysis.

The file's particle datasets against the series the ensemble samples anyway: at every sample
the particles' core plus the free core is N_core, their shell plus the free shell is N_shell,
the largest particle is at most the largest cluster, their exposed core at most the exposed
core; every id is a particle exactly between the event that made it (step 0 for the initial
ones) and the one that ended it; origins follow the splits; the initial table is the job's.
Then analysis/particles.py and figures.py on the file: the seeded holes' fates equal a
recomputation from the exposed-core and N_core series (not from the episodes), the outcomes
agree with the events, the Ostwald points (two shell-free particles) and the mixed
population's counts agree with the particles' series, and the movie has one frame per snapshot;
analysis/doc_numbers.py's numbers of jobs/ostwald.json and competition.json quote the same counts.
"""
import os
import subprocess

import h5py
import numpy as np

import ripentest as rt

ANALYSIS = os.path.join(rt.SOURCE, "analysis")

directory = rt.workdir("particles")
job = rt.quick_job(seed=21, replicas=4, steps=2000, windows=False, particles=True)
# The tracked set: weak bonds near balance, snapshots for the movie.
job["ensembles"][2].update({"sample_interval": 20, "snapshot_interval": 200,
                            "reservoir": {"core_units": 60}})
# Seeded holes at the paper-like point (a plain shelled baseline of the same system first).
paper_like = {"eps_interface": 5.2, "mu_core": -29, "mu_shell": -26.25}
job["ensembles"][0].update({"model": paper_like, "dynamics": "rejection-free", "replicas": 8,
                            "max_steps": 20000, "sample_interval": 20})
job["ensembles"][1].update({"model": paper_like, "dynamics": "rejection-free", "replicas": 4,
                            "max_steps": 20000})
job["ensembles"][3] = {"name": "facet", "replicas": 8, "max_steps": 20000, "sample_interval": 20,
                       "model": paper_like, "dynamics": "rejection-free",
                       "initial": {"defect": {"place": "facet"}},
                       "sweep": {"initial.defect.sites": [2, 8]}}
# Two shelled particles at the paper's couplings for a few steps: tracked, no event at all.
job["ensembles"].append({"name": "quiet", "replicas": 2, "max_steps": 60, "sample_interval": 20,
                         "stop_at_doubling": False, "initial": {"core_sites": 28, "particles": [
                             {"x": 7, "y": 7}, {"x": 22, "y": 20}]}})
# Two shell-free particles sharing a finite solution at two sizes of the smaller (the Ostwald
# map), and four particles of both kinds (the mixed population's table).
for name, small in (("ostwald-a", 24), ("ostwald-b", 48)):
    job["ensembles"].append({
        "name": name, "replicas": 4, "max_steps": 1000, "sample_interval": 10,
        "stop_at_doubling": False, "dynamics": "rejection-free", "track_min_core": 4,
        "reservoir": {"core_units": 40}, "model": {"eps_core": 3, "mu_core": -11, "mu_shell": -60},
        "initial": {"shell_thickness": 0, "particles": [
            {"x": 7, "y": 7, "core_sites": 192}, {"x": 22, "y": 20, "core_sites": small}]}})
job["ensembles"].append({
    "name": "mixed4", "replicas": 2, "max_steps": 400, "sample_interval": 20,
    "stop_at_doubling": False, "dynamics": "rejection-free", "track_min_core": 4,
    "reservoir": {"core_units": 40}, "model": {"eps_core": 3, "mu_core": -11, "mu_shell": -60},
    "initial": {"core_sites": 12, "shell_thickness": 1, "particles": [
        {"x": 7, "y": 7}, {"x": 22, "y": 7, "shell_thickness": 0, "core_sites": 40},
        {"x": 7, "y": 22, "shell_thickness": 0}, {"x": 22, "y": 22, "core_sites": 40}]}})
job["lattice"] = {"lx": 30, "ly": 30, "lz": 4}
path = rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "job.h5")
rt.run(["run", path, "--out", out, "--quiet"], cwd=directory)

with h5py.File(out, "r") as f:
    g = f["ensembles/particles"]
    p = g["particles"]
    length = g["series_length"][()]
    n_core, n_shell = g["n_core"][()], g["n_shell"][()]
    core, shell, exposed = p["core"][()], p["shell"][()], p["exposed_core"][()]
    steps = g["series_step"][()]
    rt.check(g.attrs["particles"] == 2 and g.attrs["particle_gap"] == 2, "list attributes")
    initial = p["initial"][()]
    rt.check(list(initial[0, :4]) == [6, 6, 24, 1] and list(initial[1, :4]) == [16, 15, 12, 0],
             f"initial table {initial[:, :4].tolist()}")
    rt.check(initial[0, 6] == g["core_sites"][0] - initial[1, 6], "the table's core sites")
    events_seen = 0
    for r in range(len(length)):
        n = length[r]
        present = core[r, :n] >= 0
        total = np.where(present, core[r, :n], 0).sum(axis=1) + p["free_core"][r, :n]
        rt.check(np.array_equal(total, n_core[r, :n]), f"replica {r}: core does not add up")
        total = np.where(present, shell[r, :n], 0).sum(axis=1) + p["free_shell"][r, :n]
        rt.check(np.array_equal(total, n_shell[r, :n]), f"replica {r}: shell does not add up")
        rt.check(np.all(np.where(present, core[r, :n], 0).max(axis=1) <=
                        g["largest_cluster"][r, :n]), f"replica {r}: a particle beyond the "
                 "largest cluster")
        rt.check(np.all(np.where(present, exposed[r, :n], 0).sum(axis=1) <=
                        g["exposed_core"][r, :n]), f"replica {r}: exposed core")
        rt.check(np.all(core[r, :n][present] >= p.attrs["min_core"]), "a particle below min_core")
        rt.check(np.all(np.isnan(p["centre"][r, :n][~present])) and
                 np.all(np.isfinite(p["centre"][r, :n][present])), "centres where particles are")
        ids = p["count"][r]
        begin, end = np.zeros(ids, int), np.full(ids, n)
        origin = list(range(ids))
        for step, kind, pid, other in p["events"][r, :p["event_count"][r]]:
            k = int(np.searchsorted(steps, step))
            if kind in (2, 3):  # split, appear: a particle from this sample on
                begin[pid] = k
                origin[pid] = origin[other] if kind == 2 else -1
            else:               # vanish, merge: gone at this sample
                end[pid] = k
            events_seen += 1
        for q in range(ids):
            expected = np.zeros(n, bool)
            expected[begin[q]:end[q]] = True
            rt.check(np.array_equal(present[:, q], expected),
                     f"replica {r}: id {q} present outside its events")
        rt.check(list(p["origin"][r, :ids]) == origin, f"replica {r}: origins")
    rt.check(events_seen > 0, "the tracked set should have events")
    print(f"tracked set: {len(length)} replicas, {events_seen} events, sums hold")
    q = f["ensembles/quiet/particles"]
    rt.check(list(q["event_count"][()]) == [0, 0] and q["events"].shape[1] == 0 and
             np.all(q["core"][()] == f["ensembles/quiet/particles/initial"][:, 6]),
             "a tracked set without events")
    d = f["ensembles/facet@sites=2"]
    rt.check(d.attrs["defect_place"] == "facet" and d.attrs["defect_sites"] == 2,
             "defect attributes")
    rt.check(d["shell_sites"][0] == f["ensembles/shelled/shell_sites"][0] - 2, "2 sites removed")
    rt.check(np.all(d["exposed_core"][:, 0] > 0), "a seeded particle starts exposed")


def fates_from_series(f, name):
    """The fate of each replica's seeded hole from the series: the first sample with no
    exposed core closes it; its N_core gain since step 0 decides healed (<= 0), filled (<= 5%
    of the initial core) or grown through (more, or never closed)."""
    g = f[f"ensembles/{name}"]
    fates = []
    for r in range(g.attrs["replicas"]):
        n = g["series_length"][r]
        exposed, core = g["exposed_core"][r, :n], g["n_core"][r, :n]
        closed = np.flatnonzero(exposed == 0)
        if not len(closed):
            fates.append(2)
            continue
        gain = core[closed[0]] - core[0]
        fates.append(0 if gain <= 0 else 1 if gain <= 0.05 * g["core_sites"][r] else 2)
    return fates


import sys  # noqa: E402

sys.path.insert(0, ANALYSIS)
import particles  # noqa: E402
import ripen_results as rr  # noqa: E402

with rr.open_results(out) as f:
    groups = particles.catalysis(f, out)
    rt.check(len(groups) == 1 and groups[0].baseline.ensemble.name == "shelled" and
             groups[0].shell_free.ensemble.name == "shell-free",
             "one catalysis group with its baseline and shell-free set")
    for row in groups[0].rows:
        expected = fates_from_series(f, row.name)
        rt.check(list(row.holes.fate) == expected, f"{row.name}: fates {list(row.holes.fate)} "
                 f"vs the series' {expected}")
    parts = rr.read_particles(f, "particles")
    for o in particles.outcomes(parts):
        for q in range(2):
            went = [e[0] for e in parts.events[o.replica] if e[2] == q and e[1] in
                    ("vanish", "merge")]
            rt.check(o.gone_at[q] == (went[0] if went else -1), "outcome against the events")
    snapshots = int(f["ensembles/particles/snapshot_count"][0])
    # The finite solution: mu_c at step 0 is the job's (N = N_ref), the content total - N_core.
    g = f["ensembles/particles"]
    mu = particles.solution_mu(f, "particles")
    rt.check(g.attrs["reservoir_core_total"] == 60 + g["core_sites"][0] and
             np.allclose(mu[:, 0], g.attrs["mu_core"]), "the solution at step 0")
    content = g.attrs["reservoir_core_total"] - g["n_core"][0, :g["series_length"][0]]
    rt.check(np.all(content >= 0) and np.allclose(
        mu[0, :len(content)], g.attrs["mu_core"] + np.log(content / 60.0)), "mu_c(t)")

    # The Ostwald points: the smaller (id 1) went at the first sample without it, in the
    # replicas where there is one; the larger's growth from its own series.
    points = {p.name: p for p in particles.ostwald_points(f)}
    rt.check(sorted(points) == ["ostwald-a", "ostwald-b"], f"Ostwald points {sorted(points)}")
    for name, point in points.items():
        q = rr.read_particles(f, name)
        for k, r in enumerate(np.flatnonzero(q.present)):
            n = int(q.length[r])
            absent = np.flatnonzero(q.core[r, :n, 1] < 0)
            rt.check(point.gone[k] == bool(len(absent)) and
                     point.times[k] == (q.steps[absent[0]] if len(absent) else q.steps[n - 1]),
                     f"{name} replica {r}: the smaller's time to go")
            rt.check(point.growth[k] == max(q.core[r, n - 1, 0], 0) - q.core[r, 0, 0],
                     f"{name} replica {r}: the larger's growth")
    # The mixed population: the initial particles present at the last sample, per kind.
    q = rr.read_particles(f, "mixed4")
    pop = particles.population(q, 1.0)
    shelled = q.initial[:, 3] > 0
    for k, r in enumerate(np.flatnonzero(q.present)):
        last = q.core[r, int(q.length[r]) - 1, :4]
        for kind, mask in (("shelled", shelled), ("shell-free", ~shelled)):
            alive = last[mask & (last >= 0)]
            rt.check(pop[kind][0][k] == len(alive) and
                     (np.isnan(pop[kind][1][k]) if not len(alive) else
                      np.isclose(pop[kind][1][k], alive.mean())), f"mixed4 {r}: {kind} left")

# doc_numbers (the docs' numbers of jobs/ostwald.json and competition.json) on this file: the
# counts it quotes equal those of the particles' series (the smaller gone; the winner of the
# shelled / shell-free pair by final core; the mixed population's shelled left at the end).
import doc_numbers  # noqa: E402

numbers = doc_numbers.ostwald_numbers(out)
numbers.update(doc_numbers.competition_numbers(out))
with h5py.File(out, "r") as f:
    for name in ("ostwald-a", "ostwald-b"):
        q = rr.read_particles(f, name)
        small = int(q.initial[1, 6])  # the smaller's core sites as built
        went = sum(bool(np.any(q.core[r, :int(q.length[r]), 1] < 0))
                   for r in np.flatnonzero(q.present))
        key = f"ostwald.3,1.{small}.went"  # eps_core 3, delta = mu_core + 4 eps_core = 1
        rt.check(numbers.get(key) == f"{went}/{int(q.present.sum())}",
                 f"{key}: {numbers.get(key)}, the series say {went}")
    q = rr.read_particles(f, "particles")
    final = [q.core[r, int(q.length[r]) - 1, :2] for r in np.flatnonzero(q.present)]
    free = int(np.flatnonzero(q.initial[:, 3] == 0)[0])
    wins = sum(c[free] > max(c[1 - free], 0) for c in final)
    rt.check(numbers["competition.particles.free_wins"].endswith(f"({wins}/{len(final)})"),
             f"free_wins {numbers['competition.particles.free_wins']}, series {wins}")
    q = rr.read_particles(f, "mixed4")
    left = np.mean([np.sum((q.core[r, int(q.length[r]) - 1, :4] >= 0) & (q.initial[:, 3] > 0))
                    for r in np.flatnonzero(q.present)])
    rt.check(numbers["competition.mixed4.f4.shelled.left"].startswith(f"{left:.2f}"),
             f"mixed4 shelled left {numbers['competition.mixed4.f4.shelled.left']}, {left}")
rt.check(not any(n.startswith(("competition.quiet.", "competition.ostwald-")) for n in numbers),
         "competition numbers of sets of one kind")

figures = os.path.join(directory, "figures")
result = subprocess.run(["/usr/bin/python3", os.path.join(ANALYSIS, "particles.py"), out, "-o",
                         figures, "--movie", "particles:0"], capture_output=True, text=True)
rt.check(result.returncode == 0, f"particles.py failed: {result.stderr}")
result = subprocess.run(["/usr/bin/python3", os.path.join(ANALYSIS, "figures.py"), out, "-o",
                         figures], capture_output=True, text=True)
rt.check(result.returncode == 0, f"figures.py failed: {result.stderr}")
for name in ("catalysis.png", "particles-particles.png", "particles-particles-0.gif",
             "particles.md", "results.md", "fig5a.png"):
    rt.check(os.path.getsize(os.path.join(figures, name)) > 0, f"{name} missing")
with open(os.path.join(figures, "results.md")) as md:
    text = md.read()
rt.check("## Seeded defects: catalysis" in text and "## Particles" in text and
         "## Ostwald ripening of two shell-free particles" in text and
         "| MC steps | shelled left |" in text, "results.md sections")
from PIL import Image  # noqa: E402

with Image.open(os.path.join(figures, "particles-particles-0.gif")) as gif:
    rt.check(gif.n_frames == snapshots, f"movie: {gif.n_frames} frames, {snapshots} snapshots")
result = subprocess.run(["/usr/bin/python3", os.path.join(ANALYSIS, "particles.py"), out, "-o",
                         figures, "--movie", "shell-free:0"], capture_output=True, text=True)
rt.check(result.returncode == 2 and result.stderr.count("\n") == 1 and
         "kept no snapshots" in result.stderr, f"movie without snapshots: {result.stderr}")
rt.finish("test_particles")
