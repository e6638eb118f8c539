#!/usr/bin/python3
"""Where do the paper's numbers live? A map of a parameter scan (jobs/scan.json): for every grid
point, the ratio of Kaplan-Meier median doubling times shelled / shell-free with a bootstrap 95%
CI, drawn over the two swept parameters with the contour ratio = 20, beside the shelled median
doubling time with the paper's time-scale band (10^4 to 10^5 MC steps, Fig. 5a).

Usage: /usr/bin/python3 analysis/scan_map.py scan.h5 -o figures/
Writes figures/scan_map.png and figures/scan.md. The ensembles must be sweeps named
`<kind>@key=value,key=value` (two swept keys) with a shelled and a shell-free kind.
"""
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402

PAPER_RATIO = 20.0
PAPER_TIMES = (1e4, 1e5)


Failure = cli.Failure


def parse_point(name, path):
    """{'mu_shell': -20.0, 'eps_shell+eps_interface': 6.7} from 'shelled@mu_shell=-20,...';
    None if the name is not a sweep point. The map needs numbers on its axes."""
    if "@" not in name:
        return None
    point = {}
    for item in name.split("@", 1)[1].split(","):
        key, _, value = item.partition("=")
        try:
            point[key] = float(value)
        except ValueError:
            raise Failure(f"{path}: ensemble {name}: {key} = {value!r} is not a number (the map's "
                          "axes are two numeric swept keys)") from None
        if not math.isfinite(point[key]):
            raise Failure(f"{path}: ensemble {name}: {key} = {value} is not finite")
    return point


def grid(path):
    """{(x, y): (shelled Summary, shell-free Summary)} and the two axis names."""
    with cli.reading(path), rr.open_results(path) as f:
        ensembles = [rr.read_ensemble(f, n) for n in rr.ensemble_names(f)]
    if not ensembles:
        raise Failure(f"{path}: no ensembles (the map needs a two-key sweep of shelled and "
                      "shell-free ensembles, e.g. jobs/scan.json)")
    cells = {}
    axes = None
    for e in ensembles:
        point = parse_point(e.name, path)
        if point is None or len(point) != 2:
            raise Failure(f"{path}: ensemble {e.name} is not a point of a two-key sweep")
        keys = tuple(point)
        if axes is None:
            axes = keys
        elif keys != axes:
            raise Failure(f"{path}: sweeps over different keys ({axes} and {keys})")
        kind = 0 if e.shell_thickness > 0 else 1
        cells.setdefault((point[axes[0]], point[axes[1]]), [None, None])[kind] = e
    for key, (shelled, free) in cells.items():
        if shelled is None or free is None:
            raise Failure(f"{path}: point {key} lacks a shelled or a shell-free ensemble")
    with cli.reading(path):
        summaries = {k: (rr.summarise(s), rr.summarise(f)) for k, (s, f) in cells.items()}
    return summaries, axes, ensembles[0].attrs


def ratio_cell(shelled, free):
    """(ratio, low, high, text): a median never reached makes the ratio a bound."""
    r = rr.bounded_ratio(shelled, free)
    if r.kind == "above":
        return r.value, r.value, math.inf, f">{r.value:.0f}"
    if r.kind == "below":
        return r.value, 0.0, r.value, f"<{r.value:.2g}"
    if r.kind == "undetermined" or not math.isfinite(r.value):
        return math.nan, math.nan, math.nan, "?"
    return r.value, r.ci[0], r.ci[1], f"{r.value:.1f}"


