#!/usr/bin/python3
"""The numbers the docs quote from jobs' results, computed from the result files, so that none
can go stale unnoticed (docs/reproduction.md, "Where the numbers come from").

    /usr/bin/python3 analysis/doc_numbers.py regenerate [--jobs short|all|NAME,...]
        [--from NAME=FILE.h5 ...] [--ripen build/ripen] [--ranks 2]
    /usr/bin/python3 analysis/doc_numbers.py check [--rerun] [--ripen build/ripen] [--ranks 2]

A number in README.md or docs/*.md stands between two markers,
<!--n:closest.ratio-->17.95 [16.38, 19.84]<!--/n-->, and docs/results/numbers.json holds every
number by name, with the commit, date, machine, ranks, wall time and load of the run it came
from. `regenerate` runs the short jobs (JOBS below: those a CI check can afford), or reads the
result files named by --from (long jobs, run by hand), recomputes their numbers and their
analysis outputs in docs/results/, updates numbers.json and rewrites every marked number in
the docs. `check` compares every marked number with numbers.json; with --rerun it also runs the
short jobs again (same job and seed: ripen is deterministic for any number of ranks) and fails
on every number that differs from numbers.json, naming it. Wall times and loads are recorded,
quoted and never compared. Exit status: 0 all agree, 1 a difference, 2 bad usage or input.
"""
import dataclasses
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import crack_report  # noqa: E402
import criteria  # noqa: E402
import ffs  # noqa: E402
import ripen_results as rr  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBERS = os.path.join("docs", "results", "numbers.json")
MARKER = re.compile(r"<!--n:([A-Za-z0-9_.,+\-]+)-->(.*?)<!--/n-->")
META = ("wall", "load", "date", "commit", "ranks", "machine")  # recorded, never compared


class Difference(Exception):
    """Documented numbers that differ: exit status 1."""


# ----------------------------------------------------------------------------------------------
# Formats


def steps(x):
    return "∞" if math.isinf(x) else f"{x:,.0f}"


def km_median(s):
    """"310,957 [306,619, 321,506]", or "> 2,000,000" for a median the step limit hid."""
    if math.isinf(s.median):
        return f"> {s.horizon:,.0f}"
    lo, hi = s.median_ci
    upper = steps(hi) if not math.isinf(hi) else "> " + steps(s.horizon)
    return f"{s.median:,.0f} [{steps(lo)}, {upper}]"


def median_only(s):
    return f"> {s.horizon:,.0f}" if math.isinf(s.median) else f"{s.median:,.0f}"


def weibull(s):
    return f"{s.weibull.shape:.2f} ± {s.weibull.shape_se:.2f}" if s.weibull else "not determined"


def sci(x, digits=2):
    """3.3·10^7 (the docs' way of writing large and small numbers)."""
    if not math.isfinite(x) or x == 0:
        return "∞" if math.isinf(x) else f"{x:g}"
    exponent = int(math.floor(math.log10(abs(x))))
    mantissa = x / 10 ** exponent
    if round(mantissa, digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits - 1}f}·10^{exponent}"


def span(values, fmt="{:.2f}", dash="–"):
    values = sorted(values)
    return fmt.format(values[0]) + dash + fmt.format(values[-1])


# ----------------------------------------------------------------------------------------------
# The numbers of each job, from its result file


def summaries(path, names):
    with cli.reading(path), rr.open_results(path) as f:
        return {n: rr.summarise(rr.read_ensemble(f, n)) for n in names}


def pair_numbers(prefix, shelled, free):
    """The numbers of one shelled / shell-free pair of summaries."""
    r = rr.bounded_ratio(shelled, free)
    out = {f"{prefix}.ratio": r.text(2)}
    for kind, s in (("shelled", shelled), ("free", free)):
        out.update({f"{prefix}.{kind}.median": km_median(s),
                    f"{prefix}.{kind}.median_only": median_only(s),
                    f"{prefix}.{kind}.weibull": weibull(s),
                    f"{prefix}.{kind}.replicas": str(s.replicas),
                    f"{prefix}.{kind}.doubled": str(s.doubled),
                    f"{prefix}.{kind}.censored": f"{s.censored}/{s.replicas}"})
    if r.kind in ("above", "below"):
        out[f"{prefix}.ln_bound"] = f"{'>' if r.kind == 'above' else '<'} {math.log(r.value):.2f}"
    if r.kind == "value":
        out[f"{prefix}.ratio1"] = f"{r.value:.1f} [{r.ci[0]:.1f}, {r.ci[1]:.1f}]"
        out[f"{prefix}.ratio_value1"] = f"{r.value:.1f}"
        out[f"{prefix}.ln_ratio"] = f"{math.log(r.value):.2f} [{math.log(r.ci[0]):.2f}, " \
                                    f"{math.log(r.ci[1]):.2f}]"
    return out


def quick_numbers(path):
    s = summaries(path, ("shelled", "shell-free"))
    return pair_numbers("quick", s["shelled"], s["shell-free"])


def closest_numbers(path):
    s = summaries(path, ("shelled", "shell-free"))
    out = pair_numbers("closest", s["shelled"], s["shell-free"])
    with cli.reading(path):
        pair = criteria.evaluate_file(path, s)[0]
    for result in pair.results:
        out[f"closest.criteria.{result.name}"] = criteria.cell(result)
    return out


def paper_numbers(path):
    s = summaries(path, ("shelled", "shell-free"))
    out = pair_numbers("paper", s["shelled"], s["shell-free"])
    with cli.reading(path), rr.open_results(path) as f:
        stats = [window_statistics(f["windows"][n]) for n in rr.window_names(f)]
        energies = np.concatenate([f["windows"][n]["energy"][:, -1] for n in rr.window_names(f)])
    changes = np.concatenate([c for c, _, _ in stats])
    out["paper.windows.stuck"] = f"{int(np.sum(changes == 0))} of {len(changes)}"
    out["paper.windows.energy"] = sci(float(np.mean(energies)))
    return out


