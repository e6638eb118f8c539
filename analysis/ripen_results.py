#!/usr/bin/python3
"""Reading ripen result files (docs/hdf5-layout.md) and the survival statistics of doubling times.

Doubling times are right-censored: a replica that has not doubled by its step limit only tells us
that tau > steps_run. Every estimate here uses such replicas (Kaplan-Meier, restricted mean,
censored likelihood); none drops them. Only numpy is used (Debian's python3-numpy), so the
statistics are written out here rather than taken from scipy or lifelines.
"""
import dataclasses
import math
import zlib

import h5py
import numpy as np

FORMAT = "ripen-results"
FORMAT_VERSION = 2
FORMAT_VERSIONS = (1, 2)  # 1: before files were sized by the data and carried P(tau)

# The job options that choose a reading of the paper's model (docs/model.md); reported with
# every result because the kinetics depend on them.
READING_KEYS = ("energy_form", "move_set", "proposals", "shell_ensemble", "bond_neighbours",
                "p_swap", "dynamics")
PARAMETER_KEYS = ("eps_core", "eps_shell", "eps_interface", "mu_core", "mu_shell")
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20260101
# Survival probabilities are products of rationals; allow for rounding when S(t) is exactly 1/2.
HALF = 0.5 + 1e-9


class ResultFileError(Exception):
    """A file that is missing, not a ripen result file, or damaged; str() is a one-line reason."""


# ----------------------------------------------------------------------------------------------
# Reading the file


