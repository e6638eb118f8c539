#!/usr/bin/python3
"""The paper's observations of its lattice model (Fig. 5) as named criteria, evaluated for every
pair of a shelled and a shell-free ensemble that simulate the same system.

    /usr/bin/python3 analysis/criteria.py RESULTS.h5 [MORE.h5 ...] [-o criteria.md] [--json F]

Each criterion is pass, fail or undetermined, with the number behind it (docs/reproduction.md,
"All of the paper's observations at once", says where the thresholds come from):

  1 ratio     the ratio of Kaplan-Meier median doubling times shelled / shell-free has a 95%
              bootstrap CI overlapping [14, 28] (the paper: "20x faster")
  2 time      the shelled median doubling time lies in [10^4, 10^5] MC steps (Fig. 5a: snapshots
              "approximately 10000 MC steps apart")
  3 burst     wait, then burst ("persists at a constant size until a fluctuation in the shell
              exposes the core, after which the core can grow rapidly"): the median of onset / tau
              over the doubled shelled replicas is >= 0.7, and the onset times are close to
              exponential (censored Weibull shape <= 2)
  4 shell     "the core grows with the shell nearly unchanged": the median of
              |N_shell(tau) - N_shell(0)| / N_shell(0) over the doubled shelled replicas <= 15%
  5 healing   "if the shell heals by covering the exposed core, growth stops": a median of at
              least one healed crack episode per shelled replica (resolution: sample_interval)
  6 crack     "the spontaneous generation of a defect in the shell at a large energetic cost,
              here roughly 3 kT", "estimated from brute force simulation by accumulating a
              histogram", which "completely accounts for the separation of growth timescales":
              the shelled ensemble's beta F_crack = -ln P(exposed core > 0) over its basin
              (ripen's crack_free_energy) lies in [2, 4] kT and within 1 kT of ln(ratio)
              (point estimates decide; the 95% CIs are shown)
  6b barrier  beside 6, with its own verdict, not part of the overall one: the other reading,
              ΔΔF‡ = ΔF‡_shelled − ΔF‡_shell-free within 1 kT of both ln(ratio) and 3 kT, from
              the barriers of window or exchange sets of both kinds at the same parameters (μ_c
              aside: F(q) is reweighted to its balance point; a set whose shell left its
              initial size is not used); undetermined without them
  7 persist   the shell persists where Fig. 5d's F(q) is taken, at the balance μ_c*: the
              Kaplan-Meier median time for a shelled particle there to lose half its shell
              (an ensemble of the same system at another μ_c, timing shell_passage level 0.5,
              not stopping at doubling) is at least 10 τ_s (τ_s: the shelled median doubling
              time at the run's μ_c); else a shelled F(q) at balance cannot exist there. The
              text also gives what the shell lost before the core broke out at the run's μ_c
              (median over the doubled replicas, at the onset of growth). Undetermined without
              such an ensemble, or when over half its shells survived a step limit < 10 τ_s

Writes a markdown table (stdout, or -o) and optionally every number as JSON. Errors: one line
"criteria: ..." on stderr, exit status 2.
"""
import dataclasses
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402

RATIO_RANGE = (14.0, 28.0)
TIME_RANGE = (1e4, 1e5)
BURST_FRACTION = 0.7
BURST_SHAPE = 2.0
SHELL_CHANGE = 0.15
HEALED = 1.0
BARRIER = 3.0
BARRIER_TOLERANCE = 1.0
CRACK_RANGE = (2.0, 4.0)
CRACK_TOLERANCE = 1.0
PERSIST_FACTOR = 10.0
PERSIST_LEVEL = 0.5
REPEAT_SPREAD = 0.5  # kT: repeats of an F(q) must agree this well to determine its barrier