READINGS = ("default", "identity", "hastings", "canonical", "swap50", "bonds6", "checkerboard")


def readings_numbers(path):
    s = summaries(path, [f"{r}.{k}" for r in READINGS for k in ("shelled", "shell-free")])
    out = {}
    for r in READINGS:
        out.update(pair_numbers(f"readings.{r}", s[f"{r}.shelled"], s[f"{r}.shell-free"]))
    return out


SCAN_POINTS = ((-20, 6.7), (-22, 6.0), (-23, 6.0), (-23, 6.7), (-24, 6.7), (-25, 6.7),
               (-25, 7.4))


def scan_numbers(path):
    names = []
    for mu, eps in SCAN_POINTS:
        point = f"mu_shell={mu:g},eps_shell+eps_interface={eps:g}"
        names += [f"shelled@{point}", f"shell-free@{point}"]
    s = summaries(path, names)
    out = {}
    for mu, eps in SCAN_POINTS:
        point = f"mu_shell={mu:g},eps_shell+eps_interface={eps:g}"
        numbers = pair_numbers(f"scan.{mu:g},{eps:g}", s[f"shelled@{point}"],
                               s[f"shell-free@{point}"])
        r = rr.bounded_ratio(s[f"shelled@{point}"], s[f"shell-free@{point}"])
        if r.kind == "value":  # the scan's table gives one decimal
            numbers[f"scan.{mu:g},{eps:g}.ratio"] = numbers[f"scan.{mu:g},{eps:g}.ratio1"]
        out.update(numbers)
    out["scan.crossing_6.7"] = scan_crossing(path, 6.7)
    return out


def scan_crossing(path, eps, target=20.0):
    """Where the ratio crosses `target` along μ_s at one ε (log-linear between the grid points
    that bracket it, from the low-μ_s side): the μ_s the docs call the paper's point."""
    with cli.reading(path), rr.open_results(path) as f:
        names = rr.ensemble_names(f)
        points = sorted({float(n.split("mu_shell=")[1].split(",")[0]) for n in names
                         if n.endswith(f"eps_shell+eps_interface={eps:g}")})
        pairs = {mu: (rr.summarise(rr.read_ensemble(f, f"shelled@mu_shell={mu:g},"
                                                     f"eps_shell+eps_interface={eps:g}")),
                      rr.summarise(rr.read_ensemble(f, f"shell-free@mu_shell={mu:g},"
                                                       f"eps_shell+eps_interface={eps:g}")))
                 for mu in points}
    ratios = [(mu, rr.bounded_ratio(*pairs[mu])) for mu in points]
    for (a, ra), (b, rb) in zip(ratios, ratios[1:]):
        if ra.kind == rb.kind == "value" and (ra.value - target) * (rb.value - target) <= 0:
            la, lb = math.log(ra.value), math.log(rb.value)
            return f"{a + (math.log(target) - la) / (lb - la) * (b - a):.1f}"
    return "not bracketed"


def window_statistics(g):
    """Per window: samples at the lower wall (fraction), changes of q, and the tuned μ_k."""
    q, n = g["q"][()], g["sample_count"][()]
    lo, mu = g["lo"][()], g["mu_core"][()]
    changes = np.array([np.count_nonzero(np.diff(q[k, :n[k]])) for k in range(len(n))])
    low = np.array([np.mean(q[k, :n[k]] == lo[k]) for k in range(len(n))])
    return changes, low, mu


def fq_canonical_numbers(path):
    out = {}
    with cli.reading(path), rr.open_results(path) as f:
        sets = {ws.name: ws for ws in rr.fq_sets(f)}
        repeats = [sets[n] for n in sorted(sets) if n.startswith("free-canonical@")]
        stats = [window_statistics(f["windows"][ws.name]) for ws in repeats]
        shelled = window_statistics(f["windows"]["shelled-canonical"])
    barriers = [ws.barrier for ws in repeats]
    out["fq-canonical.repeats"] = str(len(barriers))
    out["fq-canonical.barriers"] = ", ".join(f"{b:.2f}" for b in barriers)
    out["fq-canonical.barrier"] = f"{np.mean(barriers):.2f} ± {np.std(barriers, ddof=1):.2f}"
    out["fq-canonical.barrier_sem"] = f"{np.std(barriers, ddof=1) / math.sqrt(len(barriers)):.2f}"
    out["fq-canonical.barrier_range"] = span(barriers)
    out["fq-canonical.sigma"] = span([ws.barrier_sigma for ws in repeats])
    out["fq-canonical.understated"] = \
        f"{np.std(barriers, ddof=1) / np.median([ws.barrier_sigma for ws in repeats]):.1f}"
    out["fq-canonical.mu_star"] = span([ws.fq["mu_star"] for ws in repeats], dash=" … ")
    changes = np.concatenate([c for c, _, _ in stats])
    low = np.concatenate([lo for _, lo, _ in stats])
    mu = np.concatenate([m for _, _, m in stats])
    out["fq-canonical.changes"] = f"{changes.min():,}–{changes.max():,}"
    out["fq-canonical.ends"] = f"{100 * min(low.min(), 1 - low.max()):.0f}–" \
                               f"{100 * max(low.max(), 1 - low.min()):.0f} %"
    out["fq-canonical.mu_k"] = f"{mu.min():.1f} to {mu.max():.1f}"
    first = [ws.fq["F_wham"][list(ws.fq["q"]).index(1)] - ws.fq["F_wham"][list(ws.fq["q"]).index(0)]
             for ws in repeats]
    out["fq-canonical.first_site"] = f"{np.mean(first):.1f}"
    peaks = {int(ws.fq["q"][np.argmax(np.where((ws.fq["q"] >= 0) & (ws.fq["q"] <= 12),
                                               ws.fq["F_wham"], -np.inf))]) for ws in repeats}
    out["fq-canonical.peak_q"] = ", ".join(str(p) for p in sorted(peaks))
    changes, _, mu = shelled
    out["fq-canonical.shelled.stuck"] = f"{int(np.sum(changes == 0))} of {len(changes)}"
    out["fq-canonical.shelled.mu_k"] = f"{mu.min():.1f} ... {mu.max():.1f}"
    return out


