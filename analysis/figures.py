#!/usr/bin/python3
"""Fig. 5a-d of the paper and a results table from one ripen result file.

    /usr/bin/python3 analysis/figures.py RESULTS.h5 -o figures/ [--shelled NAME] [--shell-free NAME]

writes fig5a.png (top views of a shelled particle), fig5b.png (its projected areas), fig5c.png
(doubling-time distributions and Kaplan-Meier curves), fig5d.png (F(q) of every window set) and
results.md (see analysis/README.md). A file with window sets only (an F(q) job) gets fig5d.png
and results.md. Errors: one line "figures: ..." on stderr, exit status 2.
"""
import dataclasses
import math
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402
import criteria  # noqa: E402
import crack_report  # noqa: E402
import particles  # noqa: E402
from topview import STATE_COLOURS, STATE_NAMES, draw_view, view_box  # noqa: E402

SNAPSHOT_SPACING = 10000   # MC steps between the panels of Fig. 5a, as in the paper
MAX_PANELS = 6
KIND_COLOURS = {"shelled": "#3182bd", "shell-free": "#e6550d"}
FQ_COLOURS = {"wham": "#3182bd", "mbar": "#252525"}
CRITERIA = {
    "cluster": "the largest core cluster holds at least twice its initial sites",
    "area": "the projected core area A_core is at least twice its initial value",
    "count": "N_core is at least twice its initial value",
}

plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11,
                     "legend.fontsize": 10, "figure.dpi": 110, "savefig.dpi": 150})


Failure = cli.Failure


def warn(message):
    print(f"figures: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# Loading: everything the figures need, read once, so that drawing never touches the file


@dataclasses.dataclass
class Example:
    """The shelled replica shown in Fig. 5a and 5b."""
    replica: int
    time: float                 # its tau, or censoring time
    doubled: bool
    series_steps: np.ndarray
    a_core: np.ndarray
    a_shell: np.ndarray
    snapshot_steps: np.ndarray  # the chosen snapshots only
    views: list                 # their top views [Ly, Lx]
    spacing_note: str


@dataclasses.dataclass
class Results:
    path: str
    root: dict
    provenance: dict
    summaries: dict             # ensemble name -> rr.Summary, file order
    shelled: str                # None in a file with window sets only
    shell_free: str
    windows: list               # rr.WindowSet
    example: Example            # None in a file with window sets only
    particles: object = None    # particles.ParticleResults: seeded defects, tracked particles


def choose(ensembles, requested, wanted_shell, option):
    """The ensemble named by the option, or the only one of the wanted kind (shell_thickness > 0
    or == 0); ambiguity or absence is an error naming the candidates."""
    if requested is not None:
        if requested not in ensembles:
            known = ", ".join(ensembles) or "none"
            raise Failure(f"no ensemble {requested!r} (ensembles: {known})")
        return requested
    kind = "shelled (shell_thickness > 0)" if wanted_shell else "shell-free (shell_thickness == 0)"
    found = [name for name, e in ensembles.items() if (e.shell_thickness > 0) == wanted_shell]
    if not found:
        raise Failure(f"no {kind} ensemble in the file; name one with {option}")
    if len(found) > 1:
        raise Failure(f"several {kind} ensembles ({', '.join(found)}); choose one with {option}")
    return found[0]


def snapshot_marks(steps, target=SNAPSHOT_SPACING, max_panels=MAX_PANELS):
    """Indices of the snapshots closest to multiples of the panel spacing, and a note on the
    spacing used: `target` when the run is long enough (a multiple of it if more than
    `max_panels` panels would be needed), else the run divided evenly."""
    run = float(steps[-1])
    if len(steps) == 1 or run <= 0:
        return [0], "only the initial snapshot exists"
    if run >= target:
        spacing = target * math.ceil(run / (target * (max_panels - 1)))
        note = f"about {spacing:,} MC steps apart"
        if spacing > target:
            note += f" ({target:,} would need more than {max_panels} panels)"
    else:
        spacing = run / (min(max_panels, len(steps)) - 1)
        note = (f"about {spacing:,.0f} MC steps apart (the snapshots span only {run:,.0f} "
                f"steps, less than the paper's spacing of {target:,})")
    marks = spacing * np.arange(int(round(run / spacing)) + 1)
    nearest = [int(np.argmin(np.abs(steps - m))) for m in marks]
    return sorted(set(nearest)), note


def example_replica(f, summary):
    """The shelled replica closest to the ensemble's KM median among those with snapshots (a
    typical trajectory, not the fastest); any replica if none has snapshots."""
    e = summary.ensemble
    candidates = [p for p in rr.snapshot_replicas(f, e.name) if e.present[p]] or \
        list(np.flatnonzero(e.present))
    if not candidates:
        raise Failure(f"ensemble {e.name!r} has no replica in this file")
    times = np.where(e.censored, e.steps_run, e.tau).astype(float)
    reference = summary.median if math.isfinite(summary.median) else times[candidates].max()
    replica = int(min(candidates, key=lambda p: (abs(times[p] - reference), p)))
    steps = rr.snapshot_steps(f, e.name, replica)
    if len(steps):
        chosen, note = snapshot_marks(steps)
        views = [rr.top_view(s) for s in rr.snapshots(f, e.name, replica, chosen)]
        steps = steps[chosen]
    else:
        views, note = [], "this ensemble kept no snapshots (snapshot_interval = 0)"
    series_steps, a_core = rr.series(f, e.name, replica, "a_core")
    _, a_shell = rr.series(f, e.name, replica, "a_shell")
    return Example(replica, times[replica], not e.censored[replica], series_steps, a_core,
                   a_shell, steps, views, note)


def load(path, shelled, shell_free):
    """Reads and summarises everything; raises rr.ResultFileError or Failure."""
    with rr.open_results(path) as f:
        # Fig. 5a-c and the criteria are about one plain particle: sets with a seeded defect or
        # a list of particles have sections of their own (analysis/particles.py).
        ensembles = {name: rr.read_ensemble(f, name) for name in rr.ensemble_names(f)
                     if particles.plain(rr.attributes(f["ensembles"][name]))}
        windows = rr.fq_sets(f)
        if not ensembles:
            extra = particles.load(f, path)
            if not windows and extra.empty:
                raise Failure(f"{path}: neither ensembles nor window sets: nothing to plot")
            if shelled or shell_free:
                what = "only window sets" if extra.empty else "only seeded or tracked ones"
                raise Failure(f"{path}: --shelled/--shell-free given, but the file has no "
                              f"ensembles ({what})")
            return Results(path, rr.attributes(f), rr.provenance(f), {}, None, None, windows,
                           None, extra)
        paired = criteria.pairs(ensembles)
        if shelled is None and shell_free is None and len(paired) == 1:
            shelled, shell_free = paired[0]  # e.g. beside a shelled ensemble at another mu_c
        shelled = choose(ensembles, shelled, True, "--shelled")
        shell_free = choose(ensembles, shell_free, False, "--shell-free")
        if shelled == shell_free:
            raise Failure(f"--shelled and --shell-free both name {shelled!r}")
        summaries = {name: rr.summarise(e) for name, e in ensembles.items()}
        example = example_replica(f, summaries[shelled])
        extra = particles.load(f, path, summaries)
        return Results(path, rr.attributes(f), rr.provenance(f), summaries, shelled, shell_free,
                       windows, example, extra)


# ----------------------------------------------------------------------------------------------
# Fig. 5a: top views on the true triangular geometry


def figure_5a(results, out):
    ex = results.example
    name = results.shelled
    if not ex.views:
        return message_figure(out, "fig5a.png", "Fig. 5a: top views", f"No snapshots of ensemble {name!r}: "
                              f"{ex.spacing_note}. Set snapshot_interval in the job.")
    n = len(ex.views)
    box = view_box(ex.views)
    aspect = (box[3] - box[2]) / (box[1] - box[0])
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n + 0.4, 2.9 * aspect + 1.6), squeeze=False)
    for ax, view, step in zip(axes[0], ex.views, ex.snapshot_steps):
        draw_view(ax, view, box)
        ax.set_title(f"t = {int(step):,} MC steps\nA_core = {int(np.sum(view == 1))} columns",
                     fontsize=10)
    fate = f"doubled at τ = {ex.time:,.0f}" if ex.doubled else f"censored at {ex.time:,.0f}"
    fig.suptitle(f"Fig. 5a  {name}, replica {ex.replica} ({fate} MC steps)\ntop views "
                 f"{ex.spacing_note}", fontsize=11)
    fig.legend(handles=[Patch(facecolor=c, edgecolor="grey", label=f"{s} column")
                        for s, c in zip(STATE_NAMES, STATE_COLOURS)],
               loc="lower center", ncol=3, frameon=False)
    fig.text(0.99, 0.02, "column = core if any site is core, else shell if any is shell",
             ha="right", fontsize=8, color="dimgrey")
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1 - 0.55 / height))
    out.save_figure(fig, "fig5a.png")


