#!/usr/bin/python3
"""Forward flux sampling results: the cumulative crossing probability of every ffs set (ffs.png)
and ffs.md, a table that sets each set's rate beside the brute-force first passages of the same
system in the same file.

    /usr/bin/python3 analysis/ffs.py RESULTS.h5 [-o DIRECTORY]

An ffs set is compared with every ensemble of the same system (lattice, model, readings,
dynamics, initial particle) whose `passage` levels include the set's target and whose order
parameter is the set's. Brute force: the mean first-passage time (the sample mean if every
replica arrived, else the censored exponential MLE, total time / arrivals) and the Kaplan-Meier
median, each with a 95% bootstrap interval over the replicas, and the censored Weibull shape
(1: an exponential wait, a single rare event; >> 1: steady growth). FFS: 1/k + transit (the mean
first-passage time it predicts: the wait for a successful crossing of λ_0 plus the mean length of
the transition) and ln 2 / k (the median of an exponential wait), with the bootstrap interval over
the walkers. Pairs of sets of the same system but for the shell give the ratio of their mean
waits (shelled / shell-free). Errors: one line "ffs: ..." on stderr, exit status 2.
"""
import argparse
import math
import os
import sys

import numpy as np

import ripen_results as rr

SYSTEM_KEYS = ("lx", "ly", "lz", "core_sites_requested", "dynamics") + rr.PARAMETER_KEYS + \
    rr.READING_KEYS


class Failure(Exception):
    pass


def system_of(attrs, shell=True):
    keys = SYSTEM_KEYS + (("shell_thickness",) if shell else ())
    return tuple(rr.plain(attrs.get(k)) for k in keys)


def read_sets(f):
    sets = []
    for name in (f["ffs"] if "ffs" in f else []):
        g = f["ffs"][name]
        if "rate" not in g:
            continue
        r = g["rate"]
        sets.append(dict(name=name, attrs=rr.attributes(g), rate=rr.attributes(r),
                         interfaces=g["interfaces"][()], p=r["p"][()],
                         cumulative=r["cumulative"][()], trials=r["trials"][()],
                         successes=r["successes"][()]))
    return sets


def brute_force(f, s):
    """Ensembles of the set's system recording the passage to its target: [(name, times,
    events)]."""
    target = int(s["attrs"]["target_lambda"])
    found = []
    for name in rr.ensemble_names(f):
        g = f["ensembles"][name]
        attrs = rr.attributes(g)
        if system_of(attrs) != system_of(s["attrs"]) or "passage_level" not in g:
            continue
        if attrs.get("passage_order_parameter") != s["attrs"].get("order_parameter"):
            continue
        levels = list(g["passage_level"][()])
        if target not in levels:
            continue
        t = g["passage_time"][:, levels.index(target)]
        steps = g["steps_run"][()].astype(float)
        events = t >= 0
        found.append((name, np.where(events, t, steps), events))
    return found


def mean_wait(times, events):
    """The mean first passage: the sample mean if every replica arrived, else the censored
    exponential MLE (time at risk / arrivals)."""
    if events.all():
        return float(np.mean(times))
    fit = rr.exponential_fit(times, events)
    return fit.mean


def interval(values):
    finite = np.asarray(values, float)
    return rr.percentile_interval(finite)


def number(x):
    if x is None or not np.isfinite(x):
        return "—" if x is None or np.isnan(x) else "∞"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def span(ci):
    return f"[{number(ci[0])}, {number(ci[1])}]"


