"""Crack observables and the paper's criteria (analysis/criteria.py).

1. A real run's crack datasets against independent computations: the exposed core of every
   snapshot counted from its lattice with numpy, and the episodes, onset, first exposure and
   shell change recomputed from the series by a plain loop written here (not crack.c's).
2. The criteria on a synthetic file built with h5py whose answers are known by construction:
   a pair that passes every criterion, one that fails each, one the file cannot decide, a file
   without crack observables, and the take-off times of the Weibull fit by hand.
3. The command line: a table for a real file, one-line errors with exit status 2.
"""
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

import ripentest as rt

sys.path.insert(0, os.path.join(rt.SOURCE, "analysis"))
import criteria  # noqa: E402
import ripen_results as rr  # noqa: E402

CRITERIA = os.path.join(rt.SOURCE, "analysis", "criteria.py")
directory = rt.workdir("criteria")

# ----------------------------------------------------------------------------------------------
# 1. A real run against independent computations

# Weak couplings near balance on a small box: cracks open and heal within a few hundred steps,
# some replicas double and some do not (measured: a mix of both at this seed).
MODEL = {"eps_core": 4.0, "eps_shell": 3.5, "eps_interface": 3.5, "mu_core": -14.5,
         "mu_shell": -14.0}
job = {"seed": 3, "lattice": {"lx": 24, "ly": 24, "lz": 3}, "initial": {"core_sites": 36},
       "dynamics": "rejection-free", "model": MODEL,
       "ensembles": [
           {"name": "shelled", "shell_thickness": 1, "replicas": 6, "max_steps": 3000,
            "sample_interval": 1, "snapshot_interval": 10, "snapshot_replicas": 2},
           {"name": "shell-free", "shell_thickness": 0, "replicas": 6, "max_steps": 3000,
            "sample_interval": 1},
           # Samples every 7 steps: doubling falls between samples, cracks shorter than that
           # are missed (the bookkeeping must use the samples only).
           {"name": "coarse", "shell_thickness": 1, "replicas": 6, "max_steps": 3000,
            "sample_interval": 7, "snapshot_interval": 14, "snapshot_replicas": 2}]}
path = os.path.join(directory, "real.h5")
rt.run(["run", rt.write_job(directory, "real.json", job), "--out", path, "--quiet"],
       cwd=directory)