def ffs_comparison_numbers(prefix, path):
    """Per ffs set: brute force beside FFS (ffs.comparisons), the set's rate and transit, and
    what its tasks cost (the sum of their wall times: a ratio between sets of one run)."""
    out = {}
    with cli.reading(path), rr.open_results(path) as f:
        wall = f["provenance/task_wall_seconds"][()]
        first = {n: int(f["ensembles"][n].attrs["first_task"]) for n in rr.ensemble_names(f)}
        sizes = {n: int(f["ensembles"][n]["tau"].shape[0]) for n in first}
        for s in ffs.read_sets(f):
            name, r = f"{prefix}.{s['name']}", s["rate"]
            c = ffs.comparisons(f, s)[0]
            g = f["ffs"][s["name"]]
            tasks = slice(int(g.attrs["first_task"]),
                          int(g.attrs["first_task"]) + int(g["config_count"].shape[0]))
            out.update({
                f"{name}.ffs": f"{ffs.number(c.predicted)} {ffs.span(c.predicted_ci)}",
                f"{name}.ln2k": f"{ffs.number(c.ffs_median)} {ffs.span(c.ffs_median_ci)}",
                f"{name}.transit": ffs.number(float(r["transit"])),
                f"{name}.mfpt": sci(float(r["mfpt"])),
                f"{name}.mfpt_ci": f"[{sci(float(r['mfpt_lower']))}, "
                                   f"{sci(float(r['mfpt_upper']))}]",
                f"{name}.flux": sci(float(r["flux"])),
                f"{name}.p": ", ".join(f"{p:.2g}" for p in s["p"]),
                f"{name}.p0": f"{s['p'][0]:.1%}",
                f"{name}.p1": f"{s['p'][1]:.2f}" if len(s["p"]) > 1 else "—",
                f"{name}.resets": str(int(np.sum(g["walker_resets"][()]))),
                f"{name}.went_on":
                    f"{np.sum(g['walker_resets'][()]) / float(r['flux_crossings']):.0%}",
                # what 1/k + transit would be with the walkers' excursions to the target counted
                # in the flux time (ripen before it followed the method's definition)
                f"{name}.naive": ffs.number(
                    (np.sum(g["walker_time"][()]) + np.sum(g["walker_excursion_time"][()])) /
                    np.sum(g["walker_time"][()]) / float(r["rate"]) + float(r["transit"])),
                f"{name}.crossings": str(int(r["flux_crossings"])),
                f"{name}.task_seconds": f"{np.sum(wall[tasks]):.0f}"})
            if c.ensemble is not None:
                shape = f"{c.weibull.shape:.2f} ± {c.weibull.shape_se:.2f}" if c.weibull else "—"
                # precision per cost: half the 95% interval's log-width, squared, times the
                # tasks' summed wall time (a ratio between sets of one run), FFS over brute force
                start = first[c.ensemble]
                bf_cost = np.sum(wall[start:start + sizes[c.ensemble]])
                bf_width = math.log(c.mean_ci[1] / c.mean_ci[0]) / 2
                ffs_width = math.log(c.predicted_ci[1] / c.predicted_ci[0]) / 2
                out[f"{name}.bf_halfwidth"] = f"±{100 * (math.exp(bf_width) - 1):.0f}%"
                out[f"{name}.ffs_halfwidth"] = f"±{100 * (math.exp(ffs_width) - 1):.0f}%"
                out[f"{name}.cost_vs_bf"] = \
                    f"{np.sum(wall[tasks]) * ffs_width ** 2 / (bf_cost * bf_width ** 2):.1f}"
                out.update({
                    f"{name}.bf": f"{ffs.number(c.mean)} {ffs.span(c.mean_ci)}",
                    f"{name}.bf_sci": f"{sci(c.mean)} [{sci(c.mean_ci[0])}, {sci(c.mean_ci[1])}]",
                    f"{name}.bf_median": f"{ffs.number(c.median)} {ffs.span(c.median_ci)}",
                    f"{name}.arrived": f"{c.arrived}/{c.replicas}",
                    f"{name}.shape": shape,
                    f"{name}.agree": {True: "yes", False: "NO", None: "—"}[c.agree]})
        for n, start in first.items():
            out[f"{prefix}.{n}.task_seconds"] = f"{np.sum(wall[start:start + sizes[n]]):.0f}"
    return out


def ffs_validation_numbers(path):
    return ffs_comparison_numbers("ffs-validation", path)


def ffs_paper_like_numbers(path):
    return ffs_comparison_numbers("ffs-paper-like", path)


