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
    # The crack free energy, recomputed here from the series: every sample up to the onset
    # (all of them without one) histogrammed over the replicas; the basin's episodes.
    for name in ("shelled", "coarse"):
        g = f["ensembles/" + name]
        interval = int(g.attrs["sample_interval"])
        histogram, episodes, grew = {}, 0, 0
        for r in range(len(g["series_length"])):
            n = int(g["series_length"][r])
            onset = int(g["onset"][r])
            last = n if onset < 0 else min(n, onset // interval + 1)
            for c in g["exposed_core"][r, :last]:
                histogram[int(c)] = histogram.get(int(c), 0) + 1
            ends = reference_episodes(g["exposed_core"][r, :n], g["n_core"][r, :n], interval)
            basin = [e for e in ends if e[0] <= (last - 1) * interval]
            episodes += len(basin)
            grew += sum(e[3] > 0 for e in basin)
        total = sum(histogram.values())
        fe = rr.read_crack_free_energy(f, name)
        want = -math.log((total - histogram.get(0, 0)) / total)
        rt.check(fe is not None and fe.samples == total and abs(fe.f_crack[0] - want) < 1e-12 and
                 fe.f_crack[1] <= fe.f_crack[0] <= fe.f_crack[2],
                 f"{name}: beta F_crack {fe.f_crack if fe else None}, want {want} of {total}")
        rt.check(all(abs(fe.F[c] + math.log(k / total)) < 1e-12 for c, k in histogram.items())
                 and all(np.isinf(fe.F[c]) for c in range(len(fe.F)) if c not in histogram),
                 f"{name}: F(c) {fe.F[:6]} against the histogram {sorted(histogram.items())[:6]}")
        rt.check(fe.episodes == episodes and fe.grew == grew and
                 abs(fe.kappa[0] - grew / episodes) < 1e-12,
                 f"{name}: kappa {fe.kappa} ({fe.grew} of {fe.episodes}), want {grew} of {episodes}")
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
                   max_steps=2_000_000, f_crack=None, shell_loss=None):
    """`f_crack`: beta F_crack of its crack_free_energy group (none if None); `shell_loss`:
    the times its replicas lost half their shell (-1: kept it), as shell_passage level 0.5."""
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
    if cracks is not None and thickness:  # N_shell 228 throughout: 5% lost by the onset
        g["n_shell"] = np.full((len(tau), int(np.max(cracks["onset"])) // interval + 1), 228,
                               np.int32)
    if f_crack is not None:
        c = g.create_group("crack_free_energy")
        for key, value in (("p_crack", math.exp(-f_crack)), ("f_crack", f_crack),
                           ("f_crack_onset", f_crack), ("kappa", 0.5)):
            c.attrs[key], c.attrs[key + "_lower"], c.attrs[key + "_upper"] = value, value, value
        for key in ("replicas", "took_off", "samples", "episodes", "grew"):
            c.attrs[key] = len(tau)
        c.attrs["mean_duration"] = 100.0
        for key in ("c", "count", "F", "F_lower", "F_upper"):
            c[key] = np.zeros(3)
    if shell_loss is not None:
        g["shell_passage_level"] = np.array([0.5])
        g["shell_passage_time"] = np.asarray(shell_loss, float)[:, None]


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
    write_ensemble(f, "good-shelled", 0, SYSTEM, 2, tau_pass, tau_pass, good_cracks,
                   f_crack=3.0)
    write_ensemble(f, "good-free", n, SYSTEM, 0, free_pass, free_pass, good_cracks)
    write_ensemble(f, "bad-shelled", 2 * n, bad_system, 2, tau_bad, tau_bad, bad_cracks,
                   f_crack=5.0)
    write_ensemble(f, "bad-free", 3 * n, bad_system, 0, np.full(n, 15000), np.full(n, 15000),
                   bad_cracks)
    write_ensemble(f, "slow-shelled", 4 * n, censored_system, 2, tau_censored,
                   np.where(tau_censored < 0, 2_000_000, tau_censored))
    write_ensemble(f, "slow-free", 5 * n, censored_system, 0, np.full(n, 1000), np.full(n, 1000))
    # Barriers for the good system: ΔΔF‡ = 30.0 - 27.0 = 3.0 = ln 20 to 0.004 kT. The windows'
    # mu_core differs from the ensembles' (F(q) is reweighted): they still belong to them.
    write_windows(f, "good-F", 6 * n, dict(SYSTEM, mu_core=-38.0), 2, 30.0)
    write_windows(f, "good-free-F", 6 * n + 10, dict(SYSTEM, mu_core=-37.0), 0, 27.0)
    # The shell at the balance mu_c: the good system's loses half of it after a median of
    # 500,000 steps (>= 10 x 32,726) or not at all, the bad one's after 50,000 (< 10 x 300,000).
    loss = np.where(np.arange(n) < 10, -1, np.round(500000 * quantiles(n) / 0.5)).astype(float)
    loss = np.where(loss > 1e6, -1, loss)
    write_ensemble(f, "good-balance", 6 * n + 30, dict(SYSTEM, mu_core=-36.76), 2,
                   np.full(n, -1), np.where(loss < 0, 1_000_000, loss), shell_loss=loss,
                   max_steps=1_000_000)
    write_ensemble(f, "bad-balance", 7 * n + 30, dict(bad_system, mu_core=-36.76), 2,
                   np.full(n, -1), np.full(n, 50000), shell_loss=np.full(n, 50000.0),
                   max_steps=1_000_000)
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
rt.check(good.result("crack").value == 3.0, f"crack {good.result('crack').text}")
rt.check(good.result("persist").value >= 10 and "-5% by the onset" in
         good.result("persist").text, f"persist {good.result('persist').text}")
rt.check(statuses(bad) == {"ratio": "pass", "time": "fail", "burst": "fail", "shell": "fail",
                           "healing": "fail", "crack": "fail", "barrier": "undetermined",
                           "persist": "fail"} and bad.verdict == "fail",
         f"bad pair: {[(r.name, r.status, r.text) for r in bad.results]}")
rt.check(abs(bad.result("persist").value - 50000 / 300000) < 0.01,
         f"bad persist {bad.result('persist').text}")
rt.check(abs(bad.result("burst").value - 0.1) < 0.001, f"bad onset/tau {bad.result('burst').value}")
rt.check(abs(bad.result("shell").value - 0.3) < 1e-12, "bad shell change")
rt.check(statuses(slow) == {"ratio": "fail", "time": "fail", "burst": "undetermined",
                            "shell": "undetermined", "healing": "undetermined",
                            "crack": "undetermined", "barrier": "undetermined",
                            "persist": "undetermined"},
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
# 6b's F(q) from repeats: determined only if every repeat is, agreeing within 0.5 kT (SD).
def window_set(name, thickness, barrier):
    attrs = dict(SYSTEM, shell_thickness=thickness)
    return rr.WindowSet(name, attrs, None if barrier is None else {"barrier_wham": barrier})


free_sets = [window_set(f"f@repeat={k}", 0, b) for k, b in ((1, 27.0), (2, 27.4), (3, 27.2))]
agreeing = [window_set(f"s@repeat={k}", 2, b) for k, b in ((1, 30.0), (2, 30.3), (3, 30.1))]
spread = [window_set(f"s@repeat={k}", 2, b) for k, b in ((1, 4.1), (2, 6.9), (3, 4.2))]
partial = [window_set(f"s@repeat={k}", 2, b) for k, b in ((1, 30.0), (2, None), (3, 30.1))]
attrs = dict(SYSTEM, shell_thickness=2)
got = criteria.window_barriers(agreeing + free_sets, attrs)
rt.check(got is not None and abs(got[0] - 30.133333) < 1e-5 and abs(got[1] - 27.2) < 1e-9,
         f"repeats agreeing: {got}")
rt.check(criteria.window_barriers(spread + free_sets, attrs) is None and
         criteria.window_barriers(partial + free_sets, attrs) is None,
         "repeats spread beyond 0.5 kT, or one of them undetermined, gave a barrier")
# ΔΔF‡ of repeats, at the balance points and reweighted to another μ_c (crack_report): F(q) a
# triangle of height h over one layer (q 0..12, slope h / 6), balance at μ* = -36; at μ* + 2 the
# reweighted F - 2 q peaks at q = 6 with h - 12.
import crack_report  # noqa: E402


def triangle_set(name, thickness, height):
    q = np.arange(13)
    F = height * np.minimum(q, 12 - q) / 6
    fq = {"q": q, "F_wham": F, "sigma_wham": np.full(13, 0.1), "F_mbar": F,
          "sigma_mbar": np.full(13, 0.1), "q_start": 0, "q_end": 12, "mu_star": -36.0,
          "barrier_wham": height, "barrier_wham_sigma": 0.1}
    return rr.WindowSet(name, {"shell_thickness": thickness}, fq)


rows = crack_report.ddf_rows([triangle_set(f"s@repeat={k}", 2, h) for k, h in
                              ((1, 30.0), (2, 30.2), (3, 30.1))] +
                             [triangle_set(f"f@repeat={k}", 0, h) for k, h in
                              ((1, 27.0), (2, 27.3), (3, 27.1))], -34.0)
at_star, at_run = rows["μ_c*"], rows["run μ_c"]
want = 30.1 - (27.0 + 27.3 + 27.1) / 3
rt.check(abs(at_star["ddf"][0] - want) < 1e-9 and abs(at_run["shelled"][0] - 18.1) < 1e-9 and
         abs(at_run["ddf"][0] - want) < 1e-9 and
         at_star["ddf"][1][0] < at_star["ddf"][0] < at_star["ddf"][1][1],
         f"ΔΔF‡ of repeats: {rows}")
# 6b is beside 6: an undetermined or failed ΔΔF‡ does not change the overall verdict.
rt.check("barrier" in criteria.BESIDE, "6b counted in the verdict")
# 7 with the shells kept past a step limit: a pass only if that limit reaches 10 tau_s.
kept = rr.ShellLife(0.5, np.full(5, 1e6), np.zeros(5, bool), math.inf, (math.inf, math.inf),
                    1e6, -36.76)
rt.check(criteria.persist_criterion(5e4, kept, math.nan).status == "pass" and
         criteria.persist_criterion(2e5, kept, math.nan).status == "undetermined",
         "criterion 7 with the median not reached")

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