PASS, FAIL, UNDETERMINED = "pass", "fail", "undetermined"
NAMES = ("ratio", "time", "burst", "shell", "healing", "crack", "barrier", "persist")
BESIDE = ("barrier",)  # reported with its own verdict, not part of the overall one
TITLES = {
    "ratio": "1 ratio CI ∩ [14, 28]",
    "time": "2 shelled τ in [1e4, 1e5]",
    "burst": "3 onset/τ ≥ 0.7, shape ≤ 2",
    "shell": "4 shell change ≤ 15%",
    "healing": "5 healed ≥ 1",
    "crack": "6 βF_crack in [2, 4] kT, ≈ ln ratio",
    "barrier": "6b ΔΔF‡ ≈ ln ratio ≈ 3 kT (beside)",
    "persist": "7 shell half-life at μ_c* ≥ 10 τ_s",
}
# What makes two ensembles (or window sets) the same system: everything in the group's
# attributes that describes the simulated system, except the shell (which tells the kinds apart);
# a seeded defect or a list of particles (optional attributes) makes another system.
SYSTEM_KEYS = ("lx", "ly", "lz", "eps_core", "eps_shell", "eps_interface", "mu_core", "mu_shell",
               "energy_form", "move_set", "proposals", "shell_ensemble", "bond_neighbours",
               "p_swap", "dynamics", "core_sites_requested", "defect_place", "defect_sites",
               "particles")


Failure = cli.Failure


@dataclasses.dataclass
class Result:
    name: str     # one of NAMES
    status: str   # PASS, FAIL or UNDETERMINED
    value: float  # the number the threshold is applied to (NaN if none)
    text: str     # the number(s) behind the verdict, for the table


def _result(name, holds, value, text):
    """holds: True, False or None (undetermined)."""
    status = UNDETERMINED if holds is None else PASS if holds else FAIL
    return Result(name, status, float(value), text)


def _steps(value):
    return "∞" if math.isinf(value) else f"{value:,.0f}"


# ----------------------------------------------------------------------------------------------
# The criteria, each from the summaries and crack observables of one pair


def ratio_criterion(shelled, free):
    """1: the bootstrap CI of the ratio of KM medians overlaps RATIO_RANGE. With a median not
    reached the ratio is only a bound (rr.bounded_ratio): with the shelled one, ratio > horizon /
    shell-free median, a fail if that bound exceeds the range; with the shell-free one, ratio <
    shelled median / its horizon, a fail if that bound lies below the range; else
    undetermined."""
    r = rr.bounded_ratio(shelled, free)
    lo, hi = RATIO_RANGE
    if r.kind == "above":
        return _result("ratio", False if r.value > hi else None, r.value, f"> {r.value:.1f}")
    if r.kind == "below":
        return _result("ratio", False if r.value < lo else None, r.value, f"< {r.value:.2f}")
    if r.kind == "undetermined" or not math.isfinite(r.value):
        return _result("ratio", None, math.nan, "not determined")
    low, high = r.ci
    text = f"{r.value:.1f} [{low:.1f}, {'∞' if math.isinf(high) else f'{high:.1f}'}]"
    return _result("ratio", low <= hi and high >= lo, r.value, text)


def time_criterion(shelled):
    """2: the shelled KM median doubling time lies in TIME_RANGE."""
    lo, hi = TIME_RANGE
    if math.isinf(shelled.median):
        return _result("time", False if shelled.horizon >= hi else None, math.inf,
                       f"> {shelled.horizon:,.0f}")
    ci = shelled.median_ci
    return _result("time", lo <= shelled.median <= hi, shelled.median,
                   f"{shelled.median:,.0f} [{_steps(ci[0])}, {_steps(ci[1])}]")


def takeoff_times(ensemble, cracks):
    """(times, events) of the take-off of growth for the Weibull fit: a replica whose onset is
    known took off within the sample interval after it, at its midpoint (or midway to tau if tau
    came sooner); one whose onset is undefined had not taken off by steps_run (censored)."""
    present = ensemble.present
    onset = cracks.onset[present].astype(float)
    end = np.where(ensemble.censored, ensemble.steps_run, ensemble.tau)[present].astype(float)
    dt = float(cracks.sample_interval)
    known = onset >= 0
    times = np.where(known, 0.5 * (onset + np.minimum(onset + dt, end)), end)
    return times, known