# ----------------------------------------------------------------------------------------------
# Fig. 5b: projected areas of the example replica


def figure_5b(results, out):
    ex = results.example
    if len(ex.series_steps) == 0:
        return message_figure(out, "fig5b.png", "Fig. 5b: projected areas",
                              f"Replica {ex.replica} of {results.shelled!r} has no samples.")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(ex.series_steps, ex.a_core, color=STATE_COLOURS[1], lw=1.8,
            label="A_core (columns holding core)")
    ax.plot(ex.series_steps, ex.a_shell, color=STATE_COLOURS[2], lw=1.8,
            label="A_shell (columns holding shell)")
    for k, step in enumerate(ex.snapshot_steps):
        ax.axvline(step, color="grey", ls=":", lw=1,
                   label="snapshots in Fig. 5a" if k == 0 else None)
    criterion = results.summaries[results.shelled].ensemble.criterion
    if ex.doubled:
        ax.axvline(ex.time, color="black", ls="--", lw=1.2, label=f"τ ({criterion} criterion)")
    ax.set_xlabel("time (MC steps)")
    ax.set_ylabel("projected area (columns)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Fig. 5b  projected areas, {results.shelled} replica {ex.replica}")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.save_figure(fig, "fig5b.png")


# ----------------------------------------------------------------------------------------------
# Fig. 5c: doubling-time distributions and survival


def kind_label(name, results):
    return "shelled" if name == results.shelled else "shell-free"