def draw(cells, axes, out, title):
    xs = sorted({k[0] for k in cells})
    ys = sorted({k[1] for k in cells})
    ratio = np.full((len(ys), len(xs)), np.nan)
    shelled_tau = np.full_like(ratio, np.nan)
    labels = {}
    for (x, y), (s, f) in cells.items():
        i, j = ys.index(y), xs.index(x)
        value, _, _, text = ratio_cell(s, f)
        ratio[i, j] = value
        shelled_tau[i, j] = s.median if math.isfinite(s.median) else s.horizon
        labels[(i, j)] = (text, f"{'>' if math.isinf(s.median) else ''}{shelled_tau[i, j]:.2g}")
    fig, panels = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    maps = [(np.log10(ratio), "log10 (median τ shelled / median τ shell-free)", "RdBu_r",
             math.log10(PAPER_RATIO), f"ratio = {PAPER_RATIO:g}"),
            (np.log10(shelled_tau), "log10 (shelled median τ / MC steps)", "viridis", None,
             "paper's 10^4-10^5")]
    for panel, (values, label, cmap, level, level_label), which in zip(panels, maps, (0, 1)):
        mesh = panel.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5,
                                values, cmap=cmap, shading="flat",
                                vmin=-1.5 if which == 0 else 2, vmax=1.5 if which == 0 else 6)
        fig.colorbar(mesh, ax=panel, label=label)
        gx, gy = np.meshgrid(np.arange(len(xs)), np.arange(len(ys)))
        finite = np.where(np.isfinite(values), values, np.nanmax(values))
        if which == 0 and np.nanmin(values) < level < np.nanmax(values):
            panel.contour(gx, gy, finite, levels=[level], colors="k", linewidths=2)
        if which == 1:
            logs = [math.log10(t) for t in PAPER_TIMES]
            if np.nanmin(values) < logs[1] and np.nanmax(values) > logs[0]:
                panel.contour(gx, gy, finite, levels=logs, colors="w", linewidths=2,
                              linestyles=["--", "-"])
        for (i, j), texts in labels.items():
            panel.text(j, i, texts[which], ha="center", va="center", fontsize=9,
                       color="k" if which == 0 else "w")
        panel.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
        panel.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
        panel.set_xlabel(f"{axes[0]} (kT)")
        panel.set_ylabel(f"{axes[1]} (kT)")
    panels[0].set_title(f"ratio of median doubling times (black: ratio = {PAPER_RATIO:g})")
    panels[1].set_title("shelled median τ (white: 10^4 dashed, 10^5 solid MC steps)")
    fig.suptitle(title + "\nΔF‡ = 3 kT contour: F(q) not determined at these couplings "
                 "(docs/reproduction.md)", fontsize=11)
    out.save_figure(fig, "scan_map.png", dpi=110)


def table(cells, axes):
    lines = [f"| {axes[0]} | {axes[1]} | shelled median τ [95% CI] | shell-free median τ "
             f"[95% CI] | ratio [95% CI] | shelled censored |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (x, y) in sorted(cells):
        s, f = cells[(x, y)]
        value, low, high, text = ratio_cell(s, f)
        ci = "" if not math.isfinite(low) or text.startswith(("<", ">")) else \
            f" [{low:.1f}, {'∞' if math.isinf(high) else f'{high:.1f}'}]"
        med = lambda e: (f"> {e.horizon:.0f}" if math.isinf(e.median) else f"{e.median:.0f}") + \
            f" [{e.median_ci[0]:.0f}, {'∞' if math.isinf(e.median_ci[1]) else f'{e.median_ci[1]:.0f}'}]"
        lines.append(f"| {x:g} | {y:g} | {med(s)} | {med(f)} | {text}{ci} | "
                     f"{s.censored}/{s.replicas} |")
    return "\n".join(lines) + "\n"


def run(argv):
    parser = cli.Parser(prog="scan_map", description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("-o", "--output", default="figures")
    args = parser.parse_args(argv)
    cli.output_directory(args.output)
    cells, axes, attrs = grid(args.results)
    title = (f"{os.path.basename(args.results)}: {attrs.get('move_set')} moves, "
             f"{attrs.get('shell_ensemble')} shell, {attrs.get('dynamics')} dynamics, "
             f"eps_core {attrs.get('eps_core'):g}, mu_core {attrs.get('mu_core'):g} kT")
    with cli.Outputs(args.output) as out:
        draw(cells, axes, out, title)
        out.write_text("scan.md", f"# Parameter scan: {title}\n\n" + table(cells, axes))


def main(argv=None):
    return cli.main("scan_map", run, argv)


if __name__ == "__main__":
    sys.exit(main())
