"""analysis/: figures.py on a real result file (five outputs, numbers in results.md equal to what
the HDF5 datasets imply, one-line errors with exit status 2 on bad files) and the survival
statistics of ripen_results.py on synthetic data with known answers."""
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from fractions import Fraction

import h5py
import numpy as np

import ripentest as rt

sys.path.insert(0, os.path.join(rt.SOURCE, "analysis"))
import ripen_results as rr  # noqa: E402

FIGURES = os.path.join(rt.SOURCE, "analysis", "figures.py")
OUTPUTS = ("fig5a.png", "fig5b.png", "fig5c.png", "fig5d.png", "results.md")


def run_figures(args, cwd):
    return subprocess.run([sys.executable, FIGURES] + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=600)


# ----------------------------------------------------------------------------------------------
# Independent reference computations (deliberately not the library's algorithms)


def exact_km_median(times, censored):
    """KM median with exact rational arithmetic, one observation at a time (events before
    censorings at equal times): the smallest event time with S <= 1/2, None if never."""
    order = sorted(range(len(times)), key=lambda k: (times[k], censored[k]))
    survival, at_risk, k = Fraction(1), len(times), 0
    while k < len(order):
        t = times[order[k]]
        group = [j for j in order[k:] if times[j] == t]
        deaths = sum(1 for j in group if not censored[j])
        if deaths:
            survival *= 1 - Fraction(deaths, at_risk)
            if survival <= Fraction(1, 2):
                return t
        at_risk -= len(group)
        k += len(group)
    return None


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, or None if the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def table_row(markdown, first_cell):
    """Cells of the markdown table row whose first cell is `first_cell`."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    return None


# ----------------------------------------------------------------------------------------------
# The real run


def make_results(directory):
    """quick_job with enough replicas, snapshots every 100 steps, and a step limit short enough
    that some replicas are censored (the weak-coupling window set gives a determined F(q))."""
    job = rt.quick_job(replicas=8, steps=800, exchange=True)
    job["ensembles"][0]["snapshot_interval"] = 100
    # Three repeats of the weakly coupled set, for results.md's "Repeats" table.
    repeats = dict(job["windows"][0], name="rep", sweep={"repeat": [1, 2, 3]})
    job["windows"].append(repeats)
    rt.write_job(directory, "job.json", job)
    rt.run(["run", "job.json", "--out", "results.h5", "--quiet"], cwd=directory)
    return os.path.join(directory, "results.h5")


def check_outputs(out):
    for name in OUTPUTS:
        path = os.path.join(out, name)
        if not rt.check(os.path.isfile(path), f"{name} was not written"):
            continue
        if name.endswith(".png"):
            size = png_size(path)
            rt.check(size is not None and min(size) >= 300, f"{name} is not a sizeable PNG "
                     f"({size})")
    with open(os.path.join(out, "results.md")) as f:
        return f.read()


def check_ensemble_row(markdown, g, name):
    """Counts, KM median and restricted mean in results.md against the datasets."""
    tau, censored = g["tau"][()], g["censored"][()].astype(bool)
    steps, limit = g["steps_run"][()], int(g.attrs["max_steps"])
    times = [int(s if c else t) for t, c, s in zip(tau, censored, steps)]
    row = table_row(markdown, name)
    if not rt.check(row is not None, f"results.md has no row for {name}"):
        return None
    rt.check(row[3] == str(len(tau)), f"{name}: replicas {row[3]} != {len(tau)}")
    rt.check(row[4] == str(int((~censored).sum())), f"{name}: doubled {row[4]}")
    rt.check(row[5] == str(int(censored.sum())), f"{name}: censored {row[5]} != "
             f"{int(censored.sum())}")
    rt.check(row[2] == g.attrs["doubling_criterion"], f"{name}: criterion {row[2]}")
    median = exact_km_median(times, list(censored))
    expected = f"> {limit:,} (not reached)" if median is None else str(median)
    rt.check(row[6] == expected, f"{name}: KM median {row[6]} != {expected}")
    # Censoring happens only at the step limit here, so RMST to it is the mean of min(tau, L).
    rt.check(np.all(steps[censored] == limit), f"{name}: censored before the step limit")
    rmst = np.mean(np.minimum(times, limit))
    rt.check(abs(float(row[8]) - rmst) <= 0.5, f"{name}: RMST {row[8]} != {rmst:.1f}")
    return median


def estimate(value, sigma, digits):
    """How results.md quotes value ± sigma: an error the bootstrap could not give is said in
    words, never "± inf"."""
    if not math.isfinite(value):
        return "undetermined"
    if not math.isfinite(sigma):
        return f"{value:.{digits}f} (error undetermined)"
    return f"{value:.{digits}f} ± {sigma:.{digits}f}"


def check_exchange_rows(markdown, g):
    """The exchange set's row (MBAR over every state quoted) and its exchange statistics against
    the datasets."""
    row = table_row(markdown, "exchange (exchange, 2 rung(s))")
    fq = g["fq"].attrs
    if rt.check(row is not None and "error" not in fq, "exchange set row or F(q) missing"):
        rt.check(row[6] == estimate(fq['barrier_mbar'], fq['barrier_mbar_sigma'], 2),
                 f"exchange MBAR barrier {row[6]}")
        if not fq["mbar_converged"]:
            rt.check("MBAR NOT converged" in row[-1], f"exchange notes {row[-1][:120]}")
    st = g["statistics"]
    first, other = st["pair_first"][()], st["pair_other"][()]
    tried, accepted = st["attempts"][()], st["accepts"][()]
    along = other - first == int(g.attrs["nwindows"])
    row = table_row(markdown, "exchange")
    if rt.check(row is not None and len(row) >= 8, "exchange statistics row missing"):
        rt.check(row[3] == f"{accepted[~along].sum() / tried[~along].sum():.1%}",
                 f"window swaps accepted {row[3]}")
        rt.check(row[4].startswith(f"{accepted[along].sum() / tried[along].sum():.1%}"),
                 f"rung swaps accepted {row[4]}")
        rt.check(row[5] == str(int(st["window_round_trips"][()].sum())),
                 f"window round trips {row[5]}")


def check_results_md(markdown, path):
    with h5py.File(path, "r") as f:
        medians = {n: check_ensemble_row(markdown, f["ensembles"][n], n)
                   for n in ("shelled", "shell-free")}
        rt.check(any(f["ensembles"][n]["censored"][()].any() for n in medians),
                 "the job no longer censors any replica: lower max_steps in make_results")
        fq = f["windows/free-fq/fq"].attrs
        row = table_row(markdown, "free-fq")
        if rt.check(row is not None and "error" not in fq, "free-fq F(q) missing"):
            rt.check(row[4] == estimate(fq['mu_star'], fq['mu_star_sigma'], 3),
                     f"mu_core* {row[4]}")
            rt.check(row[5] == estimate(fq['barrier_wham'], fq['barrier_wham_sigma'], 2),
                     f"WHAM barrier {row[5]}")
            rt.check(row[6] == estimate(fq['barrier_mbar'], fq['barrier_mbar_sigma'], 2),
                     f"MBAR barrier {row[6]}")
        check_exchange_rows(markdown, f["exchange/exchange"])
        commit = f["provenance"].attrs["git_commit"]
        rt.check(f"git_commit: {commit}" in markdown, "git commit missing from results.md")
    match = re.search(r"\*\*Ratio of KM medians shelled / shell-free\*\* .*?: (\S+), 95% CI",
                      markdown)
    if rt.check(match is not None, "no ratio line in results.md") and None not in \
            medians.values():
        expected = f"{medians['shelled'] / medians['shell-free']:.2f}"
        rt.check(match.group(1) == expected, f"ratio {match.group(1)} != {expected}")
    check_repeats_row(markdown, path)
    for word in ("vacancy", "grand-canonical", "random-sequential", "`cluster` criterion"):
        rt.check(word in markdown, f"results.md does not mention {word}")


def check_repeats_row(markdown, path):
    """The "Repeats" row of rep@repeat=1..3: mean and SD (ddof 1) of their WHAM barriers and the
    median of their bootstrap sigmas, recomputed from the file."""
    with h5py.File(path, "r") as f:
        sets = [f[f"windows/rep@repeat={k}"] for k in (1, 2, 3)]
        rt.check([int(g.attrs["repeat"]) for g in sets] == [1, 2, 3], "repeat attributes")
        fq = [dict(g["fq"].attrs) for g in sets if "error" not in g["fq"].attrs]
    row = table_row(markdown, "rep")
    if not rt.check(row is not None and len(fq) == 3, f"repeats row {row}, {len(fq)} determined"):
        return
    barriers = np.array([a["barrier_wham"] for a in fq])
    sigma = np.median([a["barrier_wham_sigma"] for a in fq])
    rt.check(row[1] == "3 (3)", f"repeats count {row[1]}")
    rt.check(row[2] == f"{barriers.mean():.2f} ± {barriers.std(ddof=1):.2f}",
             f"repeats mean ± SD {row[2]}, want {barriers.mean():.2f} ± {barriers.std(ddof=1):.2f}")
    rt.check(row[3] == f"{barriers.std(ddof=1) / np.sqrt(3):.2f}", f"repeats SEM {row[3]}")
    rt.check(row[4] == f"{sigma:.2f}", f"repeats bootstrap sigma {row[4]}")
    rt.check(len({round(b, 9) for b in barriers}) == 3, f"repeats not independent: {barriers}")


def check_no_windows(work, path):
    """Without window or exchange sets fig5d.png still exists (saying so) and stderr warns."""
    copy = os.path.join(work, "no-windows.h5")
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as f:
        del f["windows"]
        del f["exchange"]  # exchange sets are F(q) sets too
    result = run_figures([copy, "-o", "out-nowin"], work)
    rt.check(result.returncode == 0, f"no windows: exit {result.returncode}: {result.stderr}")
    rt.check("warning" in result.stderr and "F(q)" in result.stderr,
             f"no windows: no warning ({result.stderr!r})")
    rt.check(png_size(os.path.join(work, "out-nowin", "fig5d.png")) is not None,
             "no windows: fig5d.png missing")


def check_windows_only(work, path):
    """A file of window sets only (an F(q) job) gets fig5d.png and results.md with the same
    barrier row as the full file, no doubling figures, and refuses --shelled."""
    copy = os.path.join(work, "windows-only.h5")
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as f:
        del f["ensembles"]
        fq = dict(f["windows/free-fq/fq"].attrs)
    result = run_figures([copy, "-o", "out-win"], work)
    if not rt.check(result.returncode == 0, f"windows only: exit {result.returncode}: "
                    f"{result.stderr}"):
        return
    made = sorted(os.listdir(os.path.join(work, "out-win")))
    rt.check(made == ["fig5d.png", "results.md"], f"windows only: wrote {made}")
    with open(os.path.join(work, "out-win", "results.md")) as f:
        row = table_row(f.read(), "free-fq")
    rt.check(row is not None and row[5] == f"{fq['barrier_wham']:.2f} ± "
             f"{fq['barrier_wham_sigma']:.2f}", f"windows only: barrier row {row}")
    result = run_figures([copy, "-o", "out-win2", "--shelled", "shelled"], work)
    rt.check(result.returncode == 2 and "only window sets" in result.stderr,
             f"windows only with --shelled: exit {result.returncode}, {result.stderr!r}")


def bad_files(work, path):
    """(name, file, extra args, expected text) for every input that must fail."""
    foreign = os.path.join(work, "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["numbers"] = [1, 2, 3]
    truncated = os.path.join(work, "truncated.h5")
    with open(path, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read()[: os.path.getsize(path) // 3])
    inconsistent = os.path.join(work, "inconsistent.h5")
    shutil.copy(path, inconsistent)
    with h5py.File(inconsistent, "r+") as f:
        censored = f["ensembles/shelled/censored"]
        tau = f["ensembles/shelled/tau"][()]
        censored[int(np.flatnonzero(tau > 0)[0])] = 1
    ambiguous = os.path.join(work, "ambiguous.h5")
    shutil.copy(path, ambiguous)
    with h5py.File(ambiguous, "r+") as f:
        f.copy("ensembles/shelled", "ensembles/shelled-copy")
    return [("missing", os.path.join(work, "nope.h5"), [], "no such file"),
            ("foreign", foreign, [], "not a ripen result file"),
            ("truncated", truncated, [], "not a readable HDF5 file"),
            ("inconsistent", inconsistent, [], "damaged"),
            ("ambiguous", ambiguous, [], "--shelled"),
            ("unknown ensemble", path, ["--shell-free", "nothing"], "no ensemble 'nothing'"),
            ("bad option", path, ["--bogus"], "unrecognized")]


def check_errors(work, path):
    for name, file, extra, expected in bad_files(work, path):
        result = run_figures([file, "-o", "out-bad"] + extra, work)
        lines = result.stderr.splitlines()
        rt.check(result.returncode == 2, f"{name}: exit {result.returncode}, want 2")
        rt.check(len(lines) == 1 and lines[0].startswith("figures: ") and expected in lines[0],
                 f"{name}: stderr {result.stderr!r} is not one 'figures: ...{expected}...' line")
    ambiguous = os.path.join(work, "ambiguous.h5")
    result = run_figures([ambiguous, "-o", "out-chosen", "--shelled", "shelled"], work)
    rt.check(result.returncode == 0, f"--shelled does not resolve the ambiguity: {result.stderr}")


def check_readings_table(work, path, markdown):
    """readings_table.py pairs the two ensembles (same reading) and repeats figures.py's ratio."""
    result = subprocess.run([sys.executable, os.path.join(rt.SOURCE, "analysis",
                                                           "readings_table.py"), path],
                            cwd=work, capture_output=True, text=True, timeout=600)
    if not rt.check(result.returncode == 0, f"readings_table failed: {result.stderr}"):
        return
    row = table_row(result.stdout, os.path.basename(path))
    ratio = re.search(r"Ratio of KM medians.*?: (\S+), 95% CI \[(\S+), (\S+)\]", markdown)
    rt.check(row is not None and row[1:3] == ["shelled", "shell-free"] and ratio is not None and
             row[-1] == f"{ratio.group(1)} [{ratio.group(2)}, {ratio.group(3)}]",
             f"readings_table row {row} disagrees with results.md")


