#!/usr/bin/python3
"""Seeded defects and several particles in one box (issue 20): statistics, figures and the
results.md sections, from ripen result files.

    /usr/bin/python3 analysis/particles.py RESULTS.h5 [MORE.h5 ...] -o DIR [--movie SET[:REPLICA]]

writes catalysis.png (tau(k)/tau(0) against the seeded sites k, one panel per file),
particles-<set>.png (per-particle sizes over time, coloured by kind, and top views with the
particles labelled) for every tracked ensemble, particles.md (the tables), and with --movie an
animated GIF of one replica's snapshots (particles-<set>-<replica>.gif). analysis/figures.py
calls the same functions for the sets of one file. Errors: one line "particles: ..." on stderr,
exit status 2.

Catalysis. A defect set (an ensemble whose particle has a seeded defect: attributes
defect_place, defect_sites) is compared with the plain shelled ensemble of the same system in
the same file (equal system attributes, no defect): the ratio of Kaplan-Meier medians
tau(k)/tau(0) with its bootstrap 95% CI (ripen_results.median_ratio). The seeded hole is the
crack episode that starts at step 0 (a seeded particle starts with exposed core); it *healed
before growth* if it closed with no net growth of N_core (crack.h: crack_healed), and healed at
its episode_end (as fine as sample_interval). The fraction healed has a Wilson 95% interval.
"""
import dataclasses
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import criteria  # noqa: E402
import ripen_results as rr  # noqa: E402
import topview  # noqa: E402

KIND_COLOURS = {"shelled": "#3182bd", "shell-free": "#e6550d", "appeared": "#31a354"}
FATES = ("healed by shell", "filled by core", "grew through")
ONSET_FRACTION = 0.05  # crack.h's CRACK_ONSET_PERCENT: growth beyond this is growth


Failure = cli.Failure


def system_key(attrs, shell=True):
    """The set's system without its defect (criteria.SYSTEM_KEYS less the defect's keys); with
    shell=False also without its shell thickness (to pair the shell-free set)."""
    keys = [k for k in criteria.SYSTEM_KEYS if k not in ("defect_place", "defect_sites")]
    key = tuple(attrs.get(k) for k in keys)
    return key + ((attrs.get("shell_thickness", 0),) if shell else ())


def wilson(successes, n, z=1.959963984540054):
    """Wilson score interval of a binomial proportion (good at 0 and 1, unlike the Wald one)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# ----------------------------------------------------------------------------------------------
# Catalysis


@dataclasses.dataclass
class Holes:
    """The seeded hole of each replica: the crack episode that starts at step 0."""
    fate: np.ndarray     # per replica: index into FATES (0 healed by shell, 1 filled by core:
    #                      closed after growing by at most ONSET_FRACTION, 2 grew through: open
    #                      when the series ended or closed after more growth); -1 no hole / absent
    closed: np.ndarray   # per replica: the step at which it closed (episode_end), -1 if open
    interval: int        # sample_interval: the resolution of `closed`

    def count(self, fate):
        return int((self.fate == fate).sum())

    @property
    def replicas(self):
        return int((self.fate >= 0).sum())

    @property
    def closed_before_growth(self):
        return self.count(0) + self.count(1)


def seeded_holes(f, name, present):
    """What became of each present replica's seeded hole (None for a file without episodes)."""
    episodes = rr.read_episodes(f, name)
    if episodes is None:
        return None
    counts, e = episodes
    g = f["ensembles"][name]
    attrs = rr.attributes(g)
    initial = g["core_sites"][()]
    seeded = present & (counts > 0) & (e["episode_start"][:, 0] == 0)
    closed = seeded & (e["episode_closed"][:, 0] == 1)
    growth = e["episode_growth"][:, 0]
    fate = np.where(closed & (growth <= 0), 0,
                    np.where(closed & (growth <= ONSET_FRACTION * initial), 1, 2))
    return Holes(np.where(seeded, fate, -1), np.where(closed, e["episode_end"][:, 0], -1),
                 int(attrs.get("sample_interval", 0)))


@dataclasses.dataclass
class CatalysisRow:
    name: str
    place: str
    sites: int
    summary: rr.Summary
    ratio: tuple             # (tau(k)/tau(0), (lower, upper)); NaN without a baseline
    holes: Holes             # from this set's episodes (None without)
    fate_medians: tuple      # KM median tau of the replicas of each fate (NaN if none)
    watch: object            # Holes of the watch set of the same defect (1-step), or None


@dataclasses.dataclass
class Catalysis:
    path: str
    baseline: rr.Summary     # the plain shelled set (k = 0)
    shell_free: rr.Summary   # the shell-free set of the same system, or None
    rows: list               # CatalysisRow, by place then sites


def fate_medians(ensemble, holes):
    """KM median tau of the replicas of each fate."""
    out = []
    times = np.where(ensemble.censored, ensemble.steps_run, ensemble.tau).astype(float)
    for fate in range(len(FATES)):
        keep = holes.fate == fate if holes is not None else np.zeros(len(times), bool)
        out.append(rr.km_median(times[keep], ~ensemble.censored[keep]) if keep.any()
                   else math.nan)
    return tuple(out)


def is_watch(attrs):
    """A watch set follows seeded particles for a while without stopping at doubling: the
    timing of their holes, not a doubling time."""
    return not attrs.get("stop_at_doubling", 1)


def catalysis(f, path, summaries=None):
    """Every group of defect sets in the file with its baseline: a list of Catalysis (empty if
    the file has no defect sets). `summaries` (name -> rr.Summary) avoids summarising twice."""
    summaries = dict(summaries or {})
    names = rr.ensemble_names(f)
    attrs = {n: rr.attributes(f["ensembles"][n]) for n in names}

    def summary(n):
        if n not in summaries:
            summaries[n] = rr.summarise(rr.read_ensemble(f, n))
        return summaries[n]

    plain_sets = [n for n in names if rr.defect(attrs[n]) is None and "particles" not in attrs[n]
                  and not is_watch(attrs[n])]
    groups, watches = {}, {}
    for n in names:
        d = rr.defect(attrs[n])
        if d is None:
            continue
        if is_watch(attrs[n]):
            watches[(system_key(attrs[n]), d)] = n
        else:
            groups.setdefault(system_key(attrs[n]), []).append((d, n))
    out = []
    for key, members in groups.items():
        base = [n for n in plain_sets if system_key(attrs[n]) == key]
        free = [n for n in plain_sets if attrs[n].get("shell_thickness", 0) == 0 and
                system_key(attrs[n], shell=False) == key[:-1]]
        baseline = summary(base[0]) if len(base) == 1 else None
        rows = []
        for (place, sites), n in sorted(members, key=lambda m: (
                rr.DEFECT_PLACES.index(m[0][0]) if m[0][0] in rr.DEFECT_PLACES else 9, m[0][1])):
            s = summary(n)
            value = rr.median_ratio(s, baseline) if baseline else (math.nan, (math.nan,) * 2)
            holes = seeded_holes(f, n, s.ensemble.present)
            w = watches.get((key, (place, sites)))
            watch = seeded_holes(f, w, rr.read_ensemble(f, w).present) if w else None
            rows.append(CatalysisRow(n, place, sites, s, value, holes,
                                     fate_medians(s.ensemble, holes), watch))
        out.append(Catalysis(path, baseline, summary(free[0]) if len(free) == 1 else None, rows))
    return out