def plain_log_ticks(ax):
    """Log time axes labelled 200, 500, 1,000 rather than 2x10^2 (MC steps read as numbers),
    with more labels per decade when the axis spans few decades; call once the limits are set."""
    lo, hi = ax.get_xlim()
    decades = math.log10(hi / lo)
    subs = (1, 2, 3, 5, 7) if decades < 1.2 else (1, 2, 5) if decades < 2.5 else (1,)
    ax.xaxis.set_major_locator(LogLocator(subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def log_bins(summaries):
    """Common logarithmic bins over every doubled replica of the compared ensembles."""
    times = np.concatenate([s.ensemble.times[s.ensemble.events] for s in summaries])
    lo, hi = times.min(), times.max()
    if hi <= lo * 1.05:
        lo, hi = lo / 1.2, hi * 1.2
    count = int(np.clip(math.sqrt(len(times)) * 1.5, 6, 30))
    return np.geomspace(lo / 1.02, hi * 1.02, count + 1)


def draw_histograms(ax, results, pair):
    """P(tau) per decade: fraction of the doubled replicas per unit log10(tau), so the area over
    a log axis is 1 for each kind; censored replicas are counted in the legend (they have no
    tau to histogram, and the survival panel uses them)."""
    if sum(s.doubled for s in pair) == 0:
        ax.text(0.5, 0.5, "no replica doubled", ha="center", va="center", transform=ax.transAxes)
    else:
        bins = log_bins([s for s in pair if s.doubled])
        widths = np.diff(np.log10(bins))
        for s in pair:
            colour = KIND_COLOURS[kind_label(s.ensemble.name, results)]
            counts, _ = np.histogram(s.ensemble.times[s.ensemble.events], bins)
            density = counts / max(s.doubled, 1) / widths
            ax.stairs(density, bins, fill=True, alpha=0.35, color=colour)
            ax.stairs(density, bins, color=colour, lw=1.8,
                      label=f"{s.ensemble.name}: {s.doubled} doubled, {s.censored} censored")
    ax.set_xscale("log")
    ax.set_xlabel("doubling time τ (MC steps)")
    ax.set_ylabel("P(τ) per decade of τ\n(area 1 over doubled replicas)")
    ax.set_title("distribution of doubling times")
    ax.legend(loc="upper left", fontsize=9)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)
    plain_log_ticks(ax)


def draw_survival(ax, results, pair):
    """Kaplan-Meier S(t) with pointwise 95% bands (as ripen stored them) and tick marks where
    replicas were censored; the KM median is where S crosses 1/2."""
    observed = [s.ensemble.times for s in pair if s.replicas]
    end = max([t.max() for t in observed] + [1.0])
    start = min([t.min() for t in observed] + [end]) / 1.5
    for s in pair:
        colour = KIND_COLOURS[kind_label(s.ensemble.name, results)]
        km = s.km
        t = np.concatenate(([start], km.time, [end * 1.2]))
        surv = np.concatenate(([1.0], km.survival, km.survival[-1:] if len(km.survival) else [1.0]))
        sd = np.sqrt(np.concatenate(([0.0], km.variance, km.variance[-1:] if len(km.variance)
                                     else [0.0])))
        median = "not reached" if math.isinf(s.median) else f"{s.median:,.0f}"
        ax.step(t, surv, where="post", color=colour, lw=1.8,
                label=f"{s.ensemble.name}: n = {s.replicas}, {s.censored} censored, "
                      f"median {median}")
        if km.lower is not None:  # the band ripen stored (log-log, inside [0, 1])
            pad = lambda band, first: np.concatenate(([first], band, band[-1:] if len(band)
                                                      else [first]))
            low, high = pad(km.lower, 1.0), pad(km.upper, 1.0)
        else:  # an older file: Greenwood's variance, plain
            low, high = np.clip(surv - 1.96 * sd, 0, 1), np.clip(surv + 1.96 * sd, 0, 1)
        ax.fill_between(t, low, high, step="post", color=colour, alpha=0.15)
        cens = s.ensemble.times[~s.ensemble.events]
        ax.plot(cens, km.at(cens), "|", color=colour, ms=14, mew=2)
        for when, count in zip(*np.unique(cens, return_counts=True)):
            if count > 1:
                ax.annotate(f"×{count}", (when, km.at(when)), xytext=(4, 6),
                            textcoords="offset points", color=colour, fontsize=9)
    if any(s.censored for s in pair):
        ax.plot([], [], "|", color="dimgrey", ms=14, mew=2, label="censoring time (not doubled)")
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(start, end * 1.2)
    plain_log_ticks(ax)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("time t (MC steps)")
    ax.set_ylabel("S(t) = fraction not yet doubled")
    ax.set_title("Kaplan-Meier survival (band: 95% Greenwood)")
    ax.legend(loc="lower left", fontsize=9)


def figure_5c(results, out):
    pair = [results.summaries[results.shelled], results.summaries[results.shell_free]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    draw_histograms(left, results, pair)
    draw_survival(right, results, pair)
    criterion = pair[0].ensemble.criterion
    fig.suptitle(f"Fig. 5c  time to double the core ({criterion} criterion), shelled vs "
                 "shell-free")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    out.save_figure(fig, "fig5c.png")


# ----------------------------------------------------------------------------------------------
# Fig. 5d: F(q) of every window set


METHOD_LABELS = {("windows", "wham"): "WHAM", ("windows", "mbar"): "MBAR",
                 ("exchange", "mbar"): "MBAR, every state", ("exchange", "wham"): "WHAM, rung 0"}


def estimate_text(value, sigma, digits):
    """value ± sigma; where the bootstrap gave no error (sigma infinite or NaN) it says so in
    words rather than "± inf", and a value that is not finite is "undetermined"."""
    value, sigma = float(value), float(sigma)
    if not math.isfinite(value):
        return "undetermined"
    if not math.isfinite(sigma):
        return f"{value:.{digits}f} (error undetermined)"
    return f"{value:.{digits}f} ± {sigma:.{digits}f}"


def unconverged(fq):
    """The solvers whose solve on all the data did not converge ("" if both did)."""
    names = [label for key, label in (("wham_converged", "WHAM"), ("mbar_converged", "MBAR"))
             if key in fq and not int(fq[key]) and math.isfinite(float(fq.get(
                 "barrier_" + label.lower(), math.nan)))]
    return " and ".join(names)


def draw_fq(ax, ws):
    """The set's primary estimate (WHAM for windows, MBAR over every state for an exchange set)
    as a thick line with a shaded band, the other dashed on top with dotted band edges: the two
    usually agree, and both must stay visible when they do."""
    fq = ws.fq
    q = np.asarray(fq["q"], float)
    ax.axvspan(fq["q_start"], fq["q_end"], color="#fdd0a2", alpha=0.35, lw=0,
               label="one layer: q_start → q_end")
    primary = ws.method
    secondary = "mbar" if primary == "wham" else "wham"
    F, sigma = np.asarray(fq[f"F_{primary}"]), np.asarray(fq[f"sigma_{primary}"])
    ax.fill_between(q, F - sigma, F + sigma, color=FQ_COLOURS["wham"], alpha=0.25)
    ax.plot(q, F, color=FQ_COLOURS["wham"], lw=3.5, alpha=0.8, marker="o", ms=5,
            label=f"{METHOD_LABELS[ws.kind, primary]} (band: ±1σ)")
    F, sigma = np.asarray(fq[f"F_{secondary}"]), np.asarray(fq[f"sigma_{secondary}"])
    ax.plot(q, F, "--", color=FQ_COLOURS["mbar"], lw=1.6,
            label=f"{METHOD_LABELS[ws.kind, secondary]} (dotted: ±1σ)")
    for edge in (F - sigma, F + sigma):
        ax.plot(q, edge, ":", color=FQ_COLOURS["mbar"], lw=1)
    layer = ws.attrs.get("layer_sites", 0)
    if layer > 0:
        top = ax.secondary_xaxis("top", functions=(lambda v: v / layer, lambda v: v * layer))
        top.set_xlabel(f"new layers (q / layer_sites, 1 layer = {layer} sites)")
    ax.set_xlabel("q = N_core − N_core(0) (sites)")
    ax.set_ylabel("F(q) at μ_c* (kT)")
    ax.grid(alpha=0.3)
    if ws.shell_lost:  # ripen's shell warning: this curve is not the particle it is labelled
        ax.text(0.02, 0.97, f"{ws.shell_label}: not the particle it started as",
                transform=ax.transAxes, va="top", color="#b2182b", fontweight="bold",
                fontsize=10)
    failed = unconverged(fq)
    caution = f"\n{failed} NOT converged: see results.md before trusting this" if failed else ""
    ax.set_title(f"{ws.name} (shell {ws.shell_thickness}), μ_c* = "
                 f"{estimate_text(fq['mu_star'], fq['mu_star_sigma'], 3)} kT\nΔF‡ = "
                 f"{estimate_text(fq['barrier_wham'], fq['barrier_wham_sigma'], 2)} kT "
                 f"({METHOD_LABELS[ws.kind, 'wham']}),\n"
                 f"{estimate_text(fq['barrier_mbar'], fq['barrier_mbar_sigma'], 2)} kT "
                 f"({METHOD_LABELS[ws.kind, 'mbar']}){caution}", fontsize=10.5)


def draw_fq_pair(ax, shelled, free):
    """Fig. 5d as the paper draws it: the shelled and the shell-free F(q) on one axis, each with
    its ±1σ band, and their barrier difference."""
    for ws, colour in ((shelled, "#d95f02"), (free, "#1b9e77")):
        fq = ws.fq
        q = np.asarray(fq["q"], float)
        F, sigma = np.asarray(fq[f"F_{ws.method}"]), np.asarray(fq[f"sigma_{ws.method}"])
        ax.fill_between(q, F - sigma, F + sigma, color=colour, alpha=0.25)
        ax.plot(q, F, color=colour, lw=2.5, marker="o", ms=4,
                label=f"{'shelled' if ws.shell_thickness else 'shell-free'}: {ws.name}, "
                      f"ΔF‡ = {estimate_text(ws.barrier, ws.barrier_sigma, 2)} kT")
    difference = shelled.barrier - free.barrier
    sigma = math.hypot(shelled.barrier_sigma, free.barrier_sigma)
    ax.set_xlabel("q = N_core − N_core(0) (sites)")
    ax.set_ylabel("F(q) at μ_c* (kT)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="upper right")
    warned = [ws.name for ws in (shelled, free) if ws.warnings or unconverged(ws.fq)]
    caution = f"\nwarnings on {', '.join(warned)}: see results.md before trusting this" \
        if warned else ""
    ax.set_title(f"shelled vs shell-free: ΔΔF‡ = {difference:.2f} ± {sigma:.2f} kT "
                 f"(exp: {exp_text(difference)}){caution}", fontsize=10.5)


def shelled_and_free(sets):
    """The determined sets of each kind that still measure what they are labelled: a set whose
    shell left its initial size (ripen's shell warning) is neither a shelled nor a shell-free
    F(q), and is never paired as one; nor are repeats (sets that differ only in `repeat`) that
    do not all determine F(q), or disagree by more than criteria.REPEAT_SPREAD."""
    kept = [ws for group in criteria.repeat_groups(sets).values()
            if criteria.determined(group) for ws in group]
    return ([ws for ws in kept if ws.shell_thickness > 0],
            [ws for ws in kept if ws.shell_thickness == 0])


def draw_fq_missing(ax, ws, reason):
    ax.axis("off")
    ax.set_title(f"{ws.name} (shell {ws.shell_thickness})", fontsize=11)
    ax.text(0.5, 0.5, textwrap.fill(reason, 45), ha="center", va="center",
            transform=ax.transAxes, fontsize=10)


def figure_5d(results, out):
    sets = results.windows
    if not sets or all(ws.fq is None for ws in sets):
        reason = ("its window sets have no F(q) (a shard? `ripen merge` the shards, or run "
                  "`ripen analyze`)" if sets else
                  "it has no window sets: add umbrella windows to the job (docs/jobs.md)")
        warn(f"{results.path}: no F(q) to plot ({reason}); fig5d.png only says so")
        return message_figure(out, "fig5d.png", "Fig. 5d: F(q)",
                              f"No F(q) in this file: {reason}.")
    shelled, free = shelled_and_free(sets)
    pair = (shelled[0], free[0]) if shelled and free else None
    panels = len(sets) + (pair is not None)
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.6 * columns, 4.8 * rows), squeeze=False)
    flat = list(axes.flat)
    if pair:
        draw_fq_pair(flat.pop(0), *pair)
    for ax, ws in zip(flat, sets):
        if ws.fq is None:
            draw_fq_missing(ax, ws, "no fq group in this file (`ripen merge` the shards or run "
                            "`ripen analyze`)")
        elif "error" in ws.fq:
            draw_fq_missing(ax, ws, "F(q) not determined: " + ws.fq["error"])
        else:
            draw_fq(ax, ws)
    for ax in flat[len(sets):]:
        ax.axis("off")
    drawn = [ax for ax, ws in zip(flat, sets) if ws.fq is not None and "error" not in ws.fq]
    legend_rows = 0
    if drawn:  # as many legend columns as panel columns: the legend fits under the panels
        handles = drawn[0].get_legend_handles_labels()
        fig.legend(*handles, loc="lower center", ncol=columns, frameon=False)
        legend_rows = math.ceil(len(handles[0]) / columns)
    fig.suptitle(textwrap.fill("Fig. 5d  free energy of growing a new layer (σ: bootstrap "
                               "standard deviation)", 50 * columns))
    fig.tight_layout(rect=(0, 0.3 * legend_rows / (4.8 * rows), 1, 1))
    # "tight": the saved image grows to hold every title and the legend, whatever their length
    out.save_figure(fig, "fig5d.png", bbox_inches="tight")


def message_figure(out, name, title, message):
    """A figure that only says why it is empty, so the set of outputs is always complete."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, textwrap.fill(message, 60), ha="center", va="center",
            transform=ax.transAxes)
    out.save_figure(fig, name)


# ----------------------------------------------------------------------------------------------
# results.md


def steps_text(value, limit):
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return f"> {limit:,.0f} (not reached)"
    return f"{value:.0f}"


def interval_text(ci, limit, digits=None):
    """A CI end that is infinite (median not reached in those resamples) prints as "> L" for
    times and "∞" for ratios; NaN (a ratio of two unreached medians) as "undetermined"."""
    def show(v):
        if math.isnan(v):
            return "undetermined"
        if math.isinf(v):
            return "∞" if digits is not None else f"> {limit:,.0f}"
        return f"{v:.0f}" if digits is None else f"{v:.{digits}f}"
    return f"[{show(ci[0])}, {show(ci[1])}]"


def ensemble_row(s):
    e = s.ensemble
    exp = s.exponential
    exp_text = f"{exp.mean:.0f} ± {exp.rate_se / exp.rate ** 2:.0f}" if exp.rate > 0 else "n/a"
    weibull = s.weibull
    weibull_text = f"{weibull.shape:.2f} ± {weibull.shape_se:.2f}" if weibull else "n/a"
    return (f"| {e.name} | {e.shell_thickness} | {e.criterion} | {s.replicas} | {s.doubled} | "
            f"{s.censored} | {steps_text(s.median, s.horizon)} | "
            f"{interval_text(s.median_ci, s.horizon)} | {s.rmst:.0f} | "
            f"{interval_text(s.rmst_ci, s.horizon)} | {s.horizon:.0f} | {exp_text} | "
            f"{weibull_text} |")


def ratio_text(shelled, free):
    """The ratio of KM medians with its CI, or the bound a median not reached allows."""
    r = rr.bounded_ratio(shelled, free)
    if r.kind == "above":
        return f"{r.text()} (the shelled median was not reached by the step limit)"
    if r.kind == "below":
        return f"{r.text()} (the shell-free median was not reached by the step limit)"
    if r.kind == "undetermined":
        return r.text()
    return f"{r.value:.2f}, 95% CI {interval_text(r.ci, 0, 2)}"


def doubling_section(results):
    lines = ["## Doubling times", ""]
    criteria = sorted({s.ensemble.criterion for s in results.summaries.values()})
    for c in criteria:
        lines += [f"tau by the `{c}` criterion: the first MC step at which "
                  f"{CRITERIA.get(c, 'the criterion')} (docs/model.md).", ""]
    lines += ["Censored replicas (not doubled by the step limit L) are kept in every statistic. "
              f"95% CIs: percentile bootstrap over replicas ({rr.BOOTSTRAP_RESAMPLES} resamples "
              f"with replacement, seed {rr.BOOTSTRAP_SEED}). Mean tau is the restricted mean "
              "survival time (RMST) up to L, the area under the Kaplan-Meier curve: the plain "
              "mean when nothing is censored, a lower bound on it otherwise. The exponential and "
              "Weibull columns are censored maximum-likelihood fits (Weibull shape 1 = "
              "exponential, a memoryless activated event; shape >> 1 = doubling at a nearly "
              "fixed time). A CI end \"> L\" or ∞ means the median was not reached in those "
              "resamples (too many of their replicas censored).", "",
              "| ensemble | shell thickness | criterion | replicas | doubled | censored | "
              "KM median tau (MC steps) | 95% CI | mean tau = RMST (MC steps) | 95% CI | "
              "RMST horizon L (MC steps) | exponential mean 1/rate ± SE (MC steps) | "
              "Weibull shape ± SE |",
              "|" + " --- |" * 13]
    lines += [ensemble_row(s) for s in results.summaries.values()]
    missing = {n: s.missing for n, s in results.summaries.items() if s.missing}
    if missing:
        lines += ["", "Replicas not in this file (an incomplete run or a shard; neither doubled "
                  "nor censored, left out): " + ", ".join(f"{n}: {m}" for n, m in
                                                           missing.items())]
    measured = ratio_text(results.summaries[results.shelled],
                          results.summaries[results.shell_free])
    lines += ["", f"**Ratio of KM medians shelled / shell-free** (`{results.shelled}` / "
              f"`{results.shell_free}`): {measured}", ""]
    return lines


def comparable_differences(window_set, summary):
    """Model settings in which a window set differs from an ensemble, other than mu_core (the
    windows are reweighted to their own balance point) and dynamics (F does not depend on it);
    the predicted ratio only speaks about the ensembles if there are none."""
    keys = ("lx", "ly", "lz", "eps_core", "eps_shell", "eps_interface", "mu_shell",
            "energy_form", "move_set", "proposals", "shell_ensemble", "bond_neighbours",
            "core_sites_requested")
    return [f"{k} {window_set.attrs.get(k)} vs {summary.ensemble.attrs.get(k)}" for k in keys
            if window_set.attrs.get(k) != summary.ensemble.attrs.get(k)]


def window_row(ws):
    label = ws.name if ws.kind == "windows" else \
        f"{ws.name} (exchange, {ws.attrs.get('nrungs')} rung(s))"
    head = f"| {label} | {ws.shell_thickness} | {ws.attrs.get('layer_sites')} | " \
           f"{ws.attrs.get('sampling_mu_core', ws.attrs.get('mu_core'))} | "
    if ws.fq is None:
        return head + "no fq group | | | | `ripen merge` the shards or run `ripen analyze` |"
    # ripen's shell warning, its head in bold; the set's other warnings follow it
    lost = f"**{ws.shell_label}**{ws.shell_warning[len(ws.shell_label):]}" if ws.shell_lost \
        else ""
    if "error" in ws.fq:
        return head + "not determined | | | | " + \
            ((f"{lost}; " if lost else "") + ws.fq["error"]).replace("|", "/") + " |"
    fq = ws.fq
    notes = (fq.get("warnings") or "").replace(ws.shell_warning, lost, 1)
    failed = unconverged(fq)
    if failed:
        notes = f"**{failed} NOT converged** (the file's warning follows); {notes}"
    return head + (f"{estimate_text(fq['mu_star'], fq['mu_star_sigma'], 3)} | "
                   f"{estimate_text(fq['barrier_wham'], fq['barrier_wham_sigma'], 2)} | "
                   f"{estimate_text(fq['barrier_mbar'], fq['barrier_mbar_sigma'], 2)} | "
                   f"{fq['q_start']} → {fq['q_end']} | {notes.replace('|', '/')} |")


def repeat_section(windows):
    summaries = rr.repeat_summaries(windows)
    if not summaries:
        return []
    lines = ["Repeats (window sets differing only in `repeat`: independent random streams). The "
             "bootstrap of one set sees only the states its windows visited; the spread of the "
             "repeats also sees slow degrees of freedom they did not:", "",
             "| window sets | repeats (determined) | barrier WHAM, mean ± SD (kT) | SEM (kT) | "
             "median bootstrap σ (kT) | notes |", "|" + " --- |" * 6]
    for s in summaries:
        n = len(s.barriers)
        if n < 2:
            lines.append(f"| {s.base} | {s.count} ({n}) | | | | fewer than 2 determined |")
            continue
        note = ("repeats disagree beyond the bootstrap error: quote mean ± SD"
                if s.sd > 2 * s.bootstrap_sigma else "")
        lines.append(f"| {s.base} | {s.count} ({n}) | {s.mean:.2f} ± {s.sd:.2f} | {s.sem:.2f} | "
                     f"{s.bootstrap_sigma:.2f} | {note} |")
    return lines + [""]


def exp_text(x, digits=3):
    """e^x for a table or title; beyond a float's range (an undetermined barrier), say so."""
    return f"{math.exp(x):.{digits}g}" if abs(x) < 700 else "out of range"


def predicted_ratio(shelled, free, method):
    """exp(dF_shelled - dF_free) and the range from +-1 sigma of the barrier difference."""
    diff = shelled.fq[f"barrier_{method}"] - free.fq[f"barrier_{method}"]
    sigma = math.hypot(shelled.fq[f"barrier_{method}_sigma"], free.fq[f"barrier_{method}_sigma"])
    return (f"{diff:.2f} ± {sigma:.2f} | {exp_text(diff)} "
            f"[{exp_text(diff - sigma)}, {exp_text(diff + sigma)}]")


def window_section(results):
    lines = ["## Free energy of a new layer (window and exchange sets)", ""]
    if not results.windows:
        return lines + ["No window sets in this file.", ""]
    lines += ["mu_core* is the core chemical potential at which F(q_start) = F(q_end) (one full "
              "layer); the barrier is max F over that layer minus F(q_start); ± is the bootstrap "
              "standard deviation.", "",
              "| window set | shell thickness | layer_sites (sites) | mu_core sampled (kT) | "
              "mu_core* (kT) | barrier WHAM (kT) | barrier MBAR (kT) | q_start → q_end | "
              "notes |", "|" + " --- |" * 9]
    lines += [window_row(ws) for ws in results.windows]
    good = [ws for ws in results.windows if ws.fq is not None and "error" not in ws.fq]
    shelled, free = shelled_and_free(results.windows)
    lines.append("")
    left_out = [ws.name for ws in good if ws not in shelled + free]
    if left_out:
        lines += [f"Not compared as shelled or shell-free below ({', '.join(left_out)}): their "
                  "shell left its initial size (ripen's shell warning), or their repeats do not "
                  f"all determine F(q) within {criteria.REPEAT_SPREAD} kT of each other.", ""]
    lines += exchange_section(results)
    lines += repeat_section(results.windows)
    if shelled and free and results.shelled is None:
        return lines + ["No ensembles in this file: no measured doubling-time ratio to set "
                        "the predicted one exp(ΔF‡_shelled − ΔF‡_shell-free) beside.", ""]
    if not (shelled and free):
        return lines + ["The predicted ratio exp(ΔF‡_shelled − ΔF‡_shell-free) needs window "
                        "sets with F(q) of both kinds; this file has "
                        f"{len(shelled)} shelled and {len(free)} shell-free.", ""]
    measured = ratio_text(results.summaries[results.shelled],
                          results.summaries[results.shell_free])
    lines += ["Predicted ratio of doubling times exp(ΔF‡_shelled − ΔF‡_shell-free) (range: "
              "±1σ of the barrier difference) beside the measured ratio of KM medians:", "",
              "| shelled windows | shell-free windows | ΔΔF‡ WHAM (kT) | predicted WHAM | "
              "ΔΔF‡ MBAR (kT) | predicted MBAR | measured (median ratio, 95% CI) |",
              "|" + " --- |" * 7]
    for s in shelled:
        for fr in free:
            lines.append(f"| {s.name} | {fr.name} | {predicted_ratio(s, fr, 'wham')} | "
                         f"{predicted_ratio(s, fr, 'mbar')} | {measured} |")
    lines.append("")
    pairs = ((ws, results.summaries[results.shelled if ws.shell_thickness > 0 else
                                    results.shell_free]) for ws in shelled + free)
    for ws, s in pairs:
        diff = comparable_differences(ws, s)
        if diff:
            lines.append(f"- Window set `{ws.name}` differs from ensemble `{s.ensemble.name}` "
                         f"({'; '.join(diff)}): the prediction is not about the same model.")
    return lines + [""]


def exchange_section(results):
    """How well each exchange set's configurations travelled: swaps accepted between window
    neighbours and between rungs, and round trips."""
    sets = [ws for ws in results.windows if ws.kind == "exchange" and ws.statistics]
    if not sets:
        return []
    lines = ["Exchanges (swaps of configurations between neighbouring windows and rungs; a "
             "round trip: from the first window (rung) to the last and back):", "",
             "| exchange set | windows x rungs | epochs | window swaps accepted | rung swaps "
             "accepted (lowest pair) | window round trips | rung round trips | warnings |",
             "|" + " --- |" * 8]
    for ws in sets:
        st, K = ws.statistics, int(ws.attrs.get("nwindows", 1))
        first, other = np.asarray(st["pair_first"]), np.asarray(st["pair_other"])
        tried, accepted = np.asarray(st["attempts"], float), np.asarray(st["accepts"], float)
        along = other - first == K
        window = f"{accepted[~along].sum() / max(tried[~along].sum(), 1):.1%}"
        rung = "—"
        if along.any():
            fraction = accepted[along] / np.maximum(tried[along], 1)
            rung = f"{accepted[along].sum() / max(tried[along].sum(), 1):.1%} " \
                   f"({fraction.min():.1%})"
        lines.append(f"| {ws.name} | {K} x {ws.attrs.get('nrungs')} | {ws.attrs.get('epochs')} | "
                     f"{window} | {rung} | {int(np.sum(st['window_round_trips']))} | "
                     f"{int(np.sum(st['rung_round_trips']))} | "
                     f"{(st.get('warnings') or '').replace('|', '/')} |")
    return lines + [""]


def reading_row(name, kind, attrs):
    lattice = f"{attrs.get('lx')}x{attrs.get('ly')}x{attrs.get('lz')}"
    params = ", ".join(f"{attrs.get(k):g}" if isinstance(attrs.get(k), float) else
                       str(attrs.get(k)) for k in rr.PARAMETER_KEYS)
    reading = " | ".join(f"{attrs.get(k):.4g}" if isinstance(attrs.get(k), float) else
                         str(attrs.get(k)) for k in rr.READING_KEYS)
    return f"| {name} | {kind} | {lattice} | {params} | {reading} |"


def reading_section(results):
    lines = ["## Model reading", "",
             "| entry | kind | lattice | eps_core, eps_shell, eps_interface, mu_core, mu_shell "
             "(kT) | " + " | ".join(rr.READING_KEYS) + " |",
             "|" + " --- |" * (4 + len(rr.READING_KEYS))]
    lines += [reading_row(n, "ensemble", s.ensemble.attrs) for n, s in results.summaries.items()]
    lines += [reading_row(ws.name, "window set" if ws.kind == "windows" else "exchange set",
                          ws.attrs) for ws in results.windows]
    return lines + [""]


def provenance_section(results):
    p, root = results.provenance, results.root
    keys = ("ripen_version", "git_commit", "created", "host", "mpi_ranks", "mpi_library",
            "hdf5_version", "wall_seconds", "job_path")
    lines = ["## Provenance", "",
             f"- file: `{os.path.abspath(results.path)}` (complete: "
             f"{'yes' if root.get('complete') == 1 else 'NO'}, seed {root.get('seed')}, "
             f"job hash {root.get('job_hash')}, shard {root.get('shard_index')} of "
             f"{root.get('shard_count')})"]
    lines += [f"- {k}: {p[k]}" for k in keys if k in p]
    return lines + [""]


def fq_sets_text(sets):
    """"2 window sets and 1 exchange set": what a file without ensembles holds."""
    counts = [(sum(ws.kind == kind for ws in sets), kind) for kind in ("windows", "exchange")]
    names = {"windows": "window set", "exchange": "exchange set"}
    return " and ".join(f"{n} {names[kind]}{'s' if n != 1 else ''}" for n, kind in counts if n)


def particle_sections(results):
    return results.particles.lines if results.particles is not None else []


def results_markdown(results):
    extra = results.particles is not None and not results.particles.empty
    figures = particles.figure_names(results.particles) if extra else ""
    if results.shelled is None and not extra:  # F(q) sets only
        intro = (f"A file with {fq_sets_text(results.windows)} and no ensembles. Figure: "
                 "fig5d.png (F(q)). Energies in kT.")
        sections = (window_section, reading_section, provenance_section)
    elif results.shelled is None:  # seeded defects or tracked particles, no plain pair
        intro = (f"Figures: {figures}" + (", fig5d.png (F(q))" if results.windows else "") +
                 ". Times in MC steps, energies in kT.")
        sections = (particle_sections,) + ((window_section,) if results.windows else ()) + \
            (reading_section, provenance_section)
    else:
        intro = (f"Figures: fig5a.png (top views of `{results.shelled}` replica "
                 f"{results.example.replica}), fig5b.png (its projected areas), fig5c.png "
                 f"(`{results.shelled}` vs `{results.shell_free}`), fig5d.png (F(q))" +
                 (f", {figures}" if figures else "") + ". Times in MC steps, energies in kT.")
        sections = (doubling_section, criteria.results_section, crack_report.section,
                    particle_sections,
                    window_section, reading_section, provenance_section)
    lines = [f"# ripen results: {os.path.basename(results.path)}", "", intro, ""]
    for section in sections:
        lines += section(results)
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------------------------
# Command line


def parse_args(argv):
    parser = cli.Parser(prog="figures", description=__doc__.splitlines()[0])
    parser.add_argument("results", help="ripen result file (HDF5)")
    parser.add_argument("-o", "--output", default="figures", help="output directory")
    parser.add_argument("--shelled", help="ensemble shown as shelled (default: the one with "
                        "shell_thickness > 0)")
    parser.add_argument("--shell-free", help="ensemble shown as shell-free (default: the one "
                        "with shell_thickness == 0)")
    return parser.parse_args(argv)


def run(argv):
    args = parse_args(argv)
    cli.output_directory(args.output)
    with cli.reading(args.results):
        results = load(args.results, args.shelled, args.shell_free)
        markdown = results_markdown(results)  # reads the file again (the criteria)
    with cli.Outputs(args.output) as out:
        if results.shelled is not None:
            figure_5a(results, out)
            figure_5b(results, out)
            figure_5c(results, out)
            crack_report.figure(results, out)
        if results.shelled is not None or results.windows:
            figure_5d(results, out)
            crack_report.qc_figure(results, out)
        if results.particles is not None:
            with cli.reading(args.results):
                particles.write_figures(results.particles, results.path, out)
        out.write_text("results.md", markdown)


def main(argv=None):
    return cli.main("figures", run, argv)


if __name__ == "__main__":
    sys.exit(main())
