#!/usr/bin/python3
"""Forward flux sampling results: the cumulative crossing probability of every ffs set (ffs.png)
and ffs.md, a table that sets each set's rate beside the brute-force first passages of the same
system in the same file.

    /usr/bin/python3 analysis/ffs.py RESULTS.h5 [-o DIRECTORY]

An ffs set is compared with every ensemble of the same system (lattice, model, readings,
dynamics, initial particle) whose `passage` levels include the set's target (in sites grown)
and whose order parameter is the set's (the cluster's for a set on the crack measure, whose
target is the same event). Brute force: the mean first-passage time (the sample mean if every
replica arrived, else the censored exponential MLE, total time / arrivals) and the Kaplan-Meier
median, each with a 95% bootstrap interval over the replicas, and the censored Weibull shape
(1: an exponential wait, a single rare event; >> 1: steady growth). FFS: 1/k + transit (the mean
first-passage time it predicts: the wait for a crossing of λ_0 that goes on to the target plus
the mean length of the transition; ripen's `passage`, with its bootstrap interval over the
walkers) and ln 2 / k (the median of an exponential wait). Pairs of sets of the same system but
for the shell give the ratio of their mean waits (shelled / shell-free). Errors: one line
"ffs: ..." on stderr, exit status 2, nothing written.
"""
import dataclasses
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402

SYSTEM_KEYS = ("lx", "ly", "lz", "core_sites_requested", "dynamics") + rr.PARAMETER_KEYS + \
    rr.READING_KEYS


Failure = cli.Failure


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


def target_sites(s):
    """The set's target in sites grown (files before `target_sites` counted λ in sites)."""
    return int(s["attrs"].get("target_sites", s["attrs"]["target_lambda"]))


def passage_measure(s):
    """The brute-force passage measure whose levels mean the set's target: the crack measure's
    target is a growth of the largest cluster."""
    measure = s["attrs"].get("order_parameter")
    return "cluster" if measure == "crack" else measure


def brute_force(f, s):
    """Ensembles of the set's system recording the passage to its target: [(name, times,
    events)]."""
    target = target_sites(s)
    found = []
    for name in rr.ensemble_names(f):
        g = f["ensembles"][name]
        attrs = rr.attributes(g)
        if system_of(attrs) != system_of(s["attrs"]) or "passage_level" not in g:
            continue
        if attrs.get("passage_order_parameter") != passage_measure(s):
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


def predicted_passage(r):
    """FFS's mean first passage 1/k + transit with its 95% interval (files before `passage`:
    1/k's interval shifted by the transit)."""
    if "passage" in r:
        return float(r["passage"]), (float(r["passage_lower"]), float(r["passage_upper"]))
    transit = float(r.get("transit", 0.0))
    return float(r["mfpt"]) + transit, (float(r["mfpt_lower"]) + transit,
                                        float(r["mfpt_upper"]) + transit)


@dataclasses.dataclass
class Comparison:
    """An ffs set beside one brute-force ensemble of its system (ensemble None: none found)."""
    set: dict
    ensemble: str = None
    arrived: int = 0
    replicas: int = 0
    mean: float = math.nan           # brute force: mean first passage, with its 95% interval
    mean_ci: tuple = (math.nan, math.nan)
    median: float = math.nan         # brute force: KM median, with its 95% interval
    median_ci: tuple = (math.nan, math.nan)
    weibull: object = None           # rr.WeibullFit of the passage times, or None
    predicted: float = math.nan      # FFS: 1/k + transit, with its 95% interval
    predicted_ci: tuple = (math.nan, math.nan)
    ffs_median: float = math.nan     # FFS: ln 2 / k, with its 95% interval
    ffs_median_ci: tuple = (math.nan, math.nan)

    @property
    def agree(self):
        """The 95% intervals overlap (None: nothing to compare)."""
        if self.ensemble is None or not np.isfinite(self.predicted_ci).all():
            return None
        return self.mean_ci[0] <= self.predicted_ci[1] and self.predicted_ci[0] <= self.mean_ci[1]


def comparisons(f, s):
    """The set `s` beside every brute-force ensemble of its system and target (Comparison)."""
    r = s["rate"]
    predicted, predicted_ci = predicted_passage(r)
    common = dict(set=s, predicted=predicted, predicted_ci=predicted_ci,
                  ffs_median=float(r["median"]),
                  ffs_median_ci=(float(r["median_lower"]), float(r["median_upper"])))
    found = []
    for name, times, events in brute_force(f, s):
        rng = rr.bootstrap_rng(name)
        means = rr.bootstrap(times, events, mean_wait, rng, 1000)
        medians = rr.bootstrap(times, events, rr.km_median, rng, 1000)
        found.append(Comparison(ensemble=name, arrived=int(events.sum()), replicas=len(events),
                                mean=mean_wait(times, events), mean_ci=interval(means),
                                median=rr.km_median(times, events), median_ci=interval(medians),
                                weibull=rr.weibull_fit(times, events), **common))
    return found or [Comparison(**common)]