# ----------------------------------------------------------------------------------------------
# Synthetic data with known answers


def check_repeat_names():
    cases = {"free@repeat=2": "free", "free@mu_core=-40,repeat=2": "free@mu_core=-40",
             "free@repeat=1,mu_core=-40": "free@mu_core=-40", "free": None, "free@mu=1": None,
             "free@repeats=1": None}
    for name, want in cases.items():
        rt.check(rr.repeat_base(name) == want, f"repeat_base({name!r}) = "
                 f"{rr.repeat_base(name)!r}, want {want!r}")


def check_km_uncensored():
    """Without censoring KM is the empirical survival function, and Greenwood's variance the
    binomial S(1 - S)/n (ties included: integer times)."""
    rng = np.random.default_rng(11)
    times = rng.geometric(0.01, size=300).astype(float)
    km = rr.kaplan_meier(times, np.ones_like(times, bool))
    empirical = np.array([np.mean(times > t) for t in km.time])
    rt.check(np.allclose(km.survival, empirical, atol=1e-12), "KM != empirical survival")
    rt.check(np.allclose(km.variance, empirical * (1 - empirical) / len(times), atol=1e-12),
             "Greenwood != binomial variance without censoring")
    probe = np.array([0.0, km.time[3], km.time[3] + 0.5, km.time[-1] + 1])
    rt.check(np.allclose(km.at(probe), [np.mean(times > t) for t in probe]), "KM.at wrong")
    rt.check(rr.km_median(times, np.ones_like(times, bool)) ==
             exact_km_median(list(times), [False] * len(times)), "km_median != exact median")
    rt.check(abs(rr.restricted_mean(times, np.ones_like(times, bool), times.max()) -
                 times.mean()) < 1e-9, "RMST without censoring != mean")