def ffs_shelled_numbers(path):
    out = ffs_comparison_numbers("ffs-shelled", path)
    with cli.reading(path), rr.open_results(path) as f:
        sets = {s["name"]: s for s in ffs.read_sets(f)}
    shelled, free = sets["shelled-layer-ffs"], sets["free-layer-ffs"]
    (ws, cs), (wf, cf) = ffs.predicted_passage(shelled["rate"]), ffs.predicted_passage(free["rate"])
    sigma = math.hypot(math.log(cs[1] / cs[0]), math.log(cf[1] / cf[0])) / 3.92
    ratio = ws / wf
    out["ffs-shelled.ratio"] = f"{sci(ratio)} [{sci(ratio * math.exp(-1.96 * sigma))}, " \
                               f"{sci(ratio * math.exp(1.96 * sigma))}]"
    out["ffs-shelled.ln_ratio"] = f"{math.log(ratio):.1f} [{math.log(ratio) - 1.96 * sigma:.1f}, " \
                                  f"{math.log(ratio) + 1.96 * sigma:.1f}]"
    out["ffs-shelled.factor"] = f"{math.exp(1.96 * sigma):.2f}"
    return out


def crack_numbers(prefix, points=("",)):
    """jobs/crack-*.json (issue 19): per point (the `@...` suffix of its ensembles' names), the
    pair shelled / shell-free as pair_numbers gives it, and crack_report's numbers (the crack
    free energy, the shell at balance, the criteria, F(q) of both kinds and ΔΔF‡); numbers of
    a point named PREFIX.POINT. (mu_shell=-26 gives PREFIX.-26)."""
    def numbers(path):
        names = {f"shelled{p}": (f"shell-free{p}", prefix + (f".{p.split('=')[-1]}" if p else ""))
                 for p in points}
        s = summaries(path, [n for shelled, (free, _) in names.items() for n in (shelled, free)])
        out = {}
        for shelled, (free, name) in names.items():
            out.update(pair_numbers(name, s[shelled], s[free]))
        out.update(crack_report.numbers(path, {k: v[1] for k, v in names.items()}, s))
        return out
    return numbers


def catalysis_numbers(prefix):
    """jobs/catalysis-*.json (issue 20): τ(0) and τ(0)/τ_shell-free of the plain particles, and
    per seeded defect (place, k sites) τ(k)/τ(0), its inverse (the speed-up) and the seeded
    hole's fates (how many replicas, and their median τ) as analysis/particles.py gives them."""
    import particles

    def numbers(path):
        with cli.reading(path), rr.open_results(path) as f:
            groups = particles.catalysis(f, path)
        if len(groups) != 1 or groups[0].baseline is None or groups[0].shell_free is None:
            raise cli.Failure(f"{path}: not one group of seeded sets with a plain shelled and a "
                              "shell-free baseline (jobs/catalysis-*.json)")
        g = groups[0]
        free_ratio = rr.median_ratio(g.baseline, g.shell_free)
        out = {f"{prefix}.tau0": km_median(g.baseline), f"{prefix}.tau_free": km_median(g.shell_free),
               f"{prefix}.free_ratio": f"{free_ratio[0]:.1f} [{free_ratio[1][0]:.1f}, "
                                       f"{free_ratio[1][1]:.1f}]",
               f"{prefix}.free_fraction": f"{1 / free_ratio[0]:.3f}"}
        for row in g.rows:
            name = f"{prefix}.{row.place}{row.sites}"
            value, (low, high) = row.ratio
            out[f"{name}.ratio"] = f"{value:.2f} [{low:.2f}, {high:.2f}]"
            out[f"{name}.speedup"] = f"{1 / value:.1f} [{1 / high:.1f}, {1 / low:.1f}]"
            for k in range(len(particles.FATES)):
                count = row.holes.count(k) if row.holes else 0
                out[f"{name}.fate{k}"] = (f"{count}: {steps(row.fate_medians[k])}" if count
                                          else "0")
        return out
    return numbers


def limit(x):
    """A step limit as the docs write it: 10^6, 2·10^5, 40,000."""
    exponent = int(math.floor(math.log10(x)))
    mantissa = x / 10 ** exponent
    if x < 10 ** 5 or mantissa != int(mantissa):
        return f"{x:,.0f}"
    return f"10^{exponent}" if mantissa == 1 else f"{mantissa:.0f}·10^{exponent}"