def comparison_rows(f, sets):
    rows = [
        "| FFS set | λ | target (sites) | brute-force ensemble | arrived | BF mean [95%] | BF KM "
        "median [95%] | Weibull shape | FFS 1/k + transit [95%] | FFS ln2/k [95%] | means "
        "agree |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sets:
        head = f"| {s['name']} | {s['attrs'].get('order_parameter')} | {target_sites(s)} | "
        for c in comparisons(f, s):
            ffs_cells = f"{number(c.predicted)} {span(c.predicted_ci)} | " \
                        f"{number(c.ffs_median)} {span(c.ffs_median_ci)} |"
            if c.ensemble is None:
                rows.append(f"{head}none in this file | | | | | {ffs_cells} |")
                continue
            shape = f"{c.weibull.shape:.2f} ± {c.weibull.shape_se:.2f}" if c.weibull else "—"
            verdict = {True: "yes", False: "NO", None: "—"}[c.agree]
            rows.append(f"{head}{c.ensemble} | {c.arrived}/{c.replicas} | {number(c.mean)} "
                        f"{span(c.mean_ci)} | {number(c.median)} {span(c.median_ci)} | "
                        f"{shape} | {ffs_cells} {verdict} |")
    return rows


def ratio_rows(sets):
    """Shelled / shell-free mean waits of sets that differ only in the shell."""
    rows = []
    for a in sets:
        for b in sets:
            if a["attrs"]["shell_thickness"] <= 0 or b["attrs"]["shell_thickness"] != 0:
                continue
            if system_of(a["attrs"], False) != system_of(b["attrs"], False) or \
                    target_sites(a) != target_sites(b):
                continue
            (wa, ca), (wb, cb) = predicted_passage(a["rate"]), predicted_passage(b["rate"])
            if not (np.isfinite([wa, wb]).all() and np.isfinite(ca + cb).all() and
                    min(ca + cb) > 0):
                rows.append(f"| {a['name']} / {b['name']} | not determined | |")
                continue
            # log-normal propagation of the two bootstrap intervals (independent sets)
            sa, sb = math.log(ca[1] / ca[0]) / 3.92, math.log(cb[1] / cb[0]) / 3.92
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
            "| transit | warnings |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sets:
        r = s["rate"]
        p = ", ".join(f"{x:.3g}" for x in s["p"])
        counts = ", ".join(f"{a}/{b}" for a, b in zip(s["successes"], s["trials"]))
        interfaces = ", ".join(str(int(x)) for x in s["interfaces"])
        rows.append(f"| {s['name']} | {s['attrs']['order_parameter']} | {interfaces} | "
                    f"{float(r['flux']):.3g} | {p} | {counts} | {float(r['rate']):.3g} "
                    f"[{float(r['rate_lower']):.3g}, {float(r['rate_upper']):.3g}] | "
                    f"{number(float(r.get('transit', math.nan)))} | "
                    f"{(r.get('warnings', '') or '—').replace('|', '/')} |")
    return rows


def figure(sets, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for s in sets:
        c = np.asarray(s["cumulative"], float)
        ax.semilogy(s["interfaces"][:len(c)], np.where(c > 0, c, np.nan), "o-",
                    label=f"{s['name']} (λ: {s['attrs'].get('order_parameter')})")
    ax.set_xlabel("λ (interfaces, in each set's λ units)")
    ax.set_ylabel("P(λ | λ_0): cumulative crossing probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.save_figure(fig, "ffs.png", dpi=120)


def run(argv):
    parser = cli.Parser(prog="ffs", description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("-o", "--output", default="figures")
    args = parser.parse_args(argv)
    cli.output_directory(args.output)
    with cli.reading(args.results), rr.open_results(args.results) as f:
        sets = read_sets(f)
        if not sets:
            raise Failure(f"{args.results}: no forward flux sampling set with a rate")
        lines = [f"# Forward flux sampling: {os.path.basename(args.results)}", "",
                 "Times in MC steps. Figure: ffs.png (cumulative crossing probability).", ""]
        lines += set_rows(sets) + [""] + comparison_rows(f, sets) + ratio_rows(sets)
    with cli.Outputs(args.output) as out:
        figure(sets, out)
        out.write_text("ffs.md", "\n".join(lines) + "\n")


def main(argv=None):
    return cli.main("ffs", run, argv)


if __name__ == "__main__":
    sys.exit(main())