def burst_criterion(ensemble, cracks):
    """3: median onset / tau >= BURST_FRACTION over the doubled replicas, and a censored Weibull
    shape <= BURST_SHAPE for the take-off times."""
    doubled = ensemble.present & ~ensemble.censored & (cracks.onset >= 0)
    if not doubled.any():
        return _result("burst", None, math.nan, "no doubled replica")
    fraction = float(np.median(cracks.onset[doubled] / ensemble.tau[doubled]))
    fit = rr.weibull_fit(*takeoff_times(ensemble, cracks))
    if fit is None:
        holds = False if fraction < BURST_FRACTION else None
        return _result("burst", holds, fraction, f"{fraction:.2f}; shape not determined")
    holds = fraction >= BURST_FRACTION and fit.shape <= BURST_SHAPE
    return _result("burst", holds, fraction,
                   f"{fraction:.2f}; shape {fit.shape:.1f} ± {fit.shape_se:.1f}")


def shell_criterion(ensemble, cracks):
    """4: the median relative change of N_shell from step 0 to tau over the doubled replicas."""
    doubled = ensemble.present & ~ensemble.censored & np.isfinite(cracks.shell_change) & \
        (cracks.shell_sites > 0)
    if not doubled.any():
        return _result("shell", None, math.nan, "no doubled replica")
    change = np.abs(cracks.shell_change[doubled]) / cracks.shell_sites[doubled]
    median = float(np.median(change))
    signed = float(np.median(cracks.shell_change[doubled] / cracks.shell_sites[doubled]))
    return _result("shell", median <= SHELL_CHANGE, median,
                   f"{100 * median:.0f}% (median change {100 * signed:+.0f}%)")


def healing_criterion(ensemble, cracks):
    """5: median healed crack episodes per present shelled replica >= HEALED."""
    healed = cracks.healed_episodes[ensemble.present]
    if len(healed) == 0:
        return _result("healing", None, math.nan, "no replica")
    median = float(np.median(healed))
    episodes = float(np.median(cracks.crack_episodes[ensemble.present]))
    return _result("healing", median >= HEALED, median,
                   f"{median:g} of {episodes:g} episodes (sampled every "
                   f"{cracks.sample_interval:,} steps)")


def barrier_criterion(ratio_value, barriers):
    """6b: ΔΔF‡ within BARRIER_TOLERANCE of ln(ratio) and of BARRIER; barriers = (shelled,
    shell-free) barriers (window_barriers) or None."""
    if barriers is None:
        return _result("barrier", None, math.nan, "no determined F(q) of both kinds (repeats "
                       f"must all be determined and agree within {REPEAT_SPREAD} kT)")
    ddf = barriers[0] - barriers[1]
    if not (math.isfinite(ratio_value) and ratio_value > 0):
        return _result("barrier", None, ddf, f"ΔΔF‡ {ddf:.1f} kT; ratio not determined")
    log_ratio = math.log(ratio_value)
    holds = abs(ddf - log_ratio) <= BARRIER_TOLERANCE and abs(ddf - BARRIER) <= BARRIER_TOLERANCE
    return _result("barrier", holds, ddf, f"ΔΔF‡ {ddf:.1f} kT, ln ratio {log_ratio:.1f}")


def crack_criterion(ratio_value, crack):
    """6: beta F_crack (rr.CrackFreeEnergy of the shelled ensemble, or None) in CRACK_RANGE and
    within CRACK_TOLERANCE of ln(ratio)."""
    if crack is None:
        return _result("crack", None, math.nan, "no crack free energy in the file")
    f, low, high = crack.f_crack
    text = f"βF_crack {f:.2f} [{low:.2f}, {high:.2f}] kT"
    if not math.isfinite(f):
        return _result("crack", None, f, text + " (no crack in the basin)")
    if not (math.isfinite(ratio_value) and ratio_value > 0):
        return _result("crack", None, f, text + "; ratio not determined")
    log_ratio = math.log(ratio_value)
    kappa = crack.kappa[0]
    holds = CRACK_RANGE[0] <= f <= CRACK_RANGE[1] and abs(f - log_ratio) <= CRACK_TOLERANCE
    extra = f", − ln κ {-math.log(kappa):.2f}" if kappa > 0 else ""
    return _result("crack", holds, f, f"{text}, ln ratio {log_ratio:.2f}{extra}")


