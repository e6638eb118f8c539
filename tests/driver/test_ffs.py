"""Forward flux sampling against brute force, and against itself with other interfaces.

A shell-free particle (60 core sites, 24x24x4, shell conserved, mu_c = -31 kT) grows by 8 sites of
its largest cluster after ~2*10^4 MC steps. The same job runs
  - 300 brute-force replicas that record their exact first passage to +8 sites;
  - FFS with interfaces 1, 2, 3, 4, 6 and FFS with 2, 3, 5 (target +8 for both).
Checks, with fixed seeds and bounds of 3 standard deviations (a correct code fails one of these
comparisons with probability ~0.3% per seed; the seeds are fixed, so the outcome is reproducible):
  - the two interface sets give the same rate k within 3 sigma (Allen-Frenkel-ten Wolde's sigma of
    each, combined): moving the interfaces leaves the rate unchanged;
  - the brute-force mean first-passage time equals FFS's 1/k + transit (the mean length of a
    transition once it has started) within 3 combined sigma;
  - the bookkeeping: P_i = successes / trials from the per-shot outcomes, the cumulative crossing
    probability is the product of the P_i, every shot starts from a configuration the previous
    stage stored, a start already past the next interface (a jumpy crossing) is an immediate
    success and only such starts are, and the stored transition paths climb through every
    interface.
"""
import math
import os

import h5py
import numpy as np

import ripentest as rt

directory = rt.workdir("ffs")
system = {"shell_thickness": 0, "crossings": 300, "walkers": 20, "successes": 150,
          "shot_tasks": 4, "target": 8}
job = {
    "seed": 21, "lattice": {"lx": 24, "ly": 24, "lz": 4}, "initial": {"core_sites": 60},
    "dynamics": "rejection-free", "model": {"shell_ensemble": "canonical", "mu_core": -31},
    "ensembles": [{"name": "brute", "shell_thickness": 0, "replicas": 300,
                   "max_steps": 10000000, "sample_interval": 100000, "stop_at_doubling": False,
                   "passage": {"levels": [8], "stop": True}}],
    "ffs": [dict(system, name="a", interfaces=[1, 2, 3, 4, 6]),
            dict(system, name="b", interfaces=[2, 3, 5])],
}
path = rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "ffs.h5")
rt.run(["run", path, "--out", out, "--quiet", "--bootstrap", "100"], ranks=2, cwd=directory)


def check_bookkeeping(g, name):
    interfaces = g["interfaces"][()]
    rate = g["rate"]
    count, shots = g["shot_count"][()], g["shot_outcome"][()]
    stage_of_task = np.concatenate(([0] * int(g.attrs["walkers"]),
                                    np.repeat(np.arange(1, len(interfaces)),
                                              int(g.attrs["shot_tasks"]))))
    first = int(g.attrs["first_task"])
    lambdas, counts = g["config_lambda"][()], g["config_count"][()]
    for i in range(len(interfaces) - 1):
        tasks = np.flatnonzero(stage_of_task == i + 1)
        outcomes = np.concatenate([shots[t, :count[t]] for t in tasks])
        rt.check(rate["trials"][i] == len(outcomes) and
                 rate["successes"][i] == (outcomes == 1).sum(),
                 f"{name}: interface {i}: trials/successes differ from the shots")
        for t in tasks:
            for n in range(count[t]):
                source_task, index = g["shot_source"][t, n]
                local = source_task - first
                rt.check(stage_of_task[local] == i and 0 <= index < counts[local],
                         f"{name}: a shot of stage {i + 1} starts from task {source_task}")
                start = lambdas[local, index]
                jumpy = start >= interfaces[i + 1]
                immediate = g["shot_steps"][t, n] == 0 and shots[t, n] == 1
                rt.check(jumpy == immediate, f"{name}: a start at λ = {start} (next interface "
                         f"{interfaces[i + 1]}) and a shot of {g['shot_steps'][t, n]} steps")
    p = rate["p"][()]
    rt.check(np.allclose(rate["cumulative"][()], np.concatenate(([1.0], np.cumprod(p)))),
             f"{name}: cumulative probability is not the product of the P_i")
    for path_lambda in rate["path_lambda"][()]:
        rt.check(all(path_lambda[i] >= interfaces[i] for i in range(len(interfaces))),
                 f"{name}: a stored path does not pass every interface: {path_lambda}")
    return float(rate.attrs["rate"]), float(rate.attrs["rate_sigma"]), \
        float(rate.attrs["transit"])


with h5py.File(out, "r") as f:
    results = {n: check_bookkeeping(f[f"ffs/{n}"], n) for n in ("a", "b")}
    times = f["ensembles/brute/passage_time"][:, 0]
rt.check((times > 0).all(), "a brute-force replica did not reach +8 sites")
(ka, sa, ta), (kb, sb, tb) = results["a"], results["b"]
z = abs(math.log(ka / kb)) / math.hypot(sa / ka, sb / kb)
rt.check(z < 3, f"interfaces 1,2,3,4,6 and 2,3,5 give k = {ka:.4g} and {kb:.4g}: {z:.1f} sigma")
print(f"k = {ka:.4g} +- {sa:.2g} and {kb:.4g} +- {sb:.2g} per MC step: {z:.2f} sigma apart")
mean, sem = times.mean(), times.std(ddof=1) / math.sqrt(len(times))
for name, (k, s, transit) in results.items():
    predicted = 1 / k + transit
    z = abs(mean - predicted) / math.hypot(sem, s / k ** 2)
    rt.check(z < 3, f"{name}: brute-force MFPT {mean:.0f} +- {sem:.0f}, FFS 1/k + transit "
             f"{predicted:.0f} +- {s / k ** 2:.0f}: {z:.1f} sigma")
    print(f"{name}: brute force {mean:.0f} +- {sem:.0f} MC steps, FFS {predicted:.0f} +- "
          f"{s / k ** 2:.0f}: {z:.2f} sigma")
rt.finish("test_ffs")