def ostwald_numbers(path):
    """jobs/ostwald.json (issue 20 item 4b), as analysis/particles.py computes it: per point
    (ε_c, δ, the smaller's size) OSTWALD.EPS,DELTA.SIZE.cell / .median / .went / .share; per
    row the size exponent and the ratio of the 192- to the 108-site medians; where the larger
    took up the smaller (the balanced solution, the highest δ of each ε_c: the smaller went in
    most replicas and the larger's share is positive) and the low solution's largest share."""
    import particles
    with cli.reading(path), rr.open_results(path) as f:
        points = particles.ostwald_points(f)
    if len(points) < 2:
        raise cli.Failure(f"{path}: no map of two shell-free particles (jobs/ostwald.json)")
    out = {"ostwald.replicas": str(len(points[0].gone)),
           "ostwald.larger": str(points[0].large)}
    rows = particles.ostwald_rows(points)
    for eps, delta in rows:
        row = sorted((p for p in points if (p.eps, p.delta) == (eps, delta)), key=lambda p: p.small)
        name = f"ostwald.{eps:g},{delta:g}"
        out[f"{name}.steps"] = limit(row[0].horizon)
        out[f"{name}.went"] = f"{sum(int(p.gone.sum()) for p in row)}/" \
                              f"{sum(len(p.gone) for p in row)}"
        for p in row:
            out.update({f"{name}.{p.small}.cell": particles.ostwald_cell(p, "{:,.0f}".format, limit),
                        f"{name}.{p.small}.median": f"{p.median:,.0f}" if p.resolved else "—",
                        f"{name}.{p.small}.went": f"{int(p.gone.sum())}/{len(p.gone)}",
                        f"{name}.{p.small}.share": f"{p.share:+.2f}"})
        fit = particles.size_exponent(row)
        if fit is not None:
            slope, (lo, hi), sizes = fit
            out[f"{name}.exponent_value"] = f"{slope:.2f}"
            out[f"{name}.exponent"] = f"{slope:.2f} [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) \
                else f"{slope:.2f} (CI undetermined)"
            out[f"{name}.exponent_sizes"] = ", ".join(str(x) for x in sizes)
        by_size = {p.small: p for p in row}
        if 108 in by_size and 192 in by_size and by_size[108].resolved and by_size[192].resolved:
            out[f"{name}.ratio_108_192"] = f"{by_size[192].median / by_size[108].median:.0f}"
    # the balanced solution: the highest δ of each ε_c (as particles.figure_ostwald shows it)
    balanced = {e: [p for p in points if (p.eps, p.delta) == (e, max(d for x, d in rows if x == e))]
                for e in sorted({e for e, _ in rows})}
    ripened = {e: [p for p in row if math.isfinite(p.median) and p.share > 0]
               for e, row in balanced.items()}
    every = []  # the ε_c up to which every size ripened
    for e in balanced:
        if len(ripened[e]) < len(balanced[e]):
            break
        every.append(e)
    some = [e for e in ripened if ripened[e] and e not in every]
    stopped = [e for e in ripened if not any(ripened[x] for x in ripened if x >= e)]
    out["ostwald.balanced.every_size"] = f"{max(every):g}" if every else "none"
    out["ostwald.balanced.some_sizes"] = "; ".join(
        f"ε_c = {e:g} for {', '.join(str(p.small) for p in ripened[e])} sites" for e in some) \
        or "no other ε_c"
    out["ostwald.balanced.none_from"] = f"{min(stopped):g}" if stopped else "none"
    took = [p for e in ripened for p in ripened[e]]
    for name, shares in (("share_range", [p.share for p in took]),
                         ("share_range_108_192", [p.share for p in took if p.small >= 108])):
        out[f"ostwald.balanced.{name}"] = span(shares, "{:+.2f}", " to ") if shares else "none"
    low = min(d for _, d in rows)
    shares = [p.share for p in points if p.delta == low and p.eps >= 4]
    if shares:
        out["ostwald.low.max_share_from4"] = f"{max(shares):+.2f}"
    return out


def competition_numbers(path):
    """jobs/competition.json (issue 20 item 4c), as analysis/particles.py computes it: per pair
    set COMPETITION.SET.free_wins, the mean cores of both kinds at start and end, who lost and
    when it was done (gone or stopped changing), how many of its solutions emptied; per mixed
    set the population table (particles.population_rows) and the fate of every initial
    particle (by kind and size: mean final core, how many went and when). Sets of one kind
    only are left out."""
    import particles
    out = {}
    with cli.reading(path), rr.open_results(path) as f:
        for name in rr.ensemble_names(f):
            parts = rr.read_particles(f, name)
            if parts is None or len(set(parts.shelled.tolist())) < 2:
                continue  # untracked, or one kind only (two shell-free ones: ostwald_numbers)
            results = particles.outcomes(parts)
            prefix = f"competition.{name}"
            if len(parts.initial) == 2:
                out.update(competition_pair(prefix, parts, results))
            elif len(parts.initial) >= 4:
                out.update(competition_population(prefix, parts, results))
            mu = particles.solution_mu(f, name)
            if mu is not None:
                last = [mu[r, int(parts.length[r]) - 1] for r in np.flatnonzero(parts.present)]
                out[f"{prefix}.emptied"] = f"{int(np.sum(np.isneginf(last)))} of {len(last)}"
    if not out:
        raise cli.Failure(f"{path}: no tracked particles (jobs/competition.json)")
    return out


def competition_pair(prefix, parts, results):
    import particles
    n = len(results)
    free = int(np.flatnonzero(~parts.shelled)[0])
    wins = sum(o.winner == free for o in results)
    lo, hi = particles.wilson(wins, n)
    out = {f"{prefix}.free_wins": f"{wins / n:.2f} [{lo:.2f}, {hi:.2f}] ({wins}/{n})"}
    mean, survivors = particles.by_kind(parts)
    for kind, key in (("shelled", "shelled"), ("shell-free", "free")):
        end = np.flatnonzero(np.isfinite(mean[kind]))[-1]
        out[f"{prefix}.{key}_core"] = f"{mean[kind][0]:.0f} → {mean[kind][end]:.0f}"
        out[f"{prefix}.{key}_left"] = f"{survivors[kind][-1]:.2f}"
    out[f"{prefix}.shelled_first"] = f"{mean['shelled'][1]:.0f}"
    out[f"{prefix}.first_step"] = f"{int(parts.steps[1]):,}"
    loser = 1 - free if wins > n / 2 else free
    lost = [o for o in results if o.winner == 1 - loser]
    if lost:
        median, (lo, hi), _, gone = particles.loser_done(parts, loser, lost)
        out[f"{prefix}.loser"] = "shelled" if parts.shelled[loser] else "shell-free"
        out[f"{prefix}.done"] = f"{particles.steps_text(median)} [{particles.steps_text(lo)}, " \
                                f"{particles.steps_text(hi)}]"
        out[f"{prefix}.gone"] = f"{gone}/{len(lost)}"
    return out