def plain(value):
    """h5py gives fixed-length strings as bytes and numbers as numpy scalars; callers want str,
    int and float (for formatting and comparison)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def attributes(obj):
    """All attributes of an HDF5 object as plain Python values."""
    return {key: plain(value) for key, value in obj.attrs.items()}


def open_results(path):
    """Opens a result file read-only; raises ResultFileError unless it is a ripen result file of
    a format version this code understands."""
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else "unreadable"
        raise ResultFileError(f"{path}: not a readable HDF5 file ({reason})") from None
    fmt, version = plain(f.attrs.get("format")), plain(f.attrs.get("format_version"))
    if fmt != FORMAT:
        f.close()
        raise ResultFileError(f"{path}: not a ripen result file (format attribute {fmt!r})")
    if version not in FORMAT_VERSIONS:
        f.close()
        raise ResultFileError(f"{path}: result format version {version}, this analysis reads "
                              f"version {FORMAT_VERSION}")
    return f


def _member(group, name):
    """group[name], turning a missing member into the file error it is."""
    try:
        return group[name]
    except KeyError:
        raise ResultFileError(f"{group.file.filename}: damaged: {group.name}/{name} is "
                              "missing") from None


def _names(f, kind):
    """Members of /ensembles or /windows in job order (HDF5 lists them alphabetically)."""
    if kind not in f:
        return []
    return sorted(f[kind].keys(), key=lambda n: (plain(f[kind][n].attrs.get("first_task", 0)), n))


def ensemble_names(f):
    """Names of the replica ensembles, in file order."""
    return _names(f, "ensembles")


def window_names(f):
    """Names of the umbrella-window sets, in file order."""
    return _names(f, "windows")


def fq_sets(f):
    """Every set with an F(q) in file order: window sets, then exchange sets (both as WindowSet,
    `kind` telling them apart)."""
    return [read_window_set(f, n) for n in window_names(f)] + \
        [read_window_set(f, n, "exchange") for n in _names(f, "exchange")]


def provenance(f):
    """How the file was made (ripen version, git commit, host, ...); empty if absent."""
    return attributes(f["provenance"]) if "provenance" in f else {}


@dataclasses.dataclass
class Ensemble:
    """The doubling times of one ensemble. Replicas whose task is not in this file (a shard) are
    `present == False`: they are unknown, not censored, and are left out of the statistics."""
    name: str
    attrs: dict
    tau: np.ndarray        # doubling time by the ensemble's criterion, -1 if censored
    censored: np.ndarray   # bool
    steps_run: np.ndarray  # the censoring time of a censored replica
    present: np.ndarray    # bool
    stored_km: object = None  # the curve ripen stored (KaplanMeier), if the file has one

    @property
    def times(self):
        """Event or censoring time of each present replica (MC steps)."""
        return np.where(self.censored, self.steps_run, self.tau)[self.present].astype(float)

    @property
    def events(self):
        """True where a present replica doubled (False: right-censored)."""
        return ~self.censored[self.present]

    @property
    def shell_thickness(self):
        return self.attrs.get("shell_thickness", 0)

    @property
    def criterion(self):
        return self.attrs.get("doubling_criterion", "cluster")


def read_ensemble(f, name):
    """Reads an ensemble's doubling times and checks they are consistent (a damaged or foreign
    file must not turn into plausible-looking numbers)."""
    g = _member(f["ensembles"], name) if "ensembles" in f else None
    if g is None:
        raise ResultFileError(f"{f.filename}: no ensembles")
    attrs = attributes(g)
    tau = _member(g, "tau")[()].astype(np.int64)
    stored = stored_kaplan_meier(f, name)
    censored_raw = _member(g, "censored")[()]
    steps_run = _member(g, "steps_run")[()].astype(np.int64)
    present = _present(f, attrs, len(tau))
    if not (len(censored_raw) == len(steps_run) == len(tau)):
        raise ResultFileError(f"{f.filename}: damaged: {g.name} datasets differ in length")
    censored = censored_raw == 1
    ok = np.isin(censored_raw, (0, 1)) & (steps_run > 0) & \
        np.where(censored, tau == -1, (tau > 0) & (tau <= steps_run))
    if not np.all(ok[present]):
        bad = int(np.flatnonzero(present & ~ok)[0])
        raise ResultFileError(f"{f.filename}: damaged: {g.name} replica {bad} has tau "
                              f"{tau[bad]}, censored {censored_raw[bad]}, steps_run "
                              f"{steps_run[bad]}")
    return Ensemble(name, attrs, tau, censored, steps_run, present, stored)


def _present(f, attrs, replicas):
    """Which replicas' results are in this file, from /tasks/done (all of them in a complete
    file; a shard holds every N-th task)."""
    first = attrs.get("first_task")
    if "tasks/done" not in f or first is None:
        return np.ones(replicas, bool)
    done = f["tasks/done"][first:first + replicas]
    if len(done) != replicas:
        raise ResultFileError(f"{f.filename}: damaged: /tasks/done is shorter than the tasks")
    return done == 1


def series(f, name, replica, field):
    """(steps, values) of one replica's time series (n_core, a_core, ...), cut at series_length
    so fill values beyond the samples it took never reach a plot."""
    g = _member(f["ensembles"], name)
    n = max(int(_member(g, "series_length")[replica]), 0)
    return _member(g, "series_step")[:n], _member(g, field)[replica, :n]


CRACK_SUMMARIES = ("first_exposure", "onset", "growth_time", "shell_change", "crack_episodes",
                   "healed_episodes")


@dataclasses.dataclass
class Cracks:
    """An ensemble's crack observables (docs/hdf5-layout.md, "Cracks"), per replica: -1 (NaN for
    shell_change) where undefined. Only as fine as `sample_interval` (MC steps)."""
    first_exposure: np.ndarray
    onset: np.ndarray
    growth_time: np.ndarray
    shell_change: np.ndarray   # N_shell(tau) - N_shell(0), NaN if not doubled
    crack_episodes: np.ndarray
    healed_episodes: np.ndarray
    shell_sites: np.ndarray    # N_shell(0)
    sample_interval: int


def read_cracks(f, name):
    """The crack observables of ensemble `name`, or None for a file written before ripen
    recorded them."""
    g = _member(f["ensembles"], name)
    if not all(key in g for key in CRACK_SUMMARIES):
        return None
    columns = {key: _member(g, key)[()] for key in CRACK_SUMMARIES}
    return Cracks(**columns, shell_sites=_member(g, "shell_sites")[()],
                  sample_interval=int(plain(g.attrs.get("sample_interval", 0))))


EPISODE_COLUMNS = ("episode_start", "episode_end", "episode_peak", "episode_growth",
                   "episode_closed")


def read_episodes(f, name):
    """The crack episodes of ensemble `name`: (counts [R], {column: [R, E]}) with
    docs/hdf5-layout.md's columns (row r holds counts[r] episodes, then fill), or None for a file
    written before ripen recorded them."""
    g = _member(f["ensembles"], name)
    if "crack_episodes" not in g or not all(key in g for key in EPISODE_COLUMNS):
        return None
    return g["crack_episodes"][()], {key: g[key][()] for key in EPISODE_COLUMNS}


DEFECT_PLACES = ("facet", "edge", "corner")


def defect(attrs):
    """(place, sites) of an ensemble whose particle has a seeded defect, else None."""
    if "defect_sites" not in attrs:
        return None
    return plain(attrs.get("defect_place")), int(attrs["defect_sites"])


TRACK_EVENTS = ("vanish", "merge", "split", "appear")


@dataclasses.dataclass
class Particles:
    """The tracked particles of an ensemble that started from a list (docs/hdf5-layout.md,
    "Seeded defects and lists of particles"). Arrays per replica r, sample k, id p; -1 (NaN)
    where id p is not a particle at sample k."""
    name: str
    initial: np.ndarray     # [P0, 8]: x, y, core requested, shell thickness, defect place,
    #                         defect sites, core and shell built
    min_core: int
    steps: np.ndarray       # [S]: MC steps of each sample
    length: np.ndarray      # [R]: samples each replica took
    count: np.ndarray       # [R]: ids each replica gave
    origin: np.ndarray      # [R, P]: the initial particle each id descends from (-1: appeared)
    core: np.ndarray        # [R, S, P]
    shell: np.ndarray       # [R, S, P]
    exposed: np.ndarray     # [R, S, P]
    centre: np.ndarray      # [R, S, P, 2]
    free_core: np.ndarray   # [R, S]
    free_shell: np.ndarray  # [R, S]
    events: list            # per replica: [(step, kind name, id, other), ...]
    present: np.ndarray     # [R] bool: the replica's task is in this file
    lz: int = 4             # the lattice's layers (sites per column)

    @property
    def shelled(self):
        """Per initial particle: True if it started with a shell."""
        return self.initial[:, 3] > 0

    def kind(self, replica, particle):
        """"shelled" or "shell-free" by the initial particle id `particle` descends from, or
        "appeared" for one that formed from the solution."""
        o = int(self.origin[replica, particle])
        if o < 0:
            return "appeared"
        return "shelled" if self.initial[o, 3] > 0 else "shell-free"

    def end_of(self, replica, particle):
        """The last sample index at which the id is a particle (-1 if never)."""
        alive = np.flatnonzero(self.core[replica, :self.length[replica], particle] >= 0)
        return int(alive[-1]) if len(alive) else -1


def read_particles(f, name):
    """The tracked particles of ensemble `name`, or None if it does not track any."""
    g = _member(f["ensembles"], name)
    if "particles" not in g:
        return None
    p = g["particles"]
    attrs = attributes(g)
    replicas = int(attrs.get("replicas", len(p["count"])))
    events = []
    counts, table = p["event_count"][()], p["events"][()]
    for r in range(replicas):
        n = max(int(counts[r]), 0)
        events.append([(int(s), TRACK_EVENTS[int(k)], int(i), int(o))
                       for s, k, i, o in table[r, :n]])
    return Particles(name, p["initial"][()], int(plain(p.attrs["min_core"])),
                     _member(g, "series_step")[()], _member(g, "series_length")[()],
                     p["count"][()], p["origin"][()], p["core"][()], p["shell"][()],
                     p["exposed_core"][()], p["centre"][()], p["free_core"][()],
                     p["free_shell"][()], events, _present(f, attrs, replicas),
                     int(attrs.get("lz", 4)))


@dataclasses.dataclass
class CrackFreeEnergy:
    """An ensemble's crack free energy by brute force (docs/hdf5-layout.md, "Crack free
    energy"): over the shelled basin, F(c) = -ln P(c) of the exposed core c and
    beta F_crack = -ln P(c > 0), each with its 95% bootstrap interval over replicas (value,
    lower, upper); the same over the replicas that took off only; the transmission kappa."""
    c: np.ndarray
    count: np.ndarray
    F: np.ndarray
    F_lower: np.ndarray
    F_upper: np.ndarray
    p_crack: tuple
    f_crack: tuple
    f_crack_onset: tuple
    kappa: tuple
    replicas: int
    took_off: int
    samples: int
    episodes: int
    grew: int
    mean_duration: float


def read_crack_free_energy(f, name):
    """The crack free energy ripen computed for ensemble `name`, or None (an older file, or a
    shard: it needs every replica)."""
    g = f.get(f"ensembles/{name}/crack_free_energy")
    if g is None:
        return None
    a = attributes(g)
    triple = lambda key: (float(a[key]), float(a[f"{key}_lower"]), float(a[f"{key}_upper"]))
    columns = {key: _member(g, key)[()] for key in ("c", "count", "F", "F_lower", "F_upper")}
    return CrackFreeEnergy(**columns, p_crack=triple("p_crack"), f_crack=triple("f_crack"),
                           f_crack_onset=triple("f_crack_onset"), kappa=triple("kappa"),
                           replicas=int(a["replicas"]), took_off=int(a["took_off"]),
                           samples=int(a["samples"]), episodes=int(a["episodes"]),
                           grew=int(a["grew"]), mean_duration=float(a["mean_duration"]))


@dataclasses.dataclass
class ShellLife:
    """The time each replica of an ensemble took to lose `level` of its initial shell (the
    ensemble's shell_passage), right-censored at steps_run where it did not: the Kaplan-Meier
    median with a bootstrap 95% CI, as for doubling times."""
    level: float
    times: np.ndarray     # passage or censoring time, per present replica
    events: np.ndarray    # True where the shell reached the level
    median: float         # inf: over half the replicas kept their shell to the end
    median_ci: tuple
    horizon: float        # the step limit
    mu_core: float        # the ensemble's μ_c (kT)


def shell_life(f, ensemble, level=0.5, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """ShellLife of `ensemble` (an Ensemble) at the shell_passage level closest to `level`, or
    None if it timed no shell loss."""
    g = _member(f["ensembles"], ensemble.name)
    if "shell_passage_level" not in g or len(g["shell_passage_level"]) == 0:
        return None
    levels = g["shell_passage_level"][()]
    k = int(np.argmin(np.abs(levels - level)))
    t = g["shell_passage_time"][:, k][ensemble.present]
    steps = ensemble.steps_run[ensemble.present].astype(float)
    events = t >= 0
    times = np.where(events, t, steps)
    rng = bootstrap_rng(ensemble.name + "/shell", seed)
    medians = bootstrap(times, events, km_median, rng, resamples) if len(times) else []
    return ShellLife(float(levels[k]), times, events, km_median(times, events) if len(times)
                     else math.nan, percentile_interval(medians) if len(times) else
                     (math.nan, math.nan),
                     float(ensemble.attrs.get("max_steps", steps.max() if len(steps) else 0)),
                     float(ensemble.attrs.get("mu_core", math.nan)))


def shell_at_onset(f, name, cracks):
    """Per replica of ensemble `name`: N_shell at the onset of growth (the sample there) minus
    N_shell(0), NaN where the onset is undefined: what the shell lost before the core broke
    out."""
    g = _member(f["ensembles"], name)
    interval = max(cracks.sample_interval, 1)
    out = np.full(len(cracks.onset), np.nan)
    n_shell = _member(g, "n_shell")
    for r in np.flatnonzero(cracks.onset >= 0):
        out[r] = float(n_shell[r, int(cracks.onset[r] // interval)]) - float(cracks.shell_sites[r])
    return out


def snapshot_replicas(f, name):
    """Indices of the replicas of an ensemble that have at least one snapshot."""
    g = _member(f["ensembles"], name)
    if "snapshot_count" not in g:
        return []
    return [int(p) for p in np.flatnonzero(g["snapshot_count"][()] > 0)]


def snapshot_steps(f, name, replica):
    """Steps of the snapshots replica `replica` took (cut at snapshot_count: the rest is fill)."""
    g = _member(f["ensembles"], name)
    counts = _member(g, "snapshot_count")
    if replica >= len(counts):  # a replica that keeps no snapshots (or none do)
        return _member(g, "snapshot_step")[:0]
    n = max(int(counts[replica]), 0)
    return _member(g, "snapshot_step")[:n]


def snapshots(f, name, replica, which):
    """States [len(which), Lz, Ly, Lx] (0 solution, 1 core, 2 shell) of the snapshots with the
    given increasing indices; reads only those, since a long run's snapshots are large."""
    return _member(_member(f["ensembles"], name), "snapshots")[replica, list(which)]


def top_view(states):
    """x-y projection of one snapshot [Lz, Ly, Lx]: a column is core (1) if any site in it is
    core, else shell (2) if any is shell, else solution (0), so exposed and buried core both
    show. The core columns are exactly those A_core counts (A_shell also counts columns that
    hold shell above or below core, shown here as core)."""
    core = np.any(states == 1, axis=0)
    shell = np.any(states == 2, axis=0)
    return np.where(core, 1, np.where(shell, 2, 0)).astype(np.uint8)


@dataclasses.dataclass
class WindowSet:
    """An umbrella-window set and its F(q): `fq` is None when the file has no fq group (e.g. a
    shard), {"error": text} when the samples did not determine F, else the group's attributes
    plus its datasets as arrays."""
    name: str
    attrs: dict
    fq: dict
    kind: str = "windows"     # or "exchange": windows that swap configurations (with a ladder)
    statistics: dict = None   # exchange sets: acceptance, round trips (arrays and attributes)

    @property
    def shell_thickness(self):
        return self.attrs.get("shell_thickness", 0)

    @property
    def method(self):
        """The estimate to quote: MBAR over every state for an exchange set (its WHAM sees
        rung 0 alone), WHAM for a window set (MBAR agrees with it to 1e-6 kT there)."""
        return "mbar" if self.kind == "exchange" else "wham"

    @property
    def barrier(self):
        return float(self.fq[f"barrier_{self.method}"])

    @property
    def barrier_sigma(self):
        return float(self.fq[f"barrier_{self.method}_sigma"])

    @property
    def shell_warning(self):
        """Why the set's shell is not the one it started with ("" if it is, or in a file
        written before ripen checked): its samples held N_shell outside the band of
        `shell_tolerance` for most of the time (docs/hdf5-layout.md). A "shelled" F(q) with
        this warning has no shell and must not be shown as a shelled one."""
        return str((self.fq or {}).get("shell_warning", "") or "")

    @property
    def shell_lost(self):
        """True if ripen warned that the set's shell left its initial size."""
        return bool(self.shell_warning)

    @property
    def shell_label(self):
        """"shell lost", "shell grew" or "shell changed" (the warning's head), or ""."""
        return self.shell_warning.split(":", 1)[0]

    @property
    def warnings(self):
        """The warnings ripen stored with an exchange set's statistics ("" if none)."""
        text = (self.statistics or {}).get("warnings", "")
        return text.decode() if isinstance(text, bytes) else str(text)


def repeat_base(name):
    """The name a set of repeats shares: `name` without its sweep label's `repeat=...` part
    ("free@repeat=2" -> "free", "free@mu_core=-40,repeat=2" -> "free@mu_core=-40"), or None if
    the name has no such part."""
    head, at, label = name.partition("@")
    parts = label.split(",") if at else []
    kept = [p for p in parts if not p.startswith("repeat=")]
    if len(kept) == len(parts):
        return None
    return head + ("@" + ",".join(kept) if kept else "")


@dataclasses.dataclass
class RepeatSummary:
    """Barriers (WindowSet.barrier) of independent repeats of one window or exchange set."""
    base: str
    count: int               # repeats in the file
    barriers: np.ndarray     # of the repeats whose F(q) is determined
    bootstrap_sigma: float   # median bootstrap sigma of those
    mean: float
    sd: float                # sample standard deviation (ddof = 1); NaN with < 2 barriers
    sem: float               # sd / sqrt(n)


def repeat_summaries(windows):
    """One RepeatSummary per group of window sets that differ only in `repeat`, file order."""
    groups = {}
    for ws in windows:
        base = repeat_base(ws.name)
        if base is not None:
            groups.setdefault(base, []).append(ws)
    out = []
    for base, sets in groups.items():
        good = [ws for ws in sets if ws.fq is not None and "error" not in ws.fq]
        barriers = np.array([ws.barrier for ws in good], float)
        n = len(barriers)
        sd = float(np.std(barriers, ddof=1)) if n >= 2 else math.nan
        out.append(RepeatSummary(
            base, len(sets), barriers,
            float(np.median([ws.barrier_sigma for ws in good])) if n else math.nan,
            float(barriers.mean()) if n else math.nan, sd, sd / math.sqrt(n) if n >= 2 else math.nan))
    return out


def read_window_set(f, name, kind="windows"):
    """A window set (kind "windows") or an exchange set (kind "exchange") and its F(q)."""
    g = _member(f[kind], name)
    statistics = None
    if "statistics" in g:
        statistics = attributes(g["statistics"])
        for key in g["statistics"]:
            statistics[key] = g["statistics"][key][()]
    if "fq" not in g:
        return WindowSet(name, attributes(g), None, kind, statistics)
    fq = attributes(g["fq"])
    if "error" not in fq:
        for key in ("q", "F_wham", "sigma_wham", "F_mbar", "sigma_mbar"):
            fq[key] = _member(g["fq"], key)[()]
    return WindowSet(name, attributes(g), fq, kind, statistics)


# ----------------------------------------------------------------------------------------------
# Survival statistics


@dataclasses.dataclass
class KaplanMeier:
    """The Kaplan-Meier estimate at the distinct event times: S just after `time[i]` is
    `survival[i]`, with Greenwood's variance, and a pointwise 95% band (log-log) where the file
    stored one (format 2: ripen computes P(tau) itself, /ensembles/<name>/survival)."""
    time: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    variance: np.ndarray
    lower: np.ndarray = None
    upper: np.ndarray = None

    def at(self, t):
        """S(t) for any times t (right-continuous step function, 1 before the first event)."""
        index = np.searchsorted(self.time, t, side="right")
        return np.concatenate(([1.0], self.survival))[index]


def kaplan_meier(times, events):
    """Kaplan-Meier estimate from event/censoring times. A replica censored at t counts as at
    risk at t (censored at t means still undoubled just after t), the usual convention and the
    one ripen's own summary uses."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    event_times, deaths = np.unique(times[events], return_counts=True)
    at_risk = len(times) - np.searchsorted(np.sort(times), event_times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = deaths / (at_risk * (at_risk - deaths))
    variance = survival ** 2 * np.cumsum(np.where(at_risk > deaths, terms, 0.0))
    return KaplanMeier(event_times, at_risk, deaths, survival, variance)


def stored_kaplan_meier(f, name):
    """The Kaplan-Meier curve ripen stored for an ensemble (format 2), or None (older files, and
    shards, which hold only some replicas)."""
    g = f.get(f"ensembles/{name}/survival") if "ensembles" in f else None
    if g is None:
        return None
    column = {key: g[key][()] for key in ("time", "at_risk", "events", "survival", "se",
                                          "lower", "upper")}
    return KaplanMeier(column["time"].astype(float), column["at_risk"], column["events"],
                       column["survival"], column["se"] ** 2, column["lower"], column["upper"])


def km_median(times, events):
    """The smallest event time at which the Kaplan-Meier S(t) <= 1/2; inf when S never gets
    there (over half the replicas censored): the median is then only known to exceed the
    largest time."""
    event_times, deaths = np.unique(np.asarray(times, float)[np.asarray(events, bool)],
                                    return_counts=True)
    at_risk = len(times) - np.searchsorted(np.sort(times), event_times, side="left")
    below = np.flatnonzero(np.cumprod(1.0 - deaths / at_risk) <= HALF)
    return float(event_times[below[0]]) if len(below) else math.inf


def restricted_mean(times, events, horizon):
    """Restricted mean survival time: the area under S(t) from 0 to `horizon`, i.e. the mean of
    min(tau, horizon). With nothing censored and horizon >= every time it is the plain mean; with
    censoring it is the honest replacement for a mean that the data cannot determine."""
    km = kaplan_meier(times, events)
    knots = np.concatenate(([0.0], km.time[km.time < horizon], [horizon]))
    levels = np.concatenate(([1.0], km.survival[km.time < horizon]))
    return float(np.sum(levels * np.diff(knots)))


@dataclasses.dataclass
class ExponentialFit:
    """Censored MLE of an exponential doubling-time distribution (a memoryless, singly
    activated event): rate = events / total time at risk, SE = rate / sqrt(events)."""
    rate: float
    rate_se: float
    log_likelihood: float

    @property
    def mean(self):
        return 1.0 / self.rate if self.rate > 0 else math.inf


def exponential_fit(times, events):
    times, events = np.asarray(times, float), np.asarray(events, bool)
    d, exposure = int(events.sum()), float(times.sum())
    if d == 0 or exposure <= 0:
        return ExponentialFit(0.0, math.nan, 0.0)
    rate = d / exposure
    return ExponentialFit(rate, rate / math.sqrt(d), d * math.log(rate) - rate * exposure)


@dataclasses.dataclass
class WeibullFit:
    """Censored MLE of S(t) = exp(-(t/scale)^shape). shape = 1 is the exponential; shape >> 1
    means doubling at a nearly fixed time (steady growth rather than a rare activated event).
    Standard errors from the observed information."""
    shape: float
    scale: float
    shape_se: float
    scale_se: float
    log_likelihood: float


def _log_weights(log_t, shape):
    """Normalised weights t^shape / sum t^shape computed in log space (t^shape overflows for the
    shapes of nearly deterministic doubling), and log sum t^shape."""
    x = shape * log_t
    top = x.max()
    w = np.exp(x - top)
    total = w.sum()
    return w / total, top + math.log(total)


def _weibull_profile_score(shape, log_t, events):
    """d(profile log-likelihood)/d(shape) with the scale at its optimum for this shape; strictly
    decreasing in shape, so its root is unique and can be bracketed."""
    d = events.sum()
    w, _ = _log_weights(log_t, shape)
    mean_log = np.sum(w * log_t)
    return d / shape + log_t[events].sum() - d * mean_log, \
        -d / shape ** 2 - d * np.sum(w * (log_t - mean_log) ** 2)


def weibull_fit(times, events, shape_range=(1e-3, 1e3)):
    """Censored Weibull MLE by safeguarded Newton on the profile score in log(shape) (bisection
    whenever a Newton step leaves the bracket). Returns None when the MLE is not finite or not
    identifiable: fewer than two events, or all events at one time (shape -> infinity)."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    if events.sum() < 2 or np.any(times <= 0) or np.ptp(times[events]) == 0:
        return None
    log_t = np.log(times)
    lo, hi = math.log(shape_range[0]), math.log(shape_range[1])
    if _weibull_profile_score(shape_range[1], log_t, events)[0] > 0:
        return None
    x = 0.0
    for _ in range(200):
        score, slope = _weibull_profile_score(math.exp(x), log_t, events)
        if score > 0:
            lo = x
        else:
            hi = x
        step = -score / (slope * math.exp(x))  # the Newton step in shape, in log(shape)
        x_new = x + step if lo < x + step < hi else 0.5 * (lo + hi)
        if abs(x_new - x) < 1e-12:
            break
        x = x_new
    return _weibull_at(math.exp(x), log_t, events)


def _weibull_at(shape, log_t, events):
    """The full fit at the optimal shape: scale, log-likelihood and the observed-information
    standard errors of (shape, scale)."""
    d = int(events.sum())
    w, log_sum = _log_weights(log_t, shape)
    log_scale = (log_sum - math.log(d)) / shape
    scale = math.exp(log_scale)
    u = log_t - log_scale
    z = np.exp(shape * u)  # sum z = d at the optimum
    log_likelihood = d * math.log(shape) - d * shape * log_scale + \
        (shape - 1) * log_t[events].sum() - z.sum()
    hessian = np.array([[-d / shape ** 2 - np.sum(z * u ** 2), np.sum(z * u) * shape / scale],
                        [np.sum(z * u) * shape / scale, -shape ** 2 * d / scale ** 2]])
    try:
        cov = np.linalg.inv(-hessian)
        shape_se, scale_se = math.sqrt(max(cov[0, 0], 0)), math.sqrt(max(cov[1, 1], 0))
    except np.linalg.LinAlgError:
        shape_se = scale_se = math.nan
    return WeibullFit(shape, scale, shape_se, scale_se, log_likelihood)


def bootstrap_rng(name, seed=BOOTSTRAP_SEED):
    """A generator fixed by (seed, name): reproducible tables, and independent resampling for
    two ensembles so that their bootstrap ratio is a ratio of independent draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def bootstrap(times, events, statistic, rng, resamples=BOOTSTRAP_RESAMPLES):
    """`statistic(times, events)` on replicas resampled with replacement (a replica keeps its
    event/censoring pair, so censored replicas are resampled like any other)."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    n = len(times)
    picks = rng.integers(0, n, size=(resamples, n))
    return np.array([statistic(times[p], events[p]) for p in picks])


def percentile_interval(values, level=0.95):
    """Percentile bootstrap interval from order statistics (no interpolation, so an infinite
    value, a median never reached, stays an open upper end instead of becoming NaN). NaN values
    (undetermined ratios) sort last and make that end undetermined."""
    v = np.sort(np.asarray(values, float))
    alpha = (1.0 - level) / 2.0
    lower = v[int(math.floor(alpha * len(v)))]
    upper = v[int(math.ceil((1.0 - alpha) * len(v))) - 1]
    return float(lower), float(upper)


def ratio(numerator, denominator):
    """Elementwise ratio of medians with the limits spelled out: inf/finite = inf, finite/inf =
    0, inf/inf undetermined (NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(numerator, float) / np.asarray(denominator, float)


@dataclasses.dataclass
class Summary:
    """Everything the figures and the table report about one ensemble's doubling times."""
    ensemble: Ensemble
    horizon: float               # restricted-mean horizon: the step limit
    km: KaplanMeier
    median: float
    median_ci: tuple
    rmst: float
    rmst_ci: tuple
    exponential: ExponentialFit
    weibull: object              # WeibullFit or None
    median_samples: np.ndarray   # bootstrap medians, for ratios between ensembles

    @property
    def replicas(self):
        return int(self.ensemble.present.sum())

    @property
    def doubled(self):
        return int(self.ensemble.events.sum())

    @property
    def censored(self):
        return self.replicas - self.doubled

    @property
    def missing(self):
        return int((~self.ensemble.present).sum())


def summarise(ensemble, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """Kaplan-Meier, its median and the restricted mean with bootstrap CIs, and the two censored
    MLE fits, for one ensemble."""
    times, events = ensemble.times, ensemble.events
    horizon = float(ensemble.attrs.get("max_steps", times.max() if len(times) else 0))
    rng = bootstrap_rng(ensemble.name, seed)
    if len(times) == 0:
        nothing = (math.nan, math.nan)
        return Summary(ensemble, horizon, kaplan_meier(times, events), math.nan, nothing,
                       math.nan, nothing, exponential_fit(times, events), None,
                       np.full(resamples, math.nan))
    medians = bootstrap(times, events, km_median, rng, resamples)
    rmsts = bootstrap(times, events, lambda t, e: restricted_mean(t, e, horizon), rng,
                      resamples)
    km = ensemble.stored_km if ensemble.stored_km is not None else kaplan_meier(times, events)
    return Summary(ensemble, horizon, km, km_median(times, events),
                   percentile_interval(medians), restricted_mean(times, events, horizon),
                   percentile_interval(rmsts), exponential_fit(times, events),
                   weibull_fit(times, events), medians)


def median_ratio(numerator, denominator):
    """Ratio of KM medians of two summaries with its bootstrap 95% CI (independent resamples of
    each ensemble)."""
    value = float(ratio(numerator.median, denominator.median))
    return value, percentile_interval(ratio(numerator.median_samples,
                                            denominator.median_samples))


@dataclasses.dataclass
class BoundedRatio:
    """A ratio of KM medians as far as the data know it. A median that was not reached is only
    known to exceed its step limit, so the ratio is then a bound: `kind` is "value" (both
    medians reached: `value` with its 95% CI), "above" (the numerator's median not reached:
    ratio > `value` = its limit / the other median), "below" (the denominator's not reached:
    ratio < `value` = this median / its limit) or "undetermined" (neither)."""
    kind: str
    value: float
    ci: tuple

    def text(self, digits=2):
        if self.kind == "undetermined":
            return "undetermined (neither median reached)"
        bound = f"{self.value:,.0f}" if self.value >= 100 else f"{self.value:.{digits}f}"
        if self.kind == "above":
            return f"> {bound}"
        if self.kind == "below":
            return f"< {bound}"

        def show(v):
            return "undetermined" if math.isnan(v) else "∞" if math.isinf(v) else \
                f"{v:.{digits}f}"
        return f"{self.value:.{digits}f} [{show(self.ci[0])}, {show(self.ci[1])}]"


def bounded_ratio(numerator, denominator):
    """The ratio of two summaries' KM medians (BoundedRatio): a value with its bootstrap 95% CI,
    or the bound the step limits allow when a median was not reached."""
    top, bottom = numerator.median, denominator.median
    if math.isinf(top) and math.isinf(bottom):
        return BoundedRatio("undetermined", math.nan, (math.nan, math.nan))
    if math.isinf(top):
        return BoundedRatio("above", numerator.horizon / bottom, (math.nan, math.nan))
    if math.isinf(bottom):
        return BoundedRatio("below", top / denominator.horizon, (math.nan, math.nan))
    value, ci = median_ratio(numerator, denominator)
    return BoundedRatio("value", value, ci)