def persist_criterion(tau_s, life, lost_at_onset):
    """7: the KM median time to lose PERSIST_LEVEL of the shell at balance (rr.ShellLife of the
    balance ensemble, or None) >= PERSIST_FACTOR x tau_s (the shelled median doubling time at the
    run's mu_c); `lost_at_onset`: the median fraction of the shell lost by the onset at the run's
    mu_c (NaN if unknown), for the text."""
    run = f"; at the run's μ_c {100 * lost_at_onset:+.0f}% by the onset" \
        if math.isfinite(lost_at_onset) else ""
    if life is None:
        return _result("persist", None, math.nan, "no shell lifetime at balance in the file" + run)
    need = PERSIST_FACTOR * tau_s
    if not math.isfinite(need):
        return _result("persist", None, life.median, "shelled τ not determined" + run)
    low, high = life.median_ci
    if math.isinf(life.median):
        text = f"half-life > {life.horizon:,.0f} (over half kept their shell)"
        holds = True if life.horizon >= need else None
    else:
        text = f"half-life {life.median:,.0f} [{_steps(low)}, {_steps(high)}]"
        holds = life.median >= need
    return _result("persist", holds, life.median / tau_s if tau_s > 0 else math.nan,
                   f"{text} = {life.median / tau_s:.1f} τ_s at μ_c {life.mu_core:g}{run}"
                   if math.isfinite(life.median) else f"{text}; 10 τ_s = {need:,.0f}{run}")


def missing_cracks(name):
    return _result(name, None, math.nan, "no crack observables in the file")


# ----------------------------------------------------------------------------------------------
# Pairs and files


def system_of(attrs, ignore=()):
    return tuple(attrs.get(k) for k in SYSTEM_KEYS if k not in ignore)


def pairs(ensembles):
    """(shelled, shell-free) names of every two ensembles of the same system, shelled first, in
    file order."""
    shelled = [e for e in ensembles.values() if e.shell_thickness > 0]
    free = [e for e in ensembles.values() if e.shell_thickness == 0]
    return [(s.name, f.name) for s in shelled for f in free
            if system_of(s.attrs) == system_of(f.attrs)]


def determined(sets):
    """Whether window or exchange sets that differ only in `repeat` (or a single set) determine
    one F(q): every one determined, none with a shell warning, and their barriers within
    REPEAT_SPREAD (SD) of each other."""
    if any(ws.fq is None or "barrier_wham" not in ws.fq or ws.shell_lost for ws in sets):
        return False
    barriers = np.array([ws.barrier for ws in sets])
    return len(barriers) < 2 or float(np.std(barriers, ddof=1)) <= REPEAT_SPREAD


def repeat_groups(windows):
    """{(repeat base, shell thickness): [sets]} in file order."""
    groups = {}
    for ws in windows:
        groups.setdefault((rr.repeat_base(ws.name) or ws.name, ws.shell_thickness), []).append(ws)
    return groups


def window_barriers(windows, shelled_attrs):
    """Barriers (shelled, shell-free) of the window or exchange sets of the ensembles' system
    (μ_c may differ: F(q) is reweighted), the shelled one with the ensemble's shell thickness;
    None unless both kinds are determined. Sets that differ only in `repeat` count as one
    F(q): determined only if every repeat is (none losing its shell) and their barriers spread by
    at most REPEAT_SPREAD (SD); its barrier is then their mean (WindowSet.barrier)."""
    system = system_of(shelled_attrs, ignore=("mu_core",))
    mine = [ws for ws in windows if system_of(ws.attrs, ignore=("mu_core",)) == system and
            ws.shell_thickness in (0, shelled_attrs.get("shell_thickness"))]
    found = {}
    for (_, thickness), sets in repeat_groups(mine).items():
        if determined(sets):
            found.setdefault(thickness > 0, float(np.mean([ws.barrier for ws in sets])))
    return (found[True], found[False]) if True in found and False in found else None