def censored_exponential(rng, rate, n, limit):
    """Exponential event times, independently censored (uniform on [0, 2 limit]) and at `limit`."""
    t = rng.exponential(1.0 / rate, n)
    c = np.minimum(rng.uniform(0, 2 * limit, n), limit)
    return np.minimum(t, c), t <= c


def check_exponential_mle():
    """The censored MLE rate = d / sum(time) is asymptotically normal with variance rate^2 /
    E[d] (inverse Fisher information), estimated as rate_hat^2 / d; a 4-SE bound fails with
    probability 6e-5 for a random seed (the seed is fixed)."""
    rng = np.random.default_rng(2024)
    rate = 1.0 / 500.0
    times, events = censored_exponential(rng, rate, 3000, 800.0)
    fit = rr.exponential_fit(times, events)
    rt.check(events.sum() > 1000 and (~events).sum() > 1000, "synthetic data not censored enough")
    rt.check(abs(fit.rate - rate) < 4 * fit.rate_se, f"exponential MLE {fit.rate} ± "
             f"{fit.rate_se} misses {rate}")
    rt.check(abs(fit.rate_se - fit.rate / math.sqrt(events.sum())) < 1e-15, "SE formula")
    weibull = rr.weibull_fit(times, events)
    rt.check(weibull is not None and abs(weibull.shape - 1) < 4 * weibull.shape_se,
             f"Weibull shape on exponential data {weibull}")
    t = 300.0 * rng.weibull(3.0, 2000)
    c = np.minimum(rng.uniform(0, 700, 2000), 400.0)
    weibull = rr.weibull_fit(np.minimum(t, c), t <= c)
    rt.check(weibull is not None and abs(weibull.shape - 3) < 4 * weibull.shape_se and
             abs(weibull.scale - 300) < 4 * weibull.scale_se, f"Weibull(3, 300) fit {weibull}")
    rt.check(rr.weibull_fit([5.0, 5.0, 9.0], [True, True, False]) is None,
             "Weibull with all events at one time must have no finite MLE")