def steps_text(x):
    if not math.isfinite(x):
        return "not reached" if x > 0 else "-"
    return f"{x:,.0f}"


def interval_text(ci, digits=None):
    lo, hi = ci
    if digits is None:
        return f"[{steps_text(lo)}, {steps_text(hi)}]"
    fmt = (lambda v: f"{v:.{digits}f}" if math.isfinite(v) else ("∞" if v > 0 else "?"))
    return f"[{fmt(lo)}, {fmt(hi)}]"


def baseline_lines(g):
    if g.baseline is None:
        return ["No plain shelled ensemble of the same system: ratios undetermined.", ""]
    b = g.baseline
    lines = [f"Baseline `{b.ensemble.name}` (k = 0): median τ {steps_text(b.median)} "
             f"{interval_text(b.median_ci)}, {b.doubled} of {b.replicas} doubled."]
    if g.shell_free is not None:
        s = g.shell_free
        r = rr.median_ratio(b, s)
        lines.append(f"Shell-free `{s.ensemble.name}`: median τ {steps_text(s.median)} "
                     f"{interval_text(s.median_ci)}; τ(0)/τ(shell-free) = {r[0]:.1f} "
                     f"{interval_text(r[1], 1)}.")
    return lines + [""]


def catalysis_row(row):
    s, h = row.summary, row.holes
    fates = " / ".join(str(h.count(k)) for k in range(len(FATES))) if h else "-"
    closed = h.closed_before_growth if h else 0
    fraction = (f"{closed / h.replicas:.2f} {interval_text(wilson(closed, h.replicas), 2)}"
                if h and h.replicas else "-")
    medians = " / ".join(steps_text(m) for m in row.fate_medians)
    return (f"| `{row.name}` | {row.place} | {row.sites} | {s.doubled}/{s.replicas} | "
            f"{steps_text(s.median)} {interval_text(s.median_ci)} | {row.ratio[0]:.3f} "
            f"{interval_text(row.ratio[1], 3)} | {fates} | {fraction} | {medians} |")


def watch_row(row):
    w = row.watch
    closed = w.closed[(w.fate == 0) | (w.fate == 1)]
    quantiles = (f"{np.percentile(closed, 50):.0f} / {np.percentile(closed, 90):.0f} / "
                 f"{closed.max():.0f}") if len(closed) else "-"
    return (f"| {row.place} | {row.sites} | {w.replicas} | {w.count(0)} | {w.count(1)} | "
            f"{w.count(2)} | {quantiles} |")


def catalysis_section(groups):
    """The "Seeded defects: catalysis" section of results.md."""
    if not groups:
        return []
    lines = ["## Seeded defects: catalysis", "",
             "τ(k)/τ(0): Kaplan-Meier medians of the shelled particle with k shell sites "
             "removed at a place (docs/model.md, \"Seeded defects\") over the plain shelled one "
             "of the same system, bootstrap 95% CI. The seeded hole is the crack episode that "
             "starts at step 0; its fate: *healed by shell* (closed with no net growth of "
             "N_core), *filled by core* (closed after the core grew into it by at most 5% of its "
             "sites), *grew through* (still open when the replica doubled, or closed after more "
             "growth). Closed before growth = the first two, with a Wilson 95% interval; the "
             "fates as fine as sample_interval.", ""]
    for g in groups:
        lines += baseline_lines(g)
        lines += ["| set | place | k | doubled | median τ [95% CI] | τ(k)/τ(0) [95% CI] | "
                  "healed by shell / filled by core / grew through | closed before growth "
                  "[95% CI] | median τ by fate |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        lines += [catalysis_row(row) for row in g.rows]
        lines.append("")
        watched = [row for row in g.rows if row.watch is not None]
        if watched:
            interval = watched[0].watch.interval
            lines += [f"When the holes close: the watch sets (the same seeded particles, "
                      f"sampled every {interval} step(s) for their first steps; fates at the end "
                      "of the watch, an open hole counted as grown through):", "",
                      "| place | k | replicas | healed by shell | filled by core | still open | "
                      "closing step: median / 90% / last |",
                      "| --- | --- | --- | --- | --- | --- | --- |"]
            lines += [watch_row(row) for row in watched]
            lines.append("")
    return lines


def draw_catalysis(ax, group, title):
    """τ(k)/τ(0) against k, one line per place, with the 95% CIs; k = 0 is 1 by definition."""
    places = []
    for row in group.rows:
        if row.place not in places:
            places.append(row.place)
    markers = {"facet": "o", "edge": "s", "corner": "^"}
    for i, place in enumerate(places):
        rows = [r for r in group.rows if r.place == place]
        k = np.array([0] + [r.sites for r in rows], float)
        value = np.array([1.0] + [r.ratio[0] for r in rows])
        lo = np.array([1.0] + [r.ratio[1][0] for r in rows])
        hi = np.array([1.0] + [r.ratio[1][1] for r in rows])
        shift = 1.0 + 0.04 * (i - (len(places) - 1) / 2)  # keep the error bars apart
        x = np.where(k > 0, k * shift, 0.5)
        ax.errorbar(x, value, yerr=[value - lo, hi - value], marker=markers.get(place, "o"),
                    capsize=3, label=place)
    if group.shell_free is not None and group.baseline is not None:
        r = rr.median_ratio(group.shell_free, group.baseline)
        ax.axhline(r[0], color=KIND_COLOURS["shell-free"], linestyle=":",
                   label="shell-free particle")
    ax.set_xscale("log", base=2)
    ax.set_xticks([0.5, 1, 2, 4, 8])
    ax.set_xticklabels(["0", "1", "2", "4", "8"])
    ax.set_yscale("log")
    ax.set_xlabel("seeded sites k (shell sites removed)")
    ax.set_ylabel("τ(k) / τ(0), KM medians")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)