def competition_population(prefix, parts, results):
    import particles

    def cell(value, ci, fmt):
        text = fmt.format(value)
        return text if ci[0] == ci[1] == value else \
            f"{text} [{fmt.format(ci[0])}, {fmt.format(ci[1])}]"
    out = {}
    rows = particles.population_rows(parts)
    for k, (step, cells) in enumerate(rows):
        out[f"{prefix}.f{k}.step"] = f"{step:,}"
        for kind in ("shelled", "shell-free"):
            (left, left_ci), (size, size_ci) = cells[kind]
            out[f"{prefix}.f{k}.{kind}.left"] = cell(left, left_ci, "{:.2f}")
            out[f"{prefix}.f{k}.{kind}.core"] = cell(round(size), tuple(round(x) for x in size_ci),
                                                     "{:.0f}") \
                if math.isfinite(size) else "none left"
    start = rows[0][1]
    for kind in ("shelled", "shell-free"):
        out[f"{prefix}.{kind}.gain_f1"] = f"{rows[1][1][kind][1][0] - start[kind][1][0]:.0f}"
        out[f"{prefix}.{kind}.gain_end"] = f"{rows[-1][1][kind][1][0] - start[kind][1][0]:.0f}"
    for p, initial in enumerate(parts.initial):
        kind = "shelled" if parts.shelled[p] else "shell-free"
        name = f"{prefix}.{kind}-{int(initial[6])}"
        final = np.array([o.final_core[p] for o in results])
        gone = np.array([o.gone_at[p] for o in results])
        left = final[gone < 0]
        out[f"{name}.gone"] = f"{int(np.sum(gone >= 0))}/{len(gone)}"
        if np.any(gone >= 0):
            out[f"{name}.gone_at"] = span(gone[gone >= 0], "{:,.0f}")
        if len(left):
            out[f"{name}.end"] = f"{np.mean(left):.0f}"
            out[f"{name}.end_range"] = span(left, "{:.0f}")
    return out


@dataclasses.dataclass
class Job:
    name: str
    path: str        # the job file, in the source tree
    short: bool      # run by `check --rerun` (CI) and by default by `regenerate`
    numbers: object  # result file -> {name: text}
    outputs: list    # (script, arguments with FILE and OUT, {produced: docs/results name})
    seed: int = 0    # added to the job's seed (a rerun of the same job with another seed)


FIG = {"fig5a.png": "{job}-fig5a.png", "fig5b.png": "{job}-fig5b.png",
       "fig5c.png": "{job}-fig5c.png", "results.md": "{job}-results.md"}
CRACK_FIG = {n: f"{{job}}-{n}" for n in ("fig5c.png", "fig5d.png", "fig5d-crack.png",
                                          "fig5d-qc.png", "results.md")}
CANDIDATE_POINTS = tuple(f"@mu_shell={mu}" for mu in ("-26.125", "-26.0625", "-26"))
JOBS = {job.name: job for job in (
    Job("quick", "jobs/quick.json", True, quick_numbers, []),
    Job("closest", "jobs/closest.json", True, closest_numbers,
        [("figures", ["FILE", "-o", "OUT"], FIG)]),
    Job("paper", "jobs/paper.json", True, paper_numbers,
        [("figures", ["FILE", "-o", "OUT"], dict(FIG, **{"fig5d.png": "{job}-fig5d.png"}))]),
    Job("readings", "jobs/readings.json", True, readings_numbers,
        [("readings_table", ["FILE", "-o", "OUT/readings.md"], {"readings.md": "readings.md"})]),
    Job("scan", "jobs/scan.json", False, scan_numbers,
        [("scan_map", ["FILE", "-o", "OUT"], {"scan_map.png": "scan_map.png",
                                              "scan.md": "scan.md"})]),
    Job("fq-canonical", "jobs/fq-canonical.json", False, fq_canonical_numbers,
        [("figures", ["FILE", "-o", "OUT"], {"fig5d.png": "{job}-fig5d.png",
                                             "results.md": "{job}-results.md"})]),
    Job("ffs-validation", "jobs/ffs-validation.json", False, ffs_validation_numbers,
        [("ffs", ["FILE", "-o", "OUT"], {"ffs.md": "{job}.md", "ffs.png": "{job}.png"})]),
    Job("ffs-paper-like", "jobs/ffs-paper-like.json", False, ffs_paper_like_numbers,
        [("ffs", ["FILE", "-o", "OUT"], {"ffs.md": "{job}.md", "ffs.png": "{job}.png"})]),
    Job("ffs-shelled", "jobs/ffs-shelled.json", False, ffs_shelled_numbers,
        [("ffs", ["FILE", "-o", "OUT"], {"ffs.md": "{job}.md", "ffs.png": "{job}.png"})]),
    Job("crack-paper-like", "jobs/crack-paper-like.json", False,
        crack_numbers("crack-paper-like"), [("figures", ["FILE", "-o", "OUT"], CRACK_FIG)]),
    Job("crack-closest", "jobs/crack-closest.json", False, crack_numbers("crack-closest"),
        [("figures", ["FILE", "-o", "OUT"], CRACK_FIG)]),
    Job("crack-candidate", "jobs/crack-candidate.json", False,
        crack_numbers("crack-candidate", CANDIDATE_POINTS),
        [("criteria", ["FILE", "-o", "OUT/criteria.md"], {"criteria.md": "{job}-criteria.md"})]),
    Job("crack-paper-like-seed2", "jobs/crack-paper-like.json", False,
        crack_numbers("crack-paper-like-seed2"), [], seed=1000),
    Job("crack-closest-seed2", "jobs/crack-closest.json", False,
        crack_numbers("crack-closest-seed2"), [], seed=1000),
    Job("crack-candidate-seed2", "jobs/crack-candidate.json", False,
        crack_numbers("crack-candidate-seed2", CANDIDATE_POINTS), [], seed=1000),
    Job("catalysis-paper-like", "jobs/catalysis-paper-like.json", False,
        catalysis_numbers("catalysis-paper-like"), []),
    Job("catalysis-closest", "jobs/catalysis-closest.json", False,
        catalysis_numbers("catalysis-closest"), []),
    Job("ostwald", "jobs/ostwald.json", False, ostwald_numbers, []),
    Job("competition", "jobs/competition.json", False, competition_numbers, []),
    Job("fq-band-exchange", "jobs/fq-band-exchange.json", False,
        lambda path: crack_report.band_exchange_numbers("fq-band-exchange", path),
        [("figures", ["FILE", "-o", "OUT"], {"fig5d.png": "{job}-fig5d.png",
                                             "results.md": "{job}-results.md"})]),
)}