@dataclasses.dataclass
class PairResults:
    file: str
    shelled: str
    shell_free: str
    parameters: dict   # the shelled ensemble's system
    results: list      # Result, in NAMES order
    medians: tuple = (math.nan, math.nan)  # KM medians shelled, shell-free (inf: not reached)
    horizon: float = math.nan              # the shelled ensemble's step limit

    @property
    def verdict(self):
        statuses = [r.status for r in self.results if r.name not in BESIDE]
        if FAIL in statuses:
            return FAIL
        return PASS if all(s == PASS for s in statuses) else UNDETERMINED

    def result(self, name):
        return next(r for r in self.results if r.name == name)


def balance_life(data, shelled_attrs):
    """The shell's lifetime at balance for the shelled ensemble's system: an ensemble of the
    same system and shell at another μ_c that timed the loss of its shell (rr.ShellLife); of
    several, the one whose μ_c is closest to a determined shell-free F(q)'s μ_c* of that system
    in the file (else the first). None if there is none."""
    system = system_of(shelled_attrs, ignore=("mu_core",))
    candidates = [life for name, life in data.lives.items()
                  if life is not None and system_of(data.ensembles[name].attrs,
                                                    ignore=("mu_core",)) == system and
                  data.ensembles[name].shell_thickness == shelled_attrs.get("shell_thickness")
                  and life.mu_core != shelled_attrs.get("mu_core")]
    stars = [ws.fq["mu_star"] for ws in data.windows
             if ws.fq is not None and "mu_star" in ws.fq and ws.shell_thickness == 0 and
             not ws.shell_lost and system_of(ws.attrs, ignore=("mu_core", "mu_shell")) ==
             system_of(shelled_attrs, ignore=("mu_core", "mu_shell"))]
    if stars:
        candidates.sort(key=lambda life: abs(life.mu_core - stars[0]))
    return candidates[0] if candidates else None


def lost_before_onset(data, name):
    """The median fraction of the shell a shelled ensemble's doubled replicas had lost at the
    onset of growth (negative: lost), NaN if unknown."""
    c, lost = data.cracks.get(name), data.onset_shell.get(name)
    if c is None or lost is None:
        return math.nan
    e = data.ensembles[name]
    use = e.present & ~e.censored & np.isfinite(lost) & (c.shell_sites > 0)
    return float(np.median(lost[use] / c.shell_sites[use])) if use.any() else math.nan


def evaluate_pair(summaries, data, shelled, free):
    """The results of one pair, in NAMES order (names into `summaries` and the file's data)."""
    s, fr = summaries[shelled], summaries[free]
    ratio = ratio_criterion(s, fr)
    c = data.cracks.get(shelled)
    out = [ratio, time_criterion(s)]
    if c is None:
        out += [missing_cracks(n) for n in ("burst", "shell", "healing")]
    else:
        out += [burst_criterion(s.ensemble, c), shell_criterion(s.ensemble, c),
                healing_criterion(s.ensemble, c)]
    ratio_value = float(rr.ratio(s.median, fr.median))
    out.append(crack_criterion(ratio_value, data.crack_fe.get(shelled)))
    out.append(barrier_criterion(ratio_value, window_barriers(data.windows, s.ensemble.attrs)))
    out.append(persist_criterion(s.median, balance_life(data, s.ensemble.attrs),
                                 lost_before_onset(data, shelled)))
    return out


@dataclasses.dataclass
class FileData:
    """What the criteria read from one file."""
    ensembles: dict   # name -> rr.Ensemble
    cracks: dict      # name -> rr.Cracks or None
    crack_fe: dict    # name -> rr.CrackFreeEnergy or None
    lives: dict       # name -> rr.ShellLife or None
    onset_shell: dict  # name -> N_shell(onset) - N_shell(0) per replica, or None
    windows: list     # rr.WindowSet


