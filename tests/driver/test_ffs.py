"""Forward flux sampling against brute force, and against itself with other interfaces.

A shell-free particle (60 core sites, 24x24x4, shell conserved, mu_c = -31 kT) grows by 8 sites of
its largest cluster after ~2*10^4 MC steps, and by 16 after ~4*10^4: the second 8 wait for a
second nucleation, which a walker that crossed lambda_0 = 1 almost always survives, so there the
walkers reach the target often (the transition is not rare from the basin). The same job runs
  - 300 brute-force replicas that record their exact first passage to +8 and +16 sites;
  - FFS with interfaces 1, 2, 3, 4, 6 and FFS with 2, 3, 5 (target +8 for both), and FFS with
    1 ... 14 to +16.
Checks, with fixed seeds and bounds of 3 standard deviations (a correct code fails one of these
comparisons with probability ~0.3% per seed; the seeds are fixed, so the outcome is reproducible):
  - the two interface sets give the same rate k within 3 sigma (Allen-Frenkel-ten Wolde's sigma of
    each, combined): moving the interfaces leaves the rate unchanged;
  - the brute-force mean first-passage time equals FFS's 1/k + transit (the mean length of a
    transition from lambda_0 to the target) within 3 combined sigma, for all three sets;
  - to +16, where walkers reached the target: their excursions from lambda_0 to the target are
    left out of the flux time (walker_excursion_time > 0 exactly for the walkers that did), and
    counting them in (the method's flux taken over all of the walkers' time) would put 1/k +
    transit more than 3 sigma away from brute force: the check above can tell the difference;
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
two_steps = dict(system, crossings=600, walkers=40, successes=300, target=16)
job = {
    "seed": 21, "lattice": {"lx": 24, "ly": 24, "lz": 4}, "initial": {"core_sites": 60},
    "dynamics": "rejection-free", "model": {"shell_ensemble": "canonical", "mu_core": -31},
    "ensembles": [{"name": "brute", "shell_thickness": 0, "replicas": 300,
                   "max_steps": 10000000, "sample_interval": 100000, "stop_at_doubling": False,
                   "passage": {"levels": [8, 16], "stop": True}}],
    "ffs": [dict(system, name="a", interfaces=[1, 2, 3, 4, 6]),
            dict(system, name="b", interfaces=[2, 3, 5]),
            dict(two_steps, name="c", interfaces=[1, 2, 3, 4, 6, 8, 10, 12, 14])],
}
path = rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "ffs.h5")
rt.run(["run", path, "--out", out, "--quiet", "--bootstrap", "400"], ranks=2, cwd=directory)


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
    return {key: float(rate.attrs[key]) for key in
            ("rate", "rate_sigma", "transit", "passage", "passage_lower", "passage_upper")}


def passage_sigma(r):
    """The standard deviation of 1/k + transit from its bootstrap 95% interval (half its width
    over 1.96)."""
    return (r["passage_upper"] - r["passage_lower"]) / (2 * 1.96)


with h5py.File(out, "r") as f:
    results = {n: check_bookkeeping(f[f"ffs/{n}"], n) for n in ("a", "b", "c")}
    times = f["ensembles/brute/passage_time"][()]
    c = f["ffs/c"]
    resets, excursions = c["walker_resets"][()], c["walker_excursion_time"][()]
    counted = c["walker_time"][()]
rt.check((times > 0).all(), "a brute-force replica did not reach +8 or +16 sites")
a, b = results["a"], results["b"]
z = abs(math.log(a["rate"] / b["rate"])) / math.hypot(a["rate_sigma"] / a["rate"],
                                                       b["rate_sigma"] / b["rate"])
rt.check(z < 3, f"interfaces 1,2,3,4,6 and 2,3,5 give k = {a['rate']:.4g} and {b['rate']:.4g}: "
         f"{z:.1f} sigma")
print(f"k = {a['rate']:.4g} +- {a['rate_sigma']:.2g} and {b['rate']:.4g} +- "
      f"{b['rate_sigma']:.2g} per MC step: {z:.2f} sigma apart")
for name, column in (("a", 0), ("b", 0), ("c", 1)):
    r, t = results[name], times[:, column]
    mean, sem = t.mean(), t.std(ddof=1) / math.sqrt(len(t))
    z = abs(mean - r["passage"]) / math.hypot(sem, passage_sigma(r))
    rt.check(abs(r["passage"] - (1 / r["rate"] + r["transit"])) <= 1e-9 * r["passage"],
             f"{name}: passage {r['passage']} is not 1/k + transit")
    rt.check(z < 3, f"{name}: brute-force MFPT {mean:.0f} +- {sem:.0f}, FFS 1/k + transit "
             f"{r['passage']:.0f} +- {passage_sigma(r):.0f}: {z:.1f} sigma")
    print(f"{name}: brute force {mean:.0f} +- {sem:.0f} MC steps, FFS {r['passage']:.0f} +- "
          f"{passage_sigma(r):.0f} (1/k {1 / r['rate']:.0f} + transit {r['transit']:.0f}): "
          f"{z:.2f} sigma")

# To +16 the walkers reach the target; their excursions there are what the flux leaves out.
rt.check(resets.sum() >= 10, f"c: walkers reached +16 only {resets.sum()} times: the not-rare "
         "case is not tested")
rt.check(((excursions > 0) == (resets > 0)).all(),
         f"c: excursion time {excursions} where walkers reached the target {resets} times")
r, t = results["c"], times[:, 1]
naive = (counted.sum() + excursions.sum()) / counted.sum() / r["rate"] + r["transit"]
sem = t.std(ddof=1) / math.sqrt(len(t))
z = abs(t.mean() - naive) / math.hypot(sem, passage_sigma(r) * naive / r["passage"])
rt.check(z > 3, f"c: with the excursions counted in the flux time 1/k + transit would be "
         f"{naive:.0f}, only {z:.1f} sigma from brute force {t.mean():.0f}: the comparison "
         "cannot tell the accounting apart")
print(f"c: with the excursions counted the prediction would be {naive:.0f} ({z:.1f} sigma off)")
rt.finish("test_ffs")