def figure_catalysis(groups, out):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.6), squeeze=False)
    for ax, g in zip(axes[0], groups):
        b = g.baseline
        title = os.path.basename(g.path)
        if b is not None:
            a = b.ensemble.attrs
            title += (f"\nε_i {a.get('eps_interface'):g}, μ_c {a.get('mu_core'):g}, "
                      f"μ_s {a.get('mu_shell'):g} kT; τ(0) = {steps_text(b.median)}")
        draw_catalysis(ax, g, title)
    fig.tight_layout()
    out.save_figure(fig, "catalysis.png")


# ----------------------------------------------------------------------------------------------
# Tracked particles: sizes by kind, survivors, who wins


def kinds_of(parts, replica):
    """The kind of every id the replica gave."""
    return [parts.kind(replica, p) for p in range(int(parts.count[replica]))]


def by_kind(parts):
    """Per kind: the mean core size of its particles present at each sample (NaN where none)
    and the mean number of them present, over the replicas present (samples beyond a replica's
    series are left out)."""
    kinds = ("shelled", "shell-free", "appeared")
    steps = len(parts.steps)
    total = {k: np.zeros(steps) for k in kinds}
    alive = {k: np.zeros(steps) for k in kinds}
    replicas = np.zeros(steps)
    for r in np.flatnonzero(parts.present):
        n = int(parts.length[r])
        replicas[:n] += 1
        for p, kind in enumerate(kinds_of(parts, r)):
            core = parts.core[r, :n, p]
            total[kind][:n] += np.where(core >= 0, core, 0)
            alive[kind][:n] += core >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = {k: np.where(alive[k] > 0, total[k] / alive[k], np.nan) for k in kinds}
        survivors = {k: np.where(replicas > 0, alive[k] / replicas, np.nan) for k in kinds}
    return mean, survivors


POPULATION_TIMES = (0, 0.25, 0.5, 0.75, 1)  # fractions of the run the population table shows