def check_bootstrap_coverage():
    """Percentile bootstrap 95% CIs of the KM median, the RMST and the ratio of medians cover
    the true values: for one data set with the library's default resamples, and in at least 32
    of 40 independent data sets (expected ~38; 32 would be a 3-sigma shortfall)."""
    rate_a, rate_b, limit = 1 / 300.0, 1 / 100.0, 600.0
    truth = {"median": math.log(2) / rate_a,
             "rmst": (1 - math.exp(-rate_a * limit)) / rate_a,
             "ratio": rate_b / rate_a}
    rng = np.random.default_rng(7)
    covered = {key: 0 for key in truth}
    for trial in range(40):
        a = censored_exponential(rng, rate_a, 60, limit)
        b = censored_exponential(rng, rate_b, 60, limit)
        resamples = rr.BOOTSTRAP_RESAMPLES if trial == 0 else 400
        medians_a = rr.bootstrap(*a, rr.km_median, rng, resamples)
        medians_b = rr.bootstrap(*b, rr.km_median, rng, resamples)
        rmsts = rr.bootstrap(*a, lambda t, e: rr.restricted_mean(t, e, limit), rng, resamples)
        intervals = {"median": rr.percentile_interval(medians_a),
                     "rmst": rr.percentile_interval(rmsts),
                     "ratio": rr.percentile_interval(rr.ratio(medians_a, medians_b))}
        for key, (lo, hi) in intervals.items():
            inside = lo <= truth[key] <= hi
            covered[key] += inside
            if trial == 0:
                rt.check(inside, f"bootstrap {key} CI [{lo}, {hi}] misses {truth[key]}")
    for key, count in covered.items():
        rt.check(count >= 32, f"bootstrap {key} CI covered the truth in only {count}/40")
    rt.check(rr.percentile_interval([1, 2, math.inf, math.inf] * 10)[1] == math.inf,
             "a median never reached must give an open upper end")


def main():
    check_repeat_names()
    check_km_uncensored()
    check_exponential_mle()
    check_bootstrap_coverage()
    work = rt.workdir("analysis")
    path = make_results(work)
    result = run_figures([path, "-o", "figures"], work)
    if rt.check(result.returncode == 0, f"figures.py failed: {result.stderr}"):
        rt.check(result.stderr == "", f"unexpected stderr: {result.stderr!r}")
        markdown = check_outputs(os.path.join(work, "figures"))
        check_results_md(markdown, path)
        check_readings_table(work, path, markdown)
    check_no_windows(work, path)
    check_windows_only(work, path)
    check_errors(work, path)
    if not rt.failures:
        shutil.rmtree(work)
    rt.finish("test_analysis")


if __name__ == "__main__":
    main()