def read_file(f):
    ensembles = {n: rr.read_ensemble(f, n) for n in rr.ensemble_names(f)}
    cracks = {n: rr.read_cracks(f, n) for n in ensembles}
    return FileData(ensembles, cracks,
                    {n: rr.read_crack_free_energy(f, n) for n in ensembles},
                    {n: rr.shell_life(f, e, PERSIST_LEVEL) for n, e in ensembles.items()},
                    {n: rr.shell_at_onset(f, n, cracks[n]) if cracks[n] is not None and
                     ensembles[n].shell_thickness > 0 else None for n in ensembles},
                    rr.fq_sets(f))


def evaluate_file(path, summaries=None):
    """PairResults for every pair in the file. `summaries` (name -> rr.Summary) may be given
    when the caller has them already (figures.py): the bootstrap is the costly part."""
    with cli.reading(path):
        with rr.open_results(path) as f:
            data = read_file(f)
        return evaluate_data(path, data, summaries)


def evaluate_data(path, data, summaries=None):
    """evaluate_file on what read_file already read from `path`."""
    found = pairs(data.ensembles)
    summaries = dict(summaries or {})
    for name in {n for pair in found for n in pair}:
        if name not in summaries:
            summaries[name] = rr.summarise(data.ensembles[name])
    return [PairResults(path, s, fr, {k: data.ensembles[s].attrs[k] for k in SYSTEM_KEYS
                                      if k in data.ensembles[s].attrs},
                        evaluate_pair(summaries, data, s, fr),
                        (summaries[s].median, summaries[fr].median), summaries[s].horizon)
            for s, fr in found]


# ----------------------------------------------------------------------------------------------
# Output


def cell(result):
    return f"{result.status}: {result.text}"


def table(rows, label=None):
    """Markdown table, one row per pair; `label(pair)` names a row (default: the two names)."""
    label = label or (lambda p: f"{p.shelled} / {p.shell_free}")
    lines = ["| pair | " + " | ".join(TITLES[n] for n in NAMES) + " | all |",
             "| --- |" + " --- |" * (len(NAMES) + 1)]
    for p in rows:
        lines.append(f"| {label(p)} | " + " | ".join(cell(p.result(n)) for n in NAMES) +
                     f" | {p.verdict} |")
    return lines


def results_section(results):
    """figures.py's "Criteria" section of results.md (its Results object: path and summaries)."""
    lines = ["## Criteria (analysis/criteria.py)", ""]
    rows = evaluate_file(results.path, results.summaries)
    if not rows:
        return lines + ["No shelled and shell-free ensembles of the same system in this file.", ""]
    return lines + ["The paper's observations of Fig. 5 as criteria (definitions: "
                    "analysis/criteria.py; docs/reproduction.md, \"All of the paper's "
                    "observations at once\").", ""] + \
        table(rows) + [""]


def as_json(rows):
    return [{"file": p.file, "shelled": p.shelled, "shell_free": p.shell_free,
             "parameters": p.parameters, "verdict": p.verdict,
             "results": {r.name: {"status": r.status, "value": None if math.isnan(r.value)
                                  else r.value, "text": r.text} for r in p.results}}
            for p in rows]


def run(argv):
    parser = cli.Parser(prog="criteria", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="ripen result files (HDF5)")
    parser.add_argument("-o", "--output", help="markdown file (default: stdout)")
    parser.add_argument("--json", help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    for path, option in ((args.output, "-o"), (args.json, "--json")):
        if path is not None:
            cli.output_file(path, option)
    rows = [p for path in args.results for p in evaluate_file(path)]
    if not rows:
        raise Failure("no shelled and shell-free ensembles of the same system in "
                      f"{', '.join(args.results)}")
    text = "\n".join(table(rows, lambda p: f"{os.path.basename(p.file)}: {p.shelled} / "
                                           f"{p.shell_free}")) + "\n"
    if args.output:
        cli.write_file(args.output, text)
    else:
        sys.stdout.write(text)
    if args.json:
        cli.write_file(args.json, json.dumps(as_json(rows), indent=1, ensure_ascii=False),
                       "--json")


def main(argv=None):
    return cli.main("criteria", run, argv)


if __name__ == "__main__":
    sys.exit(main())