# ----------------------------------------------------------------------------------------------
# Running jobs and recording where


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def run_job(job, options, directory):
    """Runs the job into directory/NAME.h5; returns (path, load averages before and after)."""
    out = os.path.join(directory, f"{job.name}.h5")
    path = os.path.join(options.root, job.path)
    if job.seed:  # the same job with another seed, written beside its result
        with open(path, encoding="utf-8") as f:
            text = json.load(f)
        text["seed"] += job.seed
        path = os.path.join(directory, f"{job.name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(text, f, indent=1)
    command = [options.ripen, "run", path, "--out", out, "--quiet", "--force"]
    if options.ranks > 1:
        command = [options.mpiexec, "-np", str(options.ranks)] + command
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    before = os.getloadavg()[0]
    print(f"doc_numbers: running {job.path} on {options.ranks} rank(s)", file=sys.stderr,
          flush=True)
    result = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise cli.Failure(f"{job.path}: ripen exited with {result.returncode}: "
                          f"{lines[-1] if lines else ''}")
    return out, (before, os.getloadavg()[0])


def record(job, path, load):
    """Where and when the numbers of `job` came from (numbers.json's "jobs" entry)."""
    with cli.reading(path), rr.open_results(path) as f:
        p = rr.provenance(f)
        seed = int(f.attrs.get("seed", -1))
    with open(os.path.join(ROOT, job.path), encoding="utf-8") as f:
        expected = json.load(f)["seed"] + job.seed
    if seed != expected:  # e.g. --from crack-closest-seed2=crack-closest.h5
        raise cli.Failure(f"{path}: seed {seed}, but {job.name} is {job.path} with seed "
                          f"{expected}")
    created = str(p.get("created", ""))
    return {"job": job.path + (f" (seed + {job.seed})" if job.seed else ""), "short": job.short, "commit": str(p.get("git_commit", "unknown")),
            "date": created[:10], "created": created, "ranks": p.get("mpi_ranks"),
            "wall_seconds": round(float(p.get("wall_seconds", math.nan)), 1),
            "host": p.get("host"), "machine": machine() if load else "not recorded",
            "load": [round(x, 1) for x in load] if load else None}


def meta_numbers(name, entry):
    """The quotable facts of a run: <job>.wall, .ranks, .commit, .date, .load, .machine."""
    load = entry.get("load")
    return {f"{name}.wall": f"{entry['wall_seconds']:.0f} s",
            f"{name}.ranks": str(entry.get("ranks")),
            f"{name}.commit": entry["commit"][:7] + ("-dirty" if "dirty" in entry["commit"]
                                                     else ""),
            f"{name}.date": entry["date"],
            f"{name}.load": f"{load[0]:.1f}–{load[1]:.1f}" if load else "not recorded",
            f"{name}.machine": entry["machine"]}


def analysis_outputs(job, path, options, results_dir):
    """Runs the job's analysis scripts on its file; copies their outputs into docs/results."""
    scripts = {"figures": "figures.py", "readings_table": "readings_table.py",
               "scan_map": "scan_map.py", "ffs": "ffs.py", "criteria": "criteria.py"}
    for script, arguments, produced in job.outputs:
        with tempfile.TemporaryDirectory(prefix="doc-numbers-") as out:
            argv = [a.replace("FILE", path).replace("OUT", out) for a in arguments]
            result = subprocess.run([sys.executable, os.path.join(ROOT, "analysis",
                                                                  scripts[script])] + argv,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise cli.Failure(f"{script} on {job.name}: {result.stderr.strip()}")
            for name, target in produced.items():
                shutil.copy(os.path.join(out, name),
                            os.path.join(results_dir, target.format(job=job.name)))


# ----------------------------------------------------------------------------------------------
# The docs


def documents(root):
    paths = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    paths += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
    return paths


def load_numbers(root):
    path = os.path.join(root, NUMBERS)
    if not os.path.exists(path):
        return {"jobs": {}, "numbers": {}}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise cli.Failure(f"{path}: not readable as JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), dict):
        raise cli.Failure(f"{path}: no \"numbers\" object")
    return data


def markers(root):
    """(file, line, name, text) of every marked number in the docs."""
    found = []
    for path in documents(root):
        with open(path, encoding="utf-8") as f:
            for k, line in enumerate(f, 1):
                found += [(path, k, m.group(1), m.group(2)) for m in MARKER.finditer(line)]
    return found


def rewrite(root, numbers):
    """Sets every marked number in the docs to its value; returns the names missing there."""
    missing = set()
    for path in documents(root):
        with open(path, encoding="utf-8") as f:
            text = f.read()

        def value(m):
            if m.group(1) not in numbers:
                missing.add(m.group(1))
                return m.group(0)
            return f"<!--n:{m.group(1)}-->{numbers[m.group(1)]}<!--/n-->"
        new = MARKER.sub(value, text)
        if new != text:
            cli.write_file(path, new)
    return missing


def check_markers(root, numbers):
    problems = []
    for path, line, name, text in markers(root):
        where = f"{os.path.relpath(path, root)}:{line}: {name}"
        if name not in numbers:
            problems.append(f"{where}: no such number in {NUMBERS}")
        elif numbers[name] != text:
            problems.append(f"{where}: the docs say {text!r}, {NUMBERS} says "
                            f"{numbers[name]!r}")
    return problems


# ----------------------------------------------------------------------------------------------
# Commands


def selected(option):
    if option in ("short", "all"):
        return [j for j in JOBS.values() if option == "all" or j.short]
    names = [n for n in option.split(",") if n]
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise cli.Failure(f"--jobs {option}: no job {unknown[0]} (jobs: {', '.join(JOBS)})")
    return [JOBS[n] for n in names]


def parse_from(items):
    files = {}
    for item in items:
        name, _, path = item.partition("=")
        if name not in JOBS or not path:
            raise cli.Failure(f"--from {item}: must be NAME=FILE.h5 with NAME one of "
                              f"{', '.join(JOBS)}")
        if not os.path.isfile(path):
            raise cli.Failure(f"--from {item}: no file {path}")
        files[name] = os.path.abspath(path)
    return files


def compute(jobs, files, options, results_dir=None):
    """{"jobs": {name: record}, "numbers": {...}} of the jobs: from --from files, else run."""
    data = {"jobs": {}, "numbers": {}}
    with tempfile.TemporaryDirectory(prefix="doc-numbers-run-") as scratch:
        for job in jobs:
            if job.name in files:
                path, load = files[job.name], None
            else:
                path, load = run_job(job, options, scratch)
            data["jobs"][job.name] = record(job, path, load)
            data["numbers"].update(job.numbers(path))
            data["numbers"].update(meta_numbers(job.name, data["jobs"][job.name]))
            if results_dir:
                analysis_outputs(job, path, options, results_dir)
    return data


def regenerate(options):
    files = parse_from(options.from_files)
    jobs = [j for j in selected(options.jobs) if j.name not in files] if options.jobs else []
    jobs += [JOBS[n] for n in files]
    data = load_numbers(options.root)
    fresh = compute(jobs, files, options, os.path.join(options.root, "docs", "results"))
    stale = {n for job in fresh["jobs"] for n in data["numbers"] if n.startswith(job + ".")}
    for name in stale:  # a job's numbers are replaced as a whole
        del data["numbers"][name]
    data["jobs"].update(fresh["jobs"])
    data["numbers"].update(fresh["numbers"])
    data["numbers"] = dict(sorted(data["numbers"].items()))
    data["generated"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    cli.write_file(os.path.join(options.root, NUMBERS),
                   json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    missing = rewrite(options.root, data["numbers"])
    print(f"doc_numbers: {len(fresh['numbers'])} numbers of {', '.join(fresh['jobs'])} "
          f"written to {NUMBERS} and the docs")
    if missing:
        raise Difference(f"the docs quote numbers that no job gives: {', '.join(sorted(missing))}")


def check(options):
    data = load_numbers(options.root)
    problems = check_markers(options.root, data["numbers"])
    if options.rerun:
        fresh = compute(selected(options.jobs), {}, options)
        for name, value in fresh["numbers"].items():
            if name.rsplit(".", 1)[-1] in META:
                continue
            if name not in data["numbers"]:
                problems.append(f"{name}: {value!r} now, not in {NUMBERS}")
            elif data["numbers"][name] != value:
                problems.append(f"{name}: {NUMBERS} says {data['numbers'][name]!r}, the job "
                                f"gives {value!r} now")
        for job in fresh["jobs"]:
            gone = [n for n in data["numbers"] if n.startswith(job + ".") and
                    n not in fresh["numbers"]]
            problems += [f"{n}: in {NUMBERS}, but the job no longer gives it" for n in gone]
    if problems:
        raise Difference("\n".join(problems))
    count = len(markers(options.root))
    print(f"doc_numbers: {count} marked numbers agree with {NUMBERS}" +
          (f"; {', '.join(j.name for j in selected(options.jobs))} rerun: every number the "
           "same" if options.rerun else ""))


def run(argv):
    parser = cli.Parser(prog="doc_numbers", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("regenerate", "check"))
    parser.add_argument("--jobs", help="short (the default without --from), all, or NAME,...")
    parser.add_argument("--from", dest="from_files", action="append", default=[],
                        metavar="NAME=FILE.h5", help="take a job's results from this file")
    parser.add_argument("--rerun", action="store_true", help="check: run the jobs again")
    parser.add_argument("--ripen", default=os.path.join(ROOT, "build", "ripen"))
    parser.add_argument("--mpiexec", default="mpiexec")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--root", default=ROOT, help="the source tree (default: this one)")
    options = parser.parse_args(argv)
    options.ripen = os.path.abspath(options.ripen)  # the jobs run in a scratch directory
    if options.jobs is None:
        options.jobs = "" if options.command == "regenerate" and options.from_files else "short"
    needs_ripen = options.command == "check" and options.rerun or \
        options.command == "regenerate" and bool(options.jobs)
    if needs_ripen and not os.access(options.ripen, os.X_OK):
        raise cli.Failure(f"--ripen {options.ripen}: not an executable file (build ripen first)")
    if options.ranks < 1:
        raise cli.Failure(f"--ranks {options.ranks}: must be at least 1")
    if needs_ripen and options.ranks > 1 and not shutil.which(options.mpiexec):
        raise cli.Failure(f"--mpiexec {options.mpiexec}: not found (use --ranks 1)")
    started = time.time()
    (regenerate if options.command == "regenerate" else check)(options)
    print(f"doc_numbers: {time.time() - started:.0f} s", file=sys.stderr)


def main(argv=None):
    found = []

    def guarded(argv):
        try:
            run(argv)
        except Difference as error:  # not a bad input: the docs and the results disagree
            found.append(error)
    status = cli.main("doc_numbers", guarded, argv)
    if status == 0 and found:
        print(f"doc_numbers: documented numbers differ (analysis/doc_numbers.py regenerate "
              f"sets them):\n{found[0]}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