def brute_exposed(states):
    """Core sites with a solution neighbour among the 8 (periodic; axial in-plane offsets)."""
    core = states == 1
    solution = states == 0
    touching = np.zeros_like(core)
    for dz, dy, dx in ((0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (0, -1, 1), (0, 1, -1),
                       (1, 0, 0), (-1, 0, 0)):
        touching |= np.roll(solution, shift=(-dz, -dy, -dx), axis=(0, 1, 2))
    return int(np.sum(core & touching))


def reference_episodes(exposed, n_core, interval):
    """(start, end, peak, growth, closed) of each maximal exposed run, by the definition in
    docs/hdf5-layout.md."""
    out, k, n = [], 0, len(exposed)
    while k < n:
        if exposed[k] <= 0:
            k += 1
            continue
        first = k
        while k < n and exposed[k] > 0:
            k += 1
        end = k if k < n else n - 1
        before = max(first - 1, 0)
        out.append((first * interval, end * interval, int(max(exposed[first:k])),
                    int(n_core[end]) - int(n_core[before]), int(k < n)))
    return out


def reference_onset(size, initial, tau, interval):
    n = len(size)
    last = n - 1 if tau < 0 else min(n - 1, tau // interval)
    grown = [100 * s > 105 * initial for s in size]
    if tau < 0 and not grown[last]:
        return -1
    candidates = [k for k in range(last + 1) if not grown[k]]
    return candidates[-1] * interval if candidates else -1


checked = {"episodes": 0, "healed": 0, "doubled": 0, "censored": 0, "snapshots": 0}
with h5py.File(path, "r") as f:
    for name in ("shelled", "shell-free", "coarse"):
        g = f["ensembles/" + name]
        interval = int(g.attrs["sample_interval"])
        lengths = g["series_length"][()]
        for r in range(len(lengths)):
            n = int(lengths[r])
            exposed, n_core = g["exposed_core"][r, :n], g["n_core"][r, :n]
            cluster, n_shell = g["largest_cluster"][r, :n], g["n_shell"][r, :n]
            tau = int(g["tau"][r])
            episodes = reference_episodes(exposed, n_core, interval)
            count = int(g["crack_episodes"][r])
            stored = [(int(g["episode_start"][r, k]), int(g["episode_end"][r, k]),
                       int(g["episode_peak"][r, k]), int(g["episode_growth"][r, k]),
                       int(g["episode_closed"][r, k])) for k in range(count)]
            rt.check(stored == episodes, f"{name} {r}: episodes {stored[:4]} != {episodes[:4]}")
            rt.check((g["episode_closed"][r, count:] == 255).all(), f"{name} {r}: fill")
            healed = sum(1 for e in episodes if e[4] and e[3] <= 0)
            rt.check(int(g["healed_episodes"][r]) == healed, f"{name} {r}: healed")
            first = next((k * interval for k in range(n) if exposed[k] > 0), -1)
            rt.check(int(g["first_exposure"][r]) == first, f"{name} {r}: first exposure")
            onset = reference_onset(cluster, int(g["initial_size"][r, 0]), tau, interval)
            rt.check(int(g["onset"][r]) == onset,
                     f"{name} {r}: onset {g['onset'][r]} != {onset}")
            growth = tau - onset if tau >= 0 and onset >= 0 else -1
            rt.check(int(g["growth_time"][r]) == growth, f"{name} {r}: growth time")
            change = g["shell_change"][r]
            if tau < 0:
                rt.check(math.isnan(change), f"{name} {r}: shell change without doubling")
            elif interval == 1:  # the replica stopped at tau, which was sampled
                rt.check(change == int(n_shell[tau]) - int(n_shell[0]),
                         f"{name} {r}: shell change {change}, series say "
                         f"{int(n_shell[tau]) - int(n_shell[0])}")
            checked["episodes"] += count
            checked["healed"] += healed
            checked["doubled" if tau >= 0 else "censored"] += 1
        # The exposed core of each snapshot (every snapshot step is a sample step).
        for p in range(int(g["snapshot_count"].shape[0]) if "snapshot_count" in g else 0):
            for k in range(int(g["snapshot_count"][p])):
                step = int(g["snapshot_step"][k])
                want = brute_exposed(g["snapshots"][p, k])
                got = int(g["exposed_core"][p, step // interval])
                rt.check(got == want, f"{name} replica {p} step {step}: exposed {got}, "
                         f"counted {want}")
                checked["snapshots"] += 1
    # The episodes' extent is the most any replica had.
    most = max(int(f[f"ensembles/{n}/crack_episodes"][()].max()) for n in ("shelled",))
    rt.check(f["ensembles/shelled/episode_start"].shape[1] == most, "episode extent")
print(f"real run: {checked}")
# The run must exercise what it checks.
rt.check(checked["episodes"] >= 10 and checked["healed"] >= 3 and checked["doubled"] >= 2 and
         checked["censored"] >= 2 and checked["snapshots"] >= 100,
         f"too little to check: {checked}")

# ----------------------------------------------------------------------------------------------
# 2. A synthetic file with known answers

SYSTEM = {"lx": 80, "ly": 80, "lz": 4, "eps_core": 10.0, "eps_shell": 6.7, "eps_interface": 6.7,
          "mu_core": -30.0, "mu_shell": -24.0, "energy_form": "indicator", "move_set": "vacancy",
          "proposals": "symmetric", "shell_ensemble": "grand-canonical", "bond_neighbours": 8,
          "p_swap": 1 / 51, "dynamics": "rejection-free", "core_sites_requested": 200}


def quantiles(n):
    """(i + 1/2) / n: evenly spread probabilities."""
    return (np.arange(n) + 0.5) / n


def write_ensemble(f, name, first, system, thickness, tau, steps_run, cracks=None, interval=100,
                   max_steps=2_000_000):
    g = f.require_group("ensembles").create_group(name)
    for key, value in dict(system, shell_thickness=thickness, first_task=first,
                           max_steps=max_steps, sample_interval=interval).items():
        g.attrs[key] = value
    tau = np.asarray(tau, np.int64)
    g["tau"] = tau
    g["censored"] = (tau < 0).astype(np.uint8)
    g["steps_run"] = np.asarray(steps_run, np.int64)
    g["shell_sites"] = np.full(len(tau), 240 if thickness else 0, np.int64)
    for key, value in (cracks or {}).items():
        g[key] = value


def write_windows(f, name, first, system, thickness, barrier):
    g = f.require_group("windows").create_group(name)
    for key, value in dict(system, shell_thickness=thickness, first_task=first).items():
        g.attrs[key] = value
    fq = g.create_group("fq")
    fq.attrs["barrier_wham"] = barrier
    for key in ("q", "F_wham", "sigma_wham", "F_mbar", "sigma_mbar"):
        fq[key] = np.zeros(3)


synthetic = os.path.join(directory, "synthetic.h5")
n = 41
# The passing pair: onsets at the exponential quantiles of mean 40000 (a rare, memoryless
# crack: Weibull shape 1), each followed by a burst of 5000 steps; shell-free times exactly
# 1/20 of the shelled ones, so the KM medians' ratio is 20. Median onset 40000 ln 2 = 27726,
# median tau 32726 (in [1e4, 1e5]), median onset / tau = 27726 / 32726 = 0.847 >= 0.7. The shell
# loses 12 of 240 sites (5%); two healed episodes each.
onset_pass = np.round(-40000 * np.log(1 - quantiles(n))).astype(np.int64) // 100 * 100
tau_pass = onset_pass + 5000
free_pass = tau_pass // 20
good_cracks = {"onset": onset_pass, "first_exposure": onset_pass - 3000,
               "growth_time": tau_pass - onset_pass, "shell_change": np.full(n, -12.0),
               "crack_episodes": np.full(n, 3), "healed_episodes": np.full(n, 2)}
# The failing pair (mu_shell -24.3): steady growth, tau = 300000 +- 2% (shape >> 2), onset at a
# tenth of it, the shell losing 72 sites (30%), no healed episode; ratio 300000 / 15000 = 20.
bad_system = dict(SYSTEM, mu_shell=-24.3)
tau_bad = (300000 * (1 + 0.02 * (quantiles(n) - 0.5))).astype(np.int64)
bad_cracks = {"onset": tau_bad // 10, "first_exposure": np.full(n, 1000),
              "growth_time": tau_bad - tau_bad // 10, "shell_change": np.full(n, -72.0),
              "crack_episodes": np.full(n, 9), "healed_episodes": np.zeros(n, np.int64)}
# Undecidable (mu_shell -26): over half the shelled replicas censored at 2e6 while the
# shell-free ones double at 1000 (the ratio exceeds 2000: a fail, not undetermined), and no
# crack observables in the file for them.
censored_system = dict(SYSTEM, mu_shell=-26.0)
tau_censored = np.where(np.arange(n) < 30, -1, 1_500_000)
with h5py.File(synthetic, "w") as f:
    f.attrs["format"] = "ripen-results"
    f.attrs["format_version"] = 2
    write_ensemble(f, "good-shelled", 0, SYSTEM, 2, tau_pass, tau_pass, good_cracks)
    write_ensemble(f, "good-free", n, SYSTEM, 0, free_pass, free_pass, good_cracks)
    write_ensemble(f, "bad-shelled", 2 * n, bad_system, 2, tau_bad, tau_bad, bad_cracks)
    write_ensemble(f, "bad-free", 3 * n, bad_system, 0, np.full(n, 15000), np.full(n, 15000),
                   bad_cracks)
    write_ensemble(f, "slow-shelled", 4 * n, censored_system, 2, tau_censored,
                   np.where(tau_censored < 0, 2_000_000, tau_censored))
    write_ensemble(f, "slow-free", 5 * n, censored_system, 0, np.full(n, 1000), np.full(n, 1000))
    # Barriers for the good system: ΔΔF‡ = 30.0 - 27.0 = 3.0 = ln 20 to 0.004 kT. The windows'
    # mu_core differs from the ensembles' (F(q) is reweighted): they still belong to them.
    write_windows(f, "good-F", 6 * n, dict(SYSTEM, mu_core=-38.0), 2, 30.0)
    write_windows(f, "good-free-F", 6 * n + 10, dict(SYSTEM, mu_core=-37.0), 0, 27.0)
    # A window set of another system must not be used for the bad pair.
    write_windows(f, "other-F", 6 * n + 20, dict(SYSTEM, eps_core=9.0), 2, 10.0)

rows = {p.shelled: p for p in criteria.evaluate_file(synthetic)}
rt.check(sorted(rows) == ["bad-shelled", "good-shelled", "slow-shelled"] and
         [rows[s].shell_free for s in ("good-shelled", "bad-shelled", "slow-shelled")] ==
         ["good-free", "bad-free", "slow-free"],
         f"pairs: {[(p, rows[p].shell_free) for p in rows]}")
good, bad, slow = rows["good-shelled"], rows["bad-shelled"], rows["slow-shelled"]
statuses = lambda p: {r.name: r.status for r in p.results}  # noqa: E731
rt.check(all(s == "pass" for s in statuses(good).values()) and good.verdict == "pass",
         f"good pair: {[(r.name, r.status, r.text) for r in good.results]}")
rt.check(abs(good.result("ratio").value - 20.0) < 1e-9, f"ratio {good.result('ratio').value}")
median_tau = float(np.sort(tau_pass)[n // 2])
rt.check(good.result("time").value == median_tau, f"time {good.result('time').value}")
want_fraction = float(np.median(onset_pass / tau_pass))
rt.check(abs(good.result("burst").value - want_fraction) < 1e-12 and want_fraction > 0.8,
         f"onset/tau {good.result('burst').value} != {want_fraction}")
rt.check(abs(good.result("shell").value - 0.05) < 1e-12, f"shell {good.result('shell').value}")
rt.check(good.result("healing").value == 2, "healed median")
rt.check(abs(good.result("barrier").value - 3.0) < 1e-12, "ΔΔF‡")
rt.check(statuses(bad) == {"ratio": "pass", "time": "fail", "burst": "fail", "shell": "fail",
                           "healing": "fail", "barrier": "undetermined"} and bad.verdict == "fail",
         f"bad pair: {[(r.name, r.status, r.text) for r in bad.results]}")
rt.check(abs(bad.result("burst").value - 0.1) < 0.001, f"bad onset/tau {bad.result('burst').value}")
rt.check(abs(bad.result("shell").value - 0.3) < 1e-12, "bad shell change")
rt.check(statuses(slow) == {"ratio": "fail", "time": "fail", "burst": "undetermined",
                            "shell": "undetermined", "healing": "undetermined",
                            "barrier": "undetermined"},
         f"censored pair: {[(r.name, r.status, r.text) for r in slow.results]}")
rt.check(slow.result("ratio").value == 2000.0 and "no crack observables" in
         slow.result("healing").text, f"censored pair: {slow.result('ratio').text}")

# The take-off times of the Weibull fit: midway through the sample interval after the onset,
# or midway to tau when it came sooner; not taken off: censored at steps_run.
e = rr.Ensemble("x", {}, np.array([1030, 5000, -1]), np.array([False, False, True]),
                np.array([1030, 5000, 9000]), np.ones(3, bool))
c = rr.Cracks(np.zeros(3), np.array([1000, 4000, -1]), np.zeros(3), np.zeros(3), np.zeros(3),
              np.zeros(3), np.zeros(3), 100)
times, events = criteria.takeoff_times(e, c)
rt.check(list(times) == [1015.0, 4050.0, 9000.0] and list(events) == [True, True, False],
         f"take-off times {times}, {events}")
# A criterion undecidable by the data is "undetermined", never a pass.
rt.check(criteria.barrier_criterion(20.0, None).status == "undetermined", "barrier without F")
rt.check(criteria.barrier_criterion(20.0, (30.0, 25.0)).status == "fail", "ΔΔF‡ 5 kT passed")

# ----------------------------------------------------------------------------------------------
# 3. The command line


def run_criteria(args):
    return subprocess.run([sys.executable, CRITERIA] + args, cwd=directory, capture_output=True,
                          text=True, timeout=600)


result = run_criteria([path, synthetic, "-o", "table.md", "--json", "table.json"])
rt.check(result.returncode == 0, f"criteria exit {result.returncode}: {result.stderr}")
with open(os.path.join(directory, "table.md")) as f:
    table = f.read()
rt.check("real.h5: shelled / shell-free" in table and "real.h5: coarse / shell-free" in table and
         "synthetic.h5: good-shelled / good-free | pass: 20.0" in table, f"table: {table}")
with open(os.path.join(directory, "table.json")) as f:
    data = json.load(f)
rt.check(len(data) == 5 and data[2]["results"]["ratio"]["value"] == 20.0, "json")
for args, words in (([os.path.join(directory, "missing.h5")], "no such file"),
                    ([os.path.join(directory, "real.json")], "not a readable HDF5 file")):
    result = run_criteria(args)
    lines = result.stderr.strip().splitlines()
    rt.check(result.returncode == 2 and len(lines) == 1 and lines[0].startswith("criteria: ") and
             words in lines[0], f"criteria {args}: exit {result.returncode}, {result.stderr!r}")
rt.finish("test_criteria")