def replica_interval(values, rng):
    """The mean over replicas of `values` (NaN: the replica has none, left out) and the
    percentile 95% interval of the means of the replicas resampled with replacement."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, (math.nan, math.nan)
    picks = rng.integers(0, len(values), size=(rr.BOOTSTRAP_RESAMPLES, len(values)))
    return float(values.mean()), rr.percentile_interval(values[picks].mean(axis=1))


def population(parts, fraction):
    """At `fraction` of each present replica's series: per kind ("shelled", "shell-free") the
    initial particles still there under their own id (not vanished, not merged into another;
    fragments that split off are not counted) and their mean core size, per replica (NaN where
    none is left)."""
    out = {"shelled": ([], []), "shell-free": ([], [])}
    n0 = len(parts.initial)
    for r in np.flatnonzero(parts.present):
        k = int(round(fraction * (int(parts.length[r]) - 1)))
        core = parts.core[r, k, :n0]
        for kind, shelled in (("shelled", True), ("shell-free", False)):
            alive = (core >= 0) & (parts.shelled == shelled)
            out[kind][0].append(int(alive.sum()))
            out[kind][1].append(float(core[alive].mean()) if alive.any() else math.nan)
    return out


def population_rows(parts):
    """The mixed population at POPULATION_TIMES: per time (step, {kind: ((mean left, 95%
    interval), (mean core size, 95% interval))}), means over the replicas with bootstrap
    intervals over them (one stream per set, drawn in this order)."""
    rng = rr.bootstrap_rng(parts.name + "/population")
    longest = int(parts.length[parts.present].max())
    rows = []
    for fraction in POPULATION_TIMES:
        pop = population(parts, fraction)
        cells = {kind: (replica_interval(pop[kind][0], rng), replica_interval(pop[kind][1], rng))
                 for kind in ("shelled", "shell-free")}
        rows.append((int(parts.steps[int(round(fraction * (longest - 1)))]), cells))
    return rows


def population_lines(parts):
    """The mixed population's table: the particles left of each kind and their mean core size
    at fractions of the run, means over the replicas with bootstrap 95% intervals."""
    n0 = len(parts.initial)
    counts = {k: int(np.sum(parts.shelled == (k == "shelled"))) for k in ("shelled", "shell-free")}
    lines = [f"The {n0} initial particles over time ({counts['shelled']} shelled, "
             f"{counts['shell-free']} shell-free): how many are left under their own id and their "
             f"mean core size, means over the {int(parts.present.sum())} replicas [bootstrap 95% "
             "interval over the replicas]:", "",
             "| MC steps | shelled left | shelled mean core | shell-free left | shell-free mean "
             "core |", "| --- | --- | --- | --- | --- |"]
    for step, cells in population_rows(parts):
        text = []
        for kind in ("shelled", "shell-free"):
            (m, ci), (size, size_ci) = cells[kind]
            text.append(f"{m:.2f} {interval_text(ci, 2)}")
            text.append(f"{size:.0f} {interval_text(size_ci, 0)}" if math.isfinite(size)
                        else "none left")
        lines.append(f"| {step:,} | " + " | ".join(text) + " |")
    return lines


@dataclasses.dataclass
class Outcome:
    """The initial particles of one replica at its end."""
    replica: int
    final_core: np.ndarray   # per initial particle: core at the last sample (0 if gone)
    gone_at: np.ndarray      # per initial particle: step it vanished or merged (-1: still there)
    settled_at: np.ndarray   # per initial particle still there: the first sample step from which
    #                          its core stays within STILL of its final size (-1: gone, or still
    #                          changing at the last sample)
    winner: int              # the initial particle with the largest final core (-1: a tie)


STILL = 0.05  # a particle has stopped once its core stays within 5% of its final size


def settled(core, steps, lz):
    """The step from which `core` (a particle's series) stays within STILL of its last value
    (and within one column, lz sites, for small ones); -1 if that is only the last sample."""
    tolerance = max(STILL * core[-1], lz)
    moving = np.flatnonzero(np.abs(core - core[-1]) > tolerance)
    first = moving[-1] + 1 if len(moving) else 0
    return int(steps[first]) if first < len(core) - 1 else -1


def outcomes(parts):
    """Per present replica: the fate of each initial particle (the id of the particle itself,
    not its fragments)."""
    n0 = len(parts.initial)
    out = []
    for r in np.flatnonzero(parts.present):
        last = int(parts.length[r]) - 1
        final = np.array([max(int(parts.core[r, last, p]), 0) for p in range(n0)])
        gone = np.full(n0, -1, np.int64)
        for step, kind, pid, other in parts.events[r]:
            if pid < n0 and kind in ("vanish", "merge") and gone[pid] < 0:
                gone[pid] = step
        still = np.array([settled(parts.core[r, :last + 1, p], parts.steps, parts.lz)
                          if gone[p] < 0 else -1 for p in range(n0)])
        best = np.flatnonzero(final == final.max())
        out.append(Outcome(int(r), final, gone, still, int(best[0]) if len(best) == 1 else -1))
    return out


def particle_table(parts):
    lines = ["| id | x | y | kind | core sites | shell sites | defect |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, row in enumerate(parts.initial):
        x, y, _, shell, place, sites, core, shell_sites = (int(v) for v in row)
        kind = "shelled" if shell > 0 else "shell-free"
        d = f"{sites} at the {rr.DEFECT_PLACES[place]}" if sites > 0 and place >= 0 else "-"
        lines.append(f"| {k} | {x} | {y} | {kind} | {core} | {shell_sites} | {d} |")
    return lines


def pair_lines(parts, results):
    """Two initial particles: which one ends larger (with a Wilson 95% interval), and when the
    other went (vanished or merged: KM median, censored at the end of the run) or stopped
    changing (its core within 5% of its final size from then on)."""
    n = len(results)
    kinds = ["shelled" if parts.shelled[p] else "shell-free" for p in range(2)]
    lines = []
    for p in range(2):
        wins = sum(o.winner == p for o in results)
        lines.append(f"Particle {p} ({kinds[p]}, {int(parts.initial[p, 6])} core sites) ends "
                     f"the larger in {wins} of {n} replicas: {wins / n:.2f} "
                     f"{interval_text(wilson(wins, n), 2)}.")
    ties = sum(o.winner < 0 for o in results)
    if ties:
        lines.append(f"Ties (both gone, or equal): {ties}.")
    for p in range(2):
        lost = [o for o in results if o.winner == 1 - p]
        if not lost:
            continue
        end = np.array([parts.steps[parts.length[o.replica] - 1] for o in lost], float)
        gone = np.array([o.gone_at[p] for o in lost], float)
        median = rr.km_median(np.where(gone >= 0, gone, end), gone >= 0)
        stops = np.array([o.settled_at[p] for o in lost if o.gone_at[p] < 0 and
                          o.settled_at[p] >= 0], float)
        still = sum(o.gone_at[p] < 0 and o.settled_at[p] < 0 for o in lost)
        lines.append(f"When particle {p} ({kinds[p]}) lost ({len(lost)} replicas): it went in "
                     f"{int((gone >= 0).sum())} (KM median time "
                     f"{steps_text(median) if math.isfinite(median) else 'not reached'}), "
                     f"stopped changing in {len(stops)}"
                     + (f" (median from {steps_text(float(np.median(stops)))})"
                        if len(stops) else "") +
                     f", still changing at the end in {still}.")
        lines.append(settled_line(parts, p, kinds[p], lost))
    return lines


def loser_done(parts, p, lost):
    """When the loser `p` was done, gone or stopped changing (whichever came first; censored
    where it still changed at the end), over the replicas it lost: (KM median, bootstrap 95%
    CI, replicas done, replicas gone)."""
    end = np.array([parts.steps[parts.length[o.replica] - 1] for o in lost], float)
    done = np.array([o.gone_at[p] if o.gone_at[p] >= 0 else o.settled_at[p] for o in lost],
                    float)
    times, events = np.where(done >= 0, done, end), done >= 0
    median = rr.km_median(times, events)
    ci = rr.percentile_interval(rr.bootstrap(times, events, rr.km_median,
                                             rr.bootstrap_rng(f"{parts.name}/done{p}")))
    return median, ci, int(events.sum()), sum(o.gone_at[p] >= 0 for o in lost)


def settled_line(parts, p, kind, lost):
    """When the loser `p` was done (loser_done), as a line of results.md."""
    median, ci, done, _ = loser_done(parts, p, lost)
    text = steps_text(median) if math.isfinite(median) else "not reached"
    return (f"Particle {p} ({kind}) gone or stopped changing, whichever first: KM median "
            f"{text} {interval_text(ci)} MC steps ({done} of {len(lost)}).")


def particles_section(f, names):
    """The "Particles" section of results.md: every tracked ensemble of the file."""
    lines = []
    for name in names:
        parts = rr.read_particles(f, name)
        if parts is None:
            continue
        results = outcomes(parts)
        if not lines:
            lines = ["## Particles", "",
                     "Ensembles that start from a list of particles, tracked at every sample "
                     "(docs/model.md, \"Particles and their identity\"); kinds by the initial "
                     "particle an id descends from. Figures: particles-<set>.png.", ""]
        mean, survivors = by_kind(parts)
        lines += [f"### `{name}`", "", f"{int(parts.present.sum())} replicas, particles of at "
                  f"least {parts.min_core} core sites:", ""] + particle_table(parts) + [""]
        end = -1
        lines.append("| kind | mean particles at the start | at the end | mean core size at the "
                     "start | at the end |")
        lines.append("| --- | --- | --- | --- | --- |")
        for kind in ("shelled", "shell-free", "appeared"):
            if np.nansum(survivors[kind]) == 0:
                continue
            last = np.flatnonzero(np.isfinite(survivors[kind]))
            end = last[-1] if len(last) else 0
            sizes = [f"{m:.1f}" if math.isfinite(m) else "-" for m in (mean[kind][0],
                                                                      mean[kind][end])]
            lines.append(f"| {kind} | {survivors[kind][0]:.2f} | {survivors[kind][end]:.2f} | "
                         f"{sizes[0]} | {sizes[1]} |")
        counts = {k: 0 for k in rr.TRACK_EVENTS}
        for r in np.flatnonzero(parts.present):
            for _, kind, _, _ in parts.events[r]:
                counts[kind] += 1
        lines += ["", "Events over all replicas: " +
                  ", ".join(f"{counts[k]} {k}" for k in rr.TRACK_EVENTS) +
                  f" (resolution: the sample interval, {int(np.diff(parts.steps[:2])[0]) if len(parts.steps) > 1 else 0} steps).", ""]
        mu = solution_mu(f, name)
        if mu is not None:
            last = np.array([mu[r, int(parts.length[r]) - 1] for r in np.flatnonzero(parts.present)])
            a = rr.attributes(f["ensembles"][name])
            empty = int(np.sum(~np.isfinite(last)))
            ends = last[np.isfinite(last)]
            text = (f"at the end {np.median(ends):.2f} kT (median over the replicas whose "
                    f"solution is not empty; {ends.min():.2f} to {ends.max():.2f})"
                    if len(ends) else "at the end empty")
            lines += [f"A finite solution: {int(a['reservoir_core_units'])} core units at step 0 "
                      f"(reference {int(a['reservoir_core_reference'])}), μ_c {mu[0, 0]:.2f} kT "
                      f"then; {text}" + (f"; emptied (μ_c → −∞) in {empty} of {len(last)} "
                                        "replicas" if empty else "") + ".", ""]
        if len(parts.initial) == 2 and results:
            lines += pair_lines(parts, results) + [""]
        kinds = set(parts.shelled.tolist())
        if len(parts.initial) >= 4 and len(kinds) == 2:
            lines += population_lines(parts) + [""]
    return lines


def _label_particles(ax, parts, replica, sample):
    """Each particle's id at its centre, in its kind's colour."""
    for p in range(int(parts.count[replica])):
        if parts.core[replica, sample, p] < 0:
            continue
        x, y = topview.cartesian(*parts.centre[replica, sample, p])
        ax.text(x, y, str(p), ha="center", va="center", fontsize=8, fontweight="bold",
                color="black", bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.7,
                                         ec=KIND_COLOURS[parts.kind(replica, p)]))


def nearest_sample(parts, replica, step):
    n = int(parts.length[replica])
    return int(np.argmin(np.abs(parts.steps[:n] - step)))


def solution_mu(f, name):
    """μ_c of a finite solution at every sample of every replica, [R, S] (NaN beyond a
    replica's series; -inf once it is empty): μ_c + ln(n / N_ref), n = total − N_core
    (docs/model.md, "Finite solution"); None at a fixed μ_c."""
    g = f["ensembles"][name]
    attrs = rr.attributes(g)
    if "reservoir_core_total" not in attrs:
        return None
    content = attrs["reservoir_core_total"] - g["n_core"][()].astype(float)
    length = g["series_length"][()]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = attrs["mu_core"] + np.log(content / attrs["reservoir_core_reference"])
    for r, n in enumerate(length):
        mu[r, n:] = np.nan
    return mu


def draw_solution(ax, parts, mu, replica):
    """μ_c(t) of the finite solution: every replica faint, the example bold."""
    for r in np.flatnonzero(parts.present):
        n = int(parts.length[r])
        ax.plot(parts.steps[:n], mu[r, :n], color="grey" if r != replica else "black",
                lw=0.6 if r != replica else 1.4, alpha=0.5 if r != replica else 1.0)
    ax.set_xlabel("MC steps")
    ax.set_ylabel("μ_c of the solution (kT)")
    ax.set_title("the finite solution: μ_c + ln(n / N_ref)", fontsize=10)
    ax.grid(alpha=0.3)


def figure_particles(f, name, parts, out):
    """Per-particle core sizes of one replica and by kind over all, and top views of the
    replica at three snapshots with the particles labelled."""
    import matplotlib.pyplot as plt
    kept = rr.snapshot_replicas(f, name)
    replica = kept[0] if kept else int(np.flatnonzero(parts.present)[0])
    n = int(parts.length[replica])
    fig = plt.figure(figsize=(14, 7.5))
    grid = fig.add_gridspec(2, 3, width_ratios=(1.3, 1, 1))
    ax = fig.add_subplot(grid[0, 0])
    for p in range(int(parts.count[replica])):
        core = parts.core[replica, :n, p].astype(float)
        core[core < 0] = np.nan
        kind = parts.kind(replica, p)
        ax.plot(parts.steps[:n], core, color=KIND_COLOURS[kind], lw=1.2)
        alive = np.flatnonzero(np.isfinite(core))
        if len(alive):
            ax.text(parts.steps[alive[-1]], core[alive[-1]], f" {p}", fontsize=7,
                    color=KIND_COLOURS[kind], va="center")
    ax.set_title(f"{name}, replica {replica}: core sites of each particle", fontsize=10)
    ax.set_xlabel("MC steps")
    ax.set_ylabel("core sites")
    mean, survivors = by_kind(parts)
    ax2 = fig.add_subplot(grid[1, 0])
    for kind in ("shelled", "shell-free", "appeared"):
        if np.nansum(survivors[kind]) == 0:
            continue
        ax2.plot(parts.steps, mean[kind], color=KIND_COLOURS[kind], lw=1.6,
                 label=f"{kind}: mean core size")
    ax2.set_xlabel("MC steps")
    ax2.set_ylabel("mean core sites per particle")
    twin = ax2.twinx()
    for kind in ("shelled", "shell-free", "appeared"):
        if np.nansum(survivors[kind]) == 0:
            continue
        twin.plot(parts.steps, survivors[kind], color=KIND_COLOURS[kind], lw=1.0, ls="--",
                  label=f"{kind}: particles left")
    twin.set_ylabel("particles left (dashed), mean over replicas")
    ax2.set_title(f"all {int(parts.present.sum())} replicas, by kind", fontsize=10)
    handles = ax2.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax2.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="best")
    mu = solution_mu(f, name)
    if mu is not None:
        draw_solution(fig.add_subplot(grid[1, 2]), parts, mu, replica)
    steps = rr.snapshot_steps(f, name, replica) if kept else []
    if len(steps):
        last = len(steps) - 1
        chosen = sorted({0, last // 2, last} if mu is not None else
                        {0, last // 3, 2 * last // 3, last})
        views = [rr.top_view(v) for v in rr.snapshots(f, name, replica, chosen)]
        box = topview.whole_box(views[0].shape)
        for i, (view, k) in enumerate(zip(views, chosen)):
            axv = fig.add_subplot(grid[i // 2, 1 + i % 2])
            topview.draw_view(axv, view, box)
            _label_particles(axv, parts, replica, nearest_sample(parts, replica, steps[k]))
            axv.set_title(f"t = {int(steps[k]):,} MC steps", fontsize=10)
    fig.tight_layout()
    out.save_figure(fig, f"particles-{name}.png")


def movie(f, name, replica, out, fps=6):
    """particles-<set>-<replica>.gif: an animated GIF of a replica's snapshots, the particles
    labelled (Pillow)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    parts = rr.read_particles(f, name)
    replicas = int(rr.plain(f["ensembles"][name].attrs["replicas"]))
    if replica >= replicas:
        raise Failure(f"{name} has replicas 0 to {replicas - 1}, not {replica}")
    steps = rr.snapshot_steps(f, name, replica)
    if not len(steps):
        raise Failure(f"{name} replica {replica} kept no snapshots (snapshot_replicas)")
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    shape = f["ensembles"][name]["snapshots"].shape[3:]
    box = topview.whole_box(shape)

    def frame(k):
        ax.clear()
        view = rr.top_view(rr.snapshots(f, name, replica, [k])[0])
        topview.draw_view(ax, view, box)
        if parts is not None:
            _label_particles(ax, parts, replica, nearest_sample(parts, replica, steps[k]))
        ax.set_title(f"{name}, replica {replica}: t = {int(steps[k]):,} MC steps\n"
                     "core orange, shell blue; labels: particle ids", fontsize=10)
        return []

    animation = FuncAnimation(fig, frame, frames=len(steps), blit=False)
    out.save_animation(animation, fig, f"particles-{name}-{replica}.gif", fps=fps)


# ----------------------------------------------------------------------------------------------
# Command line


# ----------------------------------------------------------------------------------------------
# Where a single shell-free particle moves at a fixed μ_c (jobs/ostwald-balance.json)


@dataclasses.dataclass
class BalancePoint:
    """One tracked shell-free particle at a fixed μ_c: how many replicas grew (N_core doubled),
    dissolved (the particle vanished) or did neither by the step limit."""
    eps: float
    core: int        # core sites built
    mu: float
    replicas: int
    grew: int
    dissolved: int
    steps: int       # the step limit

    @property
    def delta(self):
        """μ_c above bulk coexistence with 8 neighbours, μ_c + 4 ε_c."""
        return self.mu + 4 * self.eps


def balance_points(f):
    """Every tracked ensemble of one shell-free particle in the file, as a BalancePoint."""
    out = []
    for name in rr.ensemble_names(f):
        g = f["ensembles"][name]
        attrs = rr.attributes(g)
        parts = rr.read_particles(f, name)
        if parts is None or len(parts.initial) != 1 or parts.initial[0, 3] != 0:
            continue
        e = rr.read_ensemble(f, name)
        grew = int((e.tau >= 0)[e.present].sum())
        gone = sum(1 for r in np.flatnonzero(e.present) if e.tau[r] < 0 and any(
            ev[2] == 0 and ev[1] in ("vanish", "merge") for ev in parts.events[r]))
        out.append(BalancePoint(attrs["eps_core"], int(parts.initial[0, 6]), attrs["mu_core"],
                                int(e.present.sum()), grew, gone, int(attrs["max_steps"])))
    return out


def window(points):
    """(highest δ at which every replica dissolved, lowest δ at which every replica grew) of
    points of one (ε, size): between them the particle is stuck or undecided."""
    dissolve = [p.delta for p in points if p.dissolved == p.replicas]
    grow = [p.delta for p in points if p.grew == p.replicas]
    return (max(dissolve) if dissolve else math.nan, min(grow) if grow else math.nan)


def balance_section(points):
    if not points:
        return []
    steps = points[0].steps
    lines = ["## Where a shell-free particle moves at a fixed μ_c", "",
             f"One shell-free particle at μ_c = −4 ε_c + δ (−4 ε_c: bulk coexistence with 8 "
             f"neighbours), {points[0].replicas} replicas per point, at most {steps:,} MC steps: "
             "the highest δ at which every replica dissolved and the lowest at which every "
             "replica grew (N_core doubled); between them the particle does neither within the "
             "step limit (or the replicas disagree). Ostwald ripening of two particles needs a μ_c "
             "at which the smaller dissolves while the larger grows.", "",
             "| ε_c (kT) | core sites | all dissolve up to δ = | all grow from δ = | window "
             "(kT) |", "| --- | --- | --- | --- | --- |"]
    for eps in sorted({p.eps for p in points}):
        for core in sorted({p.core for p in points if p.eps == eps}):
            lo, hi = window([p for p in points if p.eps == eps and p.core == core])
            text = lambda v: f"{v:g}" if math.isfinite(v) else "none"
            width = f"{hi - lo:g}" if math.isfinite(lo) and math.isfinite(hi) else "-"
            lines.append(f"| {eps:g} | {core} | {text(lo)} | {text(hi)} | {width} |")
    return lines + [""]


def figure_balance(points, out):
    """Per ε_c: the fraction grown minus the fraction dissolved against δ, one line per size."""
    import matplotlib.pyplot as plt
    epsilons = sorted({p.eps for p in points})
    fig, axes = plt.subplots(1, len(epsilons), figsize=(2.6 * len(epsilons), 3.6), sharey=True,
                             squeeze=False)
    for ax, eps in zip(axes[0], epsilons):
        for core in sorted({p.core for p in points if p.eps == eps}):
            pts = sorted((p for p in points if p.eps == eps and p.core == core),
                         key=lambda p: p.delta)
            ax.plot([p.delta for p in pts], [(p.grew - p.dissolved) / p.replicas for p in pts],
                    marker="o", ms=3, label=f"{core} sites")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"ε_c = {eps:g} kT", fontsize=10)
        ax.set_xlabel("δ = μ_c + 4 ε_c (kT)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("grew − dissolved (fraction)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"One shell-free particle at fixed μ_c: +1 all grow, −1 all dissolve, 0 "
                 f"neither within {points[0].steps:,} MC steps", fontsize=10)
    fig.tight_layout()
    out.save_figure(fig, "balance.png")


# ----------------------------------------------------------------------------------------------
# Ostwald ripening: two shell-free particles in a finite solution (jobs/ostwald.json)


@dataclasses.dataclass
class OstwaldPoint:
    """A tracked set of two shell-free particles sharing a solution: when the smaller one (id 1)
    went, in each replica, and what the larger (id 0) did meanwhile."""
    name: str
    eps: float
    delta: float         # the solution's μ_c at step 0 above bulk coexistence, μ_c + 4 ε_c
    large: int           # core sites of particle 0 at step 0
    small: int           # of particle 1
    times: np.ndarray    # per replica: the step it vanished or merged, else the end of the run
    gone: np.ndarray     # per replica: True if it went
    growth: np.ndarray   # per replica: the larger particle's final core minus its initial
    solution: np.ndarray  # per replica: the solution's final content minus its initial
    interval: int        # sample_interval: the resolution of `times`
    horizon: int         # max_steps
    median_samples: np.ndarray  # bootstrap KM medians (rr.bootstrap, fixed by the set's name)

    @property
    def median(self):
        return rr.km_median(self.times, self.gone)

    @property
    def median_ci(self):
        return rr.percentile_interval(self.median_samples)

    @property
    def resolved(self):
        """The median was reached and lies beyond the first RESOLVED sample intervals (else it
        says only "within the first samples" and is no time to fit)."""
        return math.isfinite(self.median) and self.median > RESOLVED * self.interval

    @property
    def share(self):
        """The median over the replicas of the larger particle's growth per site of the smaller:
        1 when the larger took up all of it, 0 when it all stayed in the solution."""
        return float(np.median(self.growth)) / self.small


RESOLVED = 2  # sample intervals: a median time to go within them is resolution-limited


def ostwald_points(f):
    """Every tracked ensemble of two shell-free particles in the file, as an OstwaldPoint."""
    out = []
    for name in rr.ensemble_names(f):
        parts = rr.read_particles(f, name)
        if parts is None or len(parts.initial) != 2 or parts.shelled.any():
            continue
        g = f["ensembles"][name]
        attrs = rr.attributes(g)
        results = outcomes(parts)
        last = np.array([int(parts.length[o.replica]) - 1 for o in results])
        end = parts.steps[last].astype(float)
        gone = np.array([o.gone_at[1] >= 0 for o in results])
        times = np.where(gone, [float(o.gone_at[1]) for o in results], end)
        n_core = g["n_core"][()]
        solution = np.array([n_core[o.replica, 0] - n_core[o.replica, k]
                             for o, k in zip(results, last)], float)
        medians = rr.bootstrap(times, gone, rr.km_median, rr.bootstrap_rng(name))
        large, small = int(parts.initial[0, 6]), int(parts.initial[1, 6])
        out.append(OstwaldPoint(name, attrs["eps_core"], attrs["mu_core"] + 4 * attrs["eps_core"],
                                large, small, times, gone,
                                np.array([o.final_core[0] for o in results]) - large, solution,
                                int(attrs["sample_interval"]), int(attrs["max_steps"]), medians))
    return out


def ostwald_rows(points):
    """The (ε_c, δ) of the points, ordered: one row of the map each."""
    return sorted({(p.eps, p.delta) for p in points})


def size_exponent(points):
    """The slope of ln(median time to go) against ln(the smaller's sites) over the points of one
    row whose median was reached and resolved (at least 3), least squares, with the 95% interval
    of the slopes of the bootstrap medians (undetermined if over 10% of the draws miss a median)."""
    reached = [p for p in sorted(points, key=lambda p: p.small) if p.resolved]
    if len(reached) < 3:
        return None
    x = np.log([p.small for p in reached])
    slope = float(np.polyfit(x, np.log([p.median for p in reached]), 1)[0])
    draws = np.array([p.median_samples for p in reached])      # [points, resamples]
    finite = np.all(np.isfinite(draws) & (draws > 0), axis=0)
    slopes = [np.polyfit(x, np.log(draws[:, b]), 1)[0] for b in np.flatnonzero(finite)]
    if len(slopes) < 0.9 * draws.shape[1]:
        return slope, (math.nan, math.nan), [p.small for p in reached]
    return slope, rr.percentile_interval(slopes), [p.small for p in reached]


def ostwald_cell(p, steps=steps_text, limit="{:,}".format):
    """"median [CI] (went/replicas; share)": an upper end beyond the run reads "> limit"; the
    interval's ends written by `steps`, the run's limit by `limit` (doc_numbers writes both its
    own way)."""
    lo, hi = p.median_ci
    upper = steps(hi) if math.isfinite(hi) else f"> {limit(p.horizon)}"
    text = f"{p.median:,.0f} [{steps(lo)}, {upper}]" if math.isfinite(p.median) else \
        f"> {limit(p.horizon)}"
    if math.isfinite(p.median) and not p.resolved:
        text = f"≤ {RESOLVED * p.interval:,}*"
    return f"{text} ({int(p.gone.sum())}/{len(p.gone)}; {p.share:+.2f})"


def ostwald_section(points):
    """The "Ostwald ripening" section of results.md: the map of the smaller particle's time to
    go over (ε_c, δ) and its size, the larger's share of it, and the size exponent."""
    if len(points) < 2:
        return []
    larges = sorted({p.large for p in points})
    smalls = sorted({p.small for p in points})
    lines = ["## Ostwald ripening of two shell-free particles", "",
             "Two shell-free particles sharing a finite solution; the larger has "
             f"{', '.join(str(x) for x in larges)} core sites. Per (ε_c, δ = μ_c + 4 ε_c of the "
             "solution at step 0) and the smaller's size: the smaller particle's time to go "
             "(vanished or merged), Kaplan-Meier median in MC steps with its bootstrap 95% CI "
             "(censored at the end of the run), how many replicas it went in, and the larger "
             "particle's median growth per site of the smaller (its *share*: +1 it took up "
             "everything the smaller had, 0 the smaller's units stayed in the solution, < 0 it "
             "shrank too). Times are as fine as the sample interval (1/1000 of the run); * the median "
             f"is within the first {RESOLVED} samples (resolution-limited, not in the fit of the "
             "exponent).", "",
             "| ε_c (kT) | δ (kT) | steps | " + " | ".join(f"{s} sites" for s in smalls) +
             " | exponent: t ∝ size^a |",
             "| --- | --- | --- |" + " --- |" * len(smalls) + " --- |"]
    for eps, delta in ostwald_rows(points):
        row = [p for p in points if p.eps == eps and p.delta == delta]
        cells = []
        for small in smalls:
            found = [p for p in row if p.small == small]
            cells.append(ostwald_cell(found[0]) if found else "-")
        fit = size_exponent(row)
        exponent = "-" if fit is None else \
            f"{fit[0]:.2f} {interval_text(fit[1], 2)} ({'/'.join(str(s) for s in fit[2])})"
        lines.append(f"| {eps:g} | {delta:g} | {row[0].horizon:,} | " + " | ".join(cells) +
                     f" | {exponent} |")
    return lines + [""]


def figure_ostwald(points, out):
    """The smaller particle's time to go against its size, one line per ε_c: one panel for the
    solutions that start at the lowest δ, one for the highest δ of each ε_c; error bars the
    bootstrap 95% CIs, open triangles at the step limit where over half the replicas kept it to
    the end."""
    import matplotlib.pyplot as plt
    rows = ostwald_rows(points)
    lowest = min(d for _, d in rows)
    epsilons = sorted({e for e, _ in rows})
    panels = [(f"δ = {lowest:g} kT, just above bulk coexistence",
               [r for r in rows if r[1] == lowest]),
              ("δ midway in the larger particle's window (the highest δ of each ε_c)",
               [(e, max(d for x, d in rows if x == e)) for e in epsilons])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, (title, chosen) in zip(axes, panels):
        for eps, delta in chosen:
            pts = sorted((p for p in points if p.eps == eps and p.delta == delta),
                         key=lambda p: p.small)
            sizes = np.array([p.small for p in pts], float)
            medians = np.array([p.median for p in pts])
            shown = np.where(np.isfinite(medians), medians, [p.horizon for p in pts])
            lo = np.array([p.median_ci[0] for p in pts])
            hi = np.array([p.median_ci[1] if math.isfinite(p.median_ci[1]) else p.horizon
                           for p in pts])
            reached = np.isfinite(medians)
            resolved = np.array([p.resolved for p in pts])
            bound = reached & ~resolved
            shown[bound] = [RESOLVED * p.interval for p in pts if p.median <= RESOLVED * p.interval]
            line, = ax.plot(sizes, shown, label=f"ε_c = {eps:g} (δ {delta:g})")
            ax.errorbar(sizes[resolved], shown[resolved],
                        yerr=[shown[resolved] - lo[resolved], hi[resolved] - shown[resolved]],
                        fmt="o", color=line.get_color(), capsize=3)
            ax.plot(sizes[~reached], shown[~reached], marker="^", ls="none", mfc="white",
                    color=line.get_color(), ms=9)
            ax.plot(sizes[bound], shown[bound], marker="v", ls="none", mfc="white",
                    color=line.get_color(), ms=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("the smaller particle's core sites")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("its time to go, KM median (MC steps)")
    fig.suptitle("Ostwald ripening: the smaller of two shell-free particles in a finite solution "
                 f"(open: ▲ kept to the end in most replicas, ▼ gone within {RESOLVED} samples)",
                 fontsize=9)
    fig.tight_layout()
    out.save_figure(fig, "ostwald.png")


@dataclasses.dataclass
class ParticleResults:
    """What figures.py shows of a file's seeded defects and tracked particles."""
    groups: list    # Catalysis
    tracked: list   # names of the tracked ensembles (not those of the balance map)
    balance: list   # BalancePoint: tracked sets of one shell-free particle
    ostwald: list   # OstwaldPoint: tracked sets of two shell-free particles
    lines: list     # their results.md sections

    @property
    def empty(self):
        return not self.groups and not self.tracked and not self.balance and \
            len(self.ostwald) < 2


def plain(attrs):
    """An ensemble of one plain particle: no seeded defect, no list of particles."""
    return rr.defect(attrs) is None and "particles" not in attrs


def load(f, path, summaries=None):
    """The catalysis groups and tracked ensembles of an open file, with their sections."""
    groups = catalysis(f, path, summaries)
    tracked = [n for n in rr.ensemble_names(f) if "particles" in f["ensembles"][n] and
               f["ensembles"][n]["particles/initial"].shape[0] > 1]
    balance = balance_points(f)
    ostwald = ostwald_points(f)
    # Many two-particle sets (a map): their table and figure; their own sections only if few.
    many = len(ostwald) >= 2
    names = [n for n in tracked if not many or n not in {p.name for p in ostwald}]
    return ParticleResults(groups, names, balance, ostwald, catalysis_section(groups) +
                           balance_section(balance) + ostwald_section(ostwald) +
                           particles_section(f, names))


def figure_names(results):
    names = (["catalysis.png (τ(k)/τ(0))"] if results.groups else []) + \
        (["balance.png (where one particle moves)"] if results.balance else []) + \
        (["ostwald.png (the smaller particle's time to go)"] if len(results.ostwald) >= 2
         else []) + \
        [f"particles-{n}.png" for n in results.tracked]
    return ", ".join(names)


def write_figures(results, path, out):
    """catalysis.png, balance.png and particles-<set>.png (the file is opened again for the
    snapshots) into `out` (cli.Outputs)."""
    if results.groups:
        figure_catalysis(results.groups, out)
    if results.balance:
        figure_balance(results.balance, out)
    if len(results.ostwald) >= 2:
        figure_ostwald(results.ostwald, out)
    if results.tracked:
        with rr.open_results(path) as f:
            write_particle_figures(f, results.tracked, out)


def write_particle_figures(f, names, out):
    """particles-<set>.png for every tracked ensemble of the file."""
    for name in names:
        parts = rr.read_particles(f, name)
        if parts is not None:
            figure_particles(f, name, parts, out)


def parse_args(argv):
    parser = cli.Parser(prog="particles", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="ripen result files (HDF5)")
    parser.add_argument("-o", "--output", default="particles", help="output directory")
    parser.add_argument("--movie", action="append", default=[],
                        help="SET[:REPLICA]: an animated GIF of that replica's snapshots")
    return parser.parse_args(argv)


def movie_requests(requests):
    """(set, replica) of each --movie SET[:REPLICA]."""
    out = []
    for request in requests:
        name, _, replica = request.partition(":")
        if replica and not replica.isdigit():
            raise Failure(f"--movie {request}: give SET or SET:REPLICA (a number)")
        out.append((name, int(replica or 0)))
    return out


def run(argv):
    import matplotlib
    matplotlib.use("Agg")
    args = parse_args(argv)
    requests = movie_requests(args.movie)
    cli.output_directory(args.output)
    groups, lines, made = [], [], set()
    with cli.Outputs(args.output) as out:
        for path in args.results:
            with cli.reading(path), rr.open_results(path) as f:
                found = load(f, path)
                groups += found.groups
                lines += [f"# {os.path.basename(path)}", ""] + found.lines
                write_particle_figures(f, found.tracked, out)
                if found.balance:
                    figure_balance(found.balance, out)
                if len(found.ostwald) >= 2:
                    figure_ostwald(found.ostwald, out)
                names = rr.ensemble_names(f)
                for name, replica in requests:
                    if name in names:
                        movie(f, name, replica, out)
                        made.add((name, replica))
        missing = [r for r in requests if r not in made]
        if missing:
            raise Failure(f"--movie {missing[0][0]}: no ensemble of that name in the files")
        if groups:
            figure_catalysis(groups, out)
        out.write_text("particles.md", "\n".join(lines).rstrip() + "\n")


def main(argv=None):
    return cli.main("particles", run, argv)


if __name__ == "__main__":
    sys.exit(main())