def comparison_rows(f, sets):
    rows = [
        "| FFS set | target λ | brute-force ensemble | arrived | BF mean [95%] | BF KM median "
        "[95%] | Weibull shape | FFS 1/k + transit [95%] | FFS ln2/k [95%] | means agree |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sets:
        r = s["rate"]
        transit = float(r.get("transit", 0.0))
        predicted = float(r["mfpt"]) + transit
        predicted_ci = (float(r["mfpt_lower"]) + transit, float(r["mfpt_upper"]) + transit)
        median_ci = (float(r["median_lower"]), float(r["median_upper"]))
        matches = brute_force(f, s) or [(None, None, None)]
        for name, times, events in matches:
            if name is None:
                rows.append(f"| {s['name']} | {s['attrs']['target_lambda']} | none in this file "
                            f"| | | | | {number(predicted)} {span(predicted_ci)} | "
                            f"{number(float(r['median']))} {span(median_ci)} | |")
                continue
            rng = rr.bootstrap_rng(name)
            means = rr.bootstrap(times, events, mean_wait, rng, 1000)
            medians = rr.bootstrap(times, events, rr.km_median, rng, 1000)
            mean, mean_ci = mean_wait(times, events), interval(means)
            weibull = rr.weibull_fit(times, events)
            shape = f"{weibull.shape:.2f} ± {weibull.shape_se:.2f}" if weibull else "—"
            agree = mean_ci[0] <= predicted_ci[1] and predicted_ci[0] <= mean_ci[1]
            rows.append(
                f"| {s['name']} | {s['attrs']['target_lambda']} | {name} | "
                f"{int(events.sum())}/{len(events)} | {number(mean)} {span(mean_ci)} | "
                f"{number(rr.km_median(times, events))} {span(interval(medians))} | {shape} | "
                f"{number(predicted)} {span(predicted_ci)} | "
                f"{number(float(r['median']))} {span(median_ci)} | "
                f"{'yes' if agree else 'NO'} |")
    return rows


def ratio_rows(sets):
    """Shelled / shell-free mean waits of sets that differ only in the shell."""
    rows = []
    for a in sets:
        for b in sets:
            if a["attrs"]["shell_thickness"] <= 0 or b["attrs"]["shell_thickness"] != 0:
                continue
            if system_of(a["attrs"], False) != system_of(b["attrs"], False) or \
                    a["attrs"]["target_lambda"] != b["attrs"]["target_lambda"]:
                continue
            wa = float(a["rate"]["mfpt"]) + float(a["rate"].get("transit", 0))
            wb = float(b["rate"]["mfpt"]) + float(b["rate"].get("transit", 0))
            # log-normal propagation of the two bootstrap intervals (independent sets)
            sa = math.log(a["rate"]["rate_upper"] / a["rate"]["rate_lower"]) / 3.92
            sb = math.log(b["rate"]["rate_upper"] / b["rate"]["rate_lower"]) / 3.92
            s = math.hypot(sa, sb)
            value = wa / wb
            rows.append(f"| {a['name']} / {b['name']} | {number(value)} "
                        f"[{number(value * math.exp(-1.96 * s))}, "
                        f"{number(value * math.exp(1.96 * s))}] | {math.log(value):.2f} |")
    if rows:
        rows = ["", "Ratio of mean waits for one target (shelled / shell-free):", "",
                "| sets | ratio [95%] | ln ratio |", "| --- | --- | --- |"] + rows
    return rows


def set_rows(sets):
    rows = ["| FFS set | λ | interfaces | flux (per MC step) | P_i | successes/trials | k [95%] "
            "| warnings |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sets:
        r = s["rate"]
        p = ", ".join(f"{x:.3g}" for x in s["p"])
        counts = ", ".join(f"{a}/{b}" for a, b in zip(s["successes"], s["trials"]))
        interfaces = ", ".join(str(int(x)) for x in s["interfaces"])
        rows.append(f"| {s['name']} | {s['attrs']['order_parameter']} | {interfaces} | "
                    f"{float(r['flux']):.3g} | {p} | {counts} | {float(r['rate']):.3g} "
                    f"[{float(r['rate_lower']):.3g}, {float(r['rate_upper']):.3g}] | "
                    f"{r.get('warnings', '') or '—'} |")
    return rows


def figure(sets, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for s in sets:
        c = np.asarray(s["cumulative"], float)
        ax.semilogy(s["interfaces"][:len(c)], np.where(c > 0, c, np.nan), "o-",
                    label=s["name"])
    ax.set_xlabel("λ (sites grown)")
    ax.set_ylabel("P(λ | λ_0): cumulative crossing probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(argv):
    parser = argparse.ArgumentParser(prog="ffs", description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("-o", "--output", default="figures")
    args = parser.parse_args(argv)
    with rr.open_results(args.results) as f:
        sets = read_sets(f)
        if not sets:
            raise Failure(f"{args.results}: no forward flux sampling set with a rate")
        lines = [f"# Forward flux sampling: {os.path.basename(args.results)}", "",
                 "Times in MC steps. Figure: ffs.png (cumulative crossing probability).", ""]
        lines += set_rows(sets) + [""] + comparison_rows(f, sets) + ratio_rows(sets)
    os.makedirs(args.output, exist_ok=True)
    figure(sets, os.path.join(args.output, "ffs.png"))
    with open(os.path.join(args.output, "ffs.md"), "w") as out:
        out.write("\n".join(lines) + "\n")


def main(argv=None):
    try:
        run(sys.argv[1:] if argv is None else argv)
    except (Failure, rr.ResultFileError) as error:
        print(f"ffs: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
