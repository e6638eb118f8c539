#!/usr/bin/python3
"""Where, if anywhere, do all of the paper's observations hold at once? A search along the
ratio-20 ridge beyond jobs/scan.json's grid (docs/reproduction.md, "All of the paper's
observations at once").

    /usr/bin/python3 analysis/ridge_search.py jobs/ridge.json --out search/ [options]

The base job (a plain ripen job with one shelled and one shell-free ensemble and no sweep) fixes
everything but the searched parameters. For every line (ε_i, μ_c, p_swap) of the given lists the
search looks for the μ_s where the ratio of Kaplan-Meier median doubling times shelled /
shell-free equals --target: a coarse pass up from LO of --mu-shell LO,HI in steps of
--mu-shell-step (the ratio rises and falls again along μ_s, so it can cross the target twice:
the shell grows from the solution towards high μ_s and dissolves towards low μ_s, and either
opens the core), which stops at the first point below the target after one above it, then
--bisections halvings of every bracket where log(ratio / target) changes sign. The point
of each crossing with the ratio closest to the target is a ridge point; analysis/criteria.py
evaluates every point. Every point is a job file and a result file in OUT/points/ (the same
seed everywhere: common random numbers make the ratio a smoother function of μ_s).

Resuming: run the same command again. A point whose result file is complete and holds the same
job is not run again; an interrupted one continues from its journal (ripen run --continue).
Points depend only on the options, so the resumed search takes the same path.

Options:
  --out DIR               output directory (required): points/, search.md, ridge.json,
                          search_map.png, search.log
  --eps-interface LIST    ε_i values (kT), comma-separated (default: the base job's)
  --mu-core LIST          μ_c values (kT) (default: the base job's)
  --p-swap LIST           p_swap values (default: the base job's)
  --mu-shell LO,HI        μ_s range of the coarse pass (kT; default -27,-21)
  --mu-shell-step S       its spacing (kT; default 1)
  --extend N              coarse steps added beyond LO or HI where the ratio there still
                          exceeds the target (default 2)
  --bisections N          halvings of each bracket (default 3)
  --target R              the ratio sought (default 20)
  --ranks K               MPI ranks per point (default 2; 1 runs ripen without mpirun)
  --ripen PATH            the ripen executable (default: build/ripen beside analysis/)
  --mpiexec PATH          (default: mpiexec)
  --shell-life MU         criterion 7 (analysis/criteria.py): after the search, rerun the best
                          points with a third ensemble, the shelled particle at the balance
                          μ_c* = MU (kT; -36.76 for ε_c = 10: the shell-free F(q)'s, the same at
                          every point since the shell-free particle has no shell), timing the
                          loss of half its shell; its files are OUT/points/NAME,life.json/.h5
                          (the pair in them is the point's own, bit for bit: same seed, same
                          task ids). Default: off
  --shell-life-points N   how many best points (default 5), and every point that passes
                          criteria 1-6 besides
  --shell-life-replicas R replicas of the balance ensemble (default 40)
  --shell-life-steps S    their step limit (MC steps; default 1e6 = 10 x the largest shelled
                          median criterion 2 allows)

Errors in the options or the base job: one line "ridge_search: ..." on stderr, exit status 2,
and nothing created. A point that fails to run stops the search (exit 1; resume when fixed).
"""
import argparse
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import criteria  # noqa: E402
import ripen_results as rr  # noqa: E402

SEARCHED = ("eps_interface", "mu_core", "mu_shell", "p_swap")
PARAMETER_LIMIT = 1000.0  # |ε|, |μ| in kT, as ripen allows (docs/jobs.md)
HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    """A bad option or base job: one line, exit status 2, nothing created."""


class PointFailure(Exception):
    """A point that could not be run: exit status 1."""


# ----------------------------------------------------------------------------------------------
# Options


def number_list(text, name, low=-PARAMETER_LIMIT, high=PARAMETER_LIMIT):
    """Comma-separated finite numbers in [low, high], no repeats."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise Failure(f"{name} {text}: must be comma-separated numbers") from None
    for v in values:
        if not (math.isfinite(v) and low <= v <= high):
            raise Failure(f"{name} {text}: every value must be a finite number in "
                          f"[{low:g}, {high:g}]")
    if len(set(values)) != len(values):
        raise Failure(f"{name} {text}: a value is repeated")
    return values


def integer(text, name, low, high):
    try:
        value = int(text)
    except ValueError:
        raise Failure(f"{name} {text}: must be an integer in [{low}, {high}]") from None
    if not low <= value <= high:
        raise Failure(f"{name} {text}: must be an integer in [{low}, {high}]")
    return value


def positive(text, name, above=0.0):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > above):
        raise Failure(f"{name} {text}: must be a finite number above {above:g}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Failure(message)


@dataclasses.dataclass
class Options:
    base_path: str
    base: dict            # the base job
    out: str
    eps_interface: list
    mu_core: list
    p_swap: list
    mu_shell: tuple       # (lo, hi)
    mu_shell_step: float
    extend: int
    bisections: int
    target: float
    ranks: int
    ripen: str
    mpiexec: str
    shell_life: float = math.nan  # μ_c* of criterion 7's ensemble (NaN: off)
    shell_life_points: int = 5
    shell_life_replicas: int = 40
    shell_life_steps: int = 1_000_000

    def record(self):
        """What identifies the search (search.json)."""
        record = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("base",)}
        if math.isnan(record["shell_life"]):  # JSON has no NaN that compares equal to itself
            record["shell_life"] = None
        return record


def parse_options(argv):
    p = Parser(prog="ridge_search", description=__doc__.splitlines()[0], add_help=True)
    p.add_argument("base")
    p.add_argument("--out", required=True)
    p.add_argument("--eps-interface")
    p.add_argument("--mu-core")
    p.add_argument("--p-swap")
    p.add_argument("--mu-shell", default="-27,-21")
    p.add_argument("--mu-shell-step", default="1")
    p.add_argument("--extend", default="2")
    p.add_argument("--bisections", default="3")
    p.add_argument("--target", default="20")
    p.add_argument("--ranks", default="2")
    p.add_argument("--ripen", default=os.path.join(os.path.dirname(HERE), "build", "ripen"))
    p.add_argument("--mpiexec", default="mpiexec")
    p.add_argument("--shell-life")
    p.add_argument("--shell-life-points", default="5")
    p.add_argument("--shell-life-replicas", default="40")
    p.add_argument("--shell-life-steps", default="1000000")
    a = p.parse_args(argv)
    ripen = shutil.which(a.ripen) if os.sep not in a.ripen else a.ripen
    if not ripen or not os.path.isfile(ripen) or not os.access(ripen, os.X_OK):
        raise Failure(f"--ripen {a.ripen}: not an executable file (build ripen first, or name "
                      "it)")
    ranks = integer(a.ranks, "--ranks", 1, 4096)
    if ranks > 1 and not shutil.which(a.mpiexec):
        raise Failure(f"--mpiexec {a.mpiexec}: not found (use --ranks 1 to run without MPI)")
    lo_hi = number_list(a.mu_shell, "--mu-shell")
    if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
        raise Failure(f"--mu-shell {a.mu_shell}: must be LO,HI with LO < HI (kT)")
    step = positive(a.mu_shell_step, "--mu-shell-step")
    if (lo_hi[1] - lo_hi[0]) / step > 1000:
        raise Failure(f"--mu-shell-step {a.mu_shell_step}: more than 1000 coarse points")
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        raise Failure(f"--out {a.out}: exists and is not a directory")
    base = read_base(a.base, ripen)
    model = base.get("model", {})
    default = {"eps_interface": 6.7, "mu_core": -30.0, "p_swap": 1 / 51}
    lists = {}
    for key, option, low, high in (("eps_interface", a.eps_interface, -1000, 1000),
                                   ("mu_core", a.mu_core, -1000, 1000),
                                   ("p_swap", a.p_swap, 0, 1)):
        flag = "--" + key.replace("_", "-")
        lists[key] = number_list(option, flag, low, high) if option is not None else \
            [float(model.get(key, default[key]))]
    life = number_list(a.shell_life, "--shell-life") if a.shell_life is not None else [math.nan]
    if len(life) != 1:
        raise Failure(f"--shell-life {a.shell_life}: must be one μ_c* (kT)")
    return Options(a.base, base, a.out, lists["eps_interface"], lists["mu_core"],
                   lists["p_swap"], tuple(lo_hi), step, integer(a.extend, "--extend", 0, 100),
                   integer(a.bisections, "--bisections", 0, 30),
                   positive(a.target, "--target", above=1.0), ranks, os.path.abspath(ripen),
                   a.mpiexec, life[0],
                   integer(a.shell_life_points, "--shell-life-points", 0, 100000),
                   integer(a.shell_life_replicas, "--shell-life-replicas", 1, 10_000_000),
                   integer(a.shell_life_steps, "--shell-life-steps", 1, 10 ** 12))


def read_base(path, ripen):
    """The base job: valid for ripen (ripen check), no sweep, one shelled and one shell-free
    ensemble that do not override the searched model keys."""
    try:
        with open(path, encoding="utf-8") as f:
            base = json.load(f)
    except OSError as error:
        raise Failure(f"{path}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise Failure(f"{path}: not a JSON job file ({str(error).splitlines()[0]})") from None
    check = subprocess.run([ripen, "check", path], capture_output=True, text=True)
    if check.returncode != 0:
        lines = check.stderr.strip().splitlines()
        raise Failure(f"{path}: {lines[-1] if lines else 'rejected by ripen check'}")
    ensembles = base.get("ensembles", []) if isinstance(base, dict) else []
    # Every other list at the top of a job is a task kind's entries (windows, exchange, ffs,
    # relay, and kinds added later): the search would run them at every point.
    for key, value in base.items():
        if key != "ensembles" and isinstance(value, list) and value:
            raise Failure(f"{path}: the base job must hold ensembles only (it has {key}: run "
                          "those sets once, on their own)")
    default = base.get("shell_thickness", base.get("initial", {}).get("shell_thickness", 2))
    thick = [e.get("shell_thickness", e.get("initial", {}).get("shell_thickness", default))
             for e in ensembles]
    if len(ensembles) != 2 or sorted(t > 0 for t in thick) != [False, True]:
        raise Failure(f"{path}: the base job must have one shelled and one shell-free ensemble")
    for e in ensembles:
        if "sweep" in e:
            raise Failure(f"{path}: ensemble {e.get('name')}: the base job must not sweep")
        overridden = [k for k in SEARCHED if k in e.get("model", {})]
        if overridden:
            raise Failure(f"{path}: ensemble {e.get('name')} sets model.{overridden[0]}, which "
                          "the search sets for both")
    return base


# ----------------------------------------------------------------------------------------------
# Points


def exact(x):
    """A number as text without loss (bisection midpoints are exact binary fractions)."""
    return format(x, ".12g")


@dataclasses.dataclass(frozen=True)
class Line:
    eps_interface: float
    mu_core: float
    p_swap: float

    def label(self):
        return f"ei={exact(self.eps_interface)},mc={exact(self.mu_core)}," \
               f"ps={exact(self.p_swap)}"


@dataclasses.dataclass
class Point:
    line: Line
    mu_shell: float
    path: str
    pair: object          # criteria.PairResults
    ratio: float          # of KM medians; inf: beyond the target, NaN: undetermined
    seconds: float        # wall time of its run (0 if it was done before)


def life_job(options, line, mu_shell):
    """The point's job with criterion 7's third ensemble appended (so the pair keeps its task
    ids, hence its replicas): the shelled particle at the balance μ_c*, not stopping at
    doubling, until it has lost half its shell."""
    job = json.loads(point_job(options, line, mu_shell))
    shelled = next(e for e in job["ensembles"] if e.get("shell_thickness", e.get(
        "initial", {}).get("shell_thickness", job.get("shell_thickness", job.get(
            "initial", {}).get("shell_thickness", 2)))) > 0)
    balance = {k: v for k, v in shelled.items() if k not in ("snapshot_interval",
                                                              "snapshot_replicas", "passage")}
    balance.update(name=shelled.get("name", "shelled") + "-balance",
                   replicas=options.shell_life_replicas, max_steps=options.shell_life_steps,
                   sample_interval=max(int(shelled.get("sample_interval", 100)), 1000),
                   stop_at_doubling=False,
                   shell_passage={"levels": [criteria.PERSIST_LEVEL], "stop": True})
    balance.setdefault("model", {})["mu_core"] = options.shell_life
    job["ensembles"].append(balance)
    job["comment"] += f"; with criterion 7's shelled ensemble at μ_c* {exact(options.shell_life)}"
    return json.dumps(job, indent=1) + "\n"


def point_job(options, line, mu_shell):
    job = json.loads(json.dumps(options.base))
    job["comment"] = (f"ridge_search point of {os.path.basename(options.base_path)}: "
                      f"eps_interface {exact(line.eps_interface)}, mu_core {exact(line.mu_core)},"
                      f" mu_shell {exact(mu_shell)}, p_swap {exact(line.p_swap)}")
    job.pop("output", None)
    model = job.setdefault("model", {})
    model.update(eps_interface=line.eps_interface, mu_core=line.mu_core, mu_shell=mu_shell,
                 p_swap=line.p_swap)
    return json.dumps(job, indent=1) + "\n"


def stored_job(path):
    """The job text a complete result file holds, or None (absent, incomplete, unreadable)."""
    try:
        with h5py.File(path, "r") as f:
            if int(f.attrs.get("complete", 0)) != 1:
                return None
            return f["job/json"][()].decode("utf-8")
    except (OSError, KeyError):
        return None


class Runner:
    """Runs and evaluates points, logging to OUT/search.log."""

    def __init__(self, options):
        self.options = options
        self.points = {}  # (line, mu_shell, False) -> Point
        self.lives = {}   # (line, mu_shell, True) -> Point: criterion 7's reruns
        self.directory = os.path.join(options.out, "points")
        self.log_file = open(os.path.join(options.out, "search.log"), "a", encoding="utf-8")

    def log(self, message):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def command(self, job_path, out):
        args = [self.options.ripen, "run", job_path, "--out", out, "--continue", "--quiet"]
        if self.options.ranks > 1:
            args = [self.options.mpiexec, "-np", str(self.options.ranks)] + args
        return args

    def point(self, line, mu_shell, life=False):
        key = (line, mu_shell, life)
        known = self.lives if life else self.points
        if key in known:
            return known[key]
        name = f"{line.label()},ms={exact(mu_shell)}" + (",life" if life else "")
        job_path = os.path.join(self.directory, name + ".json")
        out = os.path.join(self.directory, name + ".h5")
        text = (life_job if life else point_job)(self.options, line, mu_shell)
        stored = stored_job(out)
        seconds = 0.0
        if stored is not None and stored != text:
            raise PointFailure(f"{out} holds another job (a search with other options or base "
                               "job wrote it): use another --out")
        if stored is None:
            with open(job_path, "w", encoding="utf-8") as f:
                f.write(text)
            started = time.time()
            result = subprocess.run(self.command(job_path, out), capture_output=True, text=True)
            seconds = time.time() - started
            if result.returncode != 0 or stored_job(out) != text:
                lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
                raise PointFailure(f"point {name} failed (exit {result.returncode}): "
                                   f"{lines[-1] if lines else 'no message'}")
        pairs = criteria.evaluate_file(out)
        if len(pairs) != 1:
            raise PointFailure(f"{out}: expected one shelled and shell-free pair")
        pair = pairs[0]
        ratio = search_ratio(pair, self.options.target)
        p = Point(line, mu_shell, out, pair, ratio, seconds)
        verb = f"ran in {seconds:.1f} s" if seconds else "done before, skipped"
        if life:
            self.lives[key] = p
            self.log(f"point {name}: criterion 7 {pair.result('persist').status}: "
                     f"{pair.result('persist').text} ({verb})")
            return p
        self.points[key] = p
        self.log(f"point {name}: ratio {pair.result('ratio').text}, shelled median tau "
                 f"{pair.result('time').text} ({verb})")
        return p


# ----------------------------------------------------------------------------------------------
# The search along one line


def search_ratio(pair, target):
    """The ratio of KM medians as the bisection needs it: with the shelled median not reached
    the ratio exceeds horizon / shell-free median, which places it above the target (inf) only
    if that bound does; otherwise (and with both medians not reached) it is undetermined."""
    shelled, free = pair.medians
    if math.isinf(shelled):
        bound = pair.horizon / free if math.isfinite(free) and free > 0 else math.nan
        return math.inf if bound > target else math.nan
    if math.isinf(free):
        return 0.0  # the shell-free particles are the slower ones
    return shelled / free if free > 0 else math.nan


def side(point, target):
    """+1 above the target, -1 below, 0 undetermined (NaN)."""
    if math.isnan(point.ratio):
        return 0
    return 1 if point.ratio > target else -1


def coarse_value(options, k):
    """The k-th coarse μ_s (k < 0 or beyond HI: the extensions), always computed alike so that
    a resumed search names the same points."""
    return options.mu_shell[0] + k * options.mu_shell_step


def coarse_count(options):
    lo, hi = options.mu_shell
    return int(math.floor((hi - lo) / options.mu_shell_step + 1e-9)) + 1


def coarse_pass(runner, line):
    """The coarse points in increasing μ_s: from LO (extended downwards while the ratio there
    still exceeds the target) up to the first point below the target after one above it (the
    far side of the ridge: beyond it the shell fills the box, so points cost their whole step
    limit, and the ratio does not come back), or up to HI (extended upwards while still above)."""
    o = runner.options

    def usable(k):
        return abs(coarse_value(o, k)) <= PARAMETER_LIMIT

    points = [runner.point(line, coarse_value(o, 0))]
    low = 0
    while side(points[0], o.target) > 0 and -low < o.extend and usable(low - 1):
        low -= 1
        points.insert(0, runner.point(line, coarse_value(o, low)))
    above = any(side(p, o.target) > 0 for p in points)
    last, k = coarse_count(o) - 1, 0
    while not (above and side(points[-1], o.target) < 0):
        k += 1
        if k > last and (k - last > o.extend or side(points[-1], o.target) <= 0 or
                         not usable(k)):
            break
        points.append(runner.point(line, coarse_value(o, k)))
        above |= side(points[-1], o.target) > 0
    return points


def bisect(runner, line, a, b):
    """Halves the bracket [a, b] (points on either side of the target) --bisections times;
    returns every point evaluated, the ends included, and the final bracket (μ_s, μ_s)."""
    o = runner.options
    seen = [a, b]
    for _ in range(o.bisections):
        mid = runner.point(line, 0.5 * (a.mu_shell + b.mu_shell))
        seen.append(mid)
        s = side(mid, o.target)
        if s == 0:
            break
        if s == side(a, o.target):
            a = mid
        else:
            b = mid
    return seen, tuple(sorted((a.mu_shell, b.mu_shell)))


@dataclasses.dataclass
class Crossing:
    line: Line
    branch: str           # "high μ_s" (the shell grows) or "low μ_s" (it dissolves)
    ridge: Point          # the evaluated point whose ratio is closest to the target
    bracket: tuple        # (μ_s, μ_s) of the final bracket


def search_line(runner, line):
    o = runner.options
    coarse = coarse_pass(runner, line)
    crossings = []
    for a, b in zip(coarse, coarse[1:]):
        sa, sb = side(a, o.target), side(b, o.target)
        if sa == 0 or sb == 0 or sa == sb:
            continue
        seen, bracket = bisect(runner, line, a, b)
        finite = [p for p in seen if math.isfinite(p.ratio) and p.ratio > 0]
        if not finite:
            continue
        best = min(finite, key=lambda p: (abs(math.log(p.ratio / o.target)), p.mu_shell))
        branch = "low μ_s" if sa < sb else "high μ_s"  # rising ratio: the dissolving side
        crossings.append(Crossing(line, branch, best, bracket))
    if not crossings:
        runner.log(f"line {line.label()}: no crossing of ratio {o.target:g} between μ_s "
                   f"{coarse[0].mu_shell:g} and {coarse[-1].mu_shell:g}")
    return coarse, crossings


# ----------------------------------------------------------------------------------------------
# Reports


def point_label(p):
    return (f"ε_i {p.line.eps_interface:g}, μ_c {p.line.mu_core:g}, μ_s {p.mu_shell:.4g}, "
            f"p_swap {p.line.p_swap:.3g}")


def passes(point):
    return sum(r.status == criteria.PASS for r in point.pair.results)


def best_points(points, target, count=5):
    def closeness(p):
        return abs(math.log(p.ratio / target)) if math.isfinite(p.ratio) and p.ratio > 0 \
            else math.inf
    return sorted(points, key=lambda p: (-passes(p), closeness(p)))[:count]


BEFORE_PERSIST = ("ratio", "time", "burst", "shell", "healing", "crack")


def life_candidates(points, options):
    """The points criterion 7 is measured at: the --shell-life-points best ones, and every one
    that passes criteria 1-6 (6b aside)."""
    best = best_points(points, options.target, options.shell_life_points)
    passing = [p for p in points
               if all(p.pair.result(n).status == criteria.PASS for n in BEFORE_PERSIST)]
    chosen = {id(p): p for p in best + passing}
    return sorted(chosen.values(), key=lambda p: (-passes(p), p.line.eps_interface,
                                                  p.line.mu_core, p.mu_shell))


def run_lives(runner):
    """Criterion 7 at the chosen points: each rerun with the balance ensemble."""
    chosen = life_candidates(list(runner.points.values()), runner.options)
    runner.log(f"criterion 7 at {len(chosen)} points (μ_c* {runner.options.shell_life:g})")
    return [runner.point(p.line, p.mu_shell, life=True) for p in chosen]


def life_section(runner, lives):
    if not lives:
        return []
    o = runner.options
    lines = ["", f"## Criterion 7 at the best points (the shell's half-life at μ_c* = "
             f"{o.shell_life:g} kT)", "",
             f"Each point rerun with a third ensemble: {o.shell_life_replicas} shelled replicas "
             f"at μ_c* up to {o.shell_life_steps:,} steps, stopped when half the shell is gone "
             "(OUT/points/NAME,life.h5; the pair is the point's own). Chosen: the "
             f"{o.shell_life_points} best points and every point that passes criteria 1-6.",
             ""]
    lines += criteria.table([p.pair for p in lives],
                            lambda pair: next(point_label(p) for p in lives if p.pair is pair))
    passing = [p for p in lives if p.pair.verdict == criteria.PASS]
    lines += ["", f"Points that pass all seven: {len(passing)}" +
              (": " + "; ".join(point_label(p) for p in passing) if passing else ".")]
    return lines


def agreement_table(points):
    """For every two criteria a and b: of the points where a passes, how many pass b too. A
    pair of criteria that never pass together at any point is a conflict the search measured
    (within its ranges)."""
    points = list(points)
    names = [n for n in criteria.NAMES
             if any(p.pair.result(n).status != criteria.UNDETERMINED for p in points)]
    passing = {n: {id(p) for p in points if p.pair.result(n).status == criteria.PASS}
               for n in names}
    lines = [f"Of {len(points)} points: row criterion passes at n points; each cell, how many "
             "of those n pass the column criterion too (criteria undetermined everywhere left "
             "out).", "",
             "| passes | n | " + " | ".join(criteria.TITLES[n] for n in names) + " |",
             "| --- | --- |" + " --- |" * len(names)]
    for a in names:
        cells = [str(len(passing[a] & passing[b])) for b in names]
        lines.append(f"| {criteria.TITLES[a]} | {len(passing[a])} | " + " | ".join(cells) + " |")
    return lines


def report(runner, crossings, wall, lives=()):
    o = runner.options
    lines = [f"# Ridge search: {os.path.basename(o.base_path)}", "",
             f"Command: `analysis/ridge_search.py {o.base_path} --out {o.out} --eps-interface="
             f"{','.join(exact(v) for v in o.eps_interface)} --mu-core="
             f"{','.join(exact(v) for v in o.mu_core)} --p-swap="
             f"{','.join(repr(v) for v in o.p_swap)} --mu-shell="
             f"{exact(o.mu_shell[0])},{exact(o.mu_shell[1])} --mu-shell-step "
             f"{exact(o.mu_shell_step)} --extend {o.extend} --bisections {o.bisections} "
             f"--target {exact(o.target)} --ranks {o.ranks}" +
             (f" --shell-life={exact(o.shell_life)} --shell-life-points {o.shell_life_points}"
              f" --shell-life-replicas {o.shell_life_replicas} --shell-life-steps "
              f"{o.shell_life_steps}" if math.isfinite(o.shell_life) else "") + "`", "",
             f"{len(runner.points)} points, {len(crossings)} crossings of ratio {o.target:g}; "
             f"wall time of this invocation {wall:.0f} s (points run now: "
             f"{sum(p.seconds for p in runner.points.values()):.0f} s).", "",
             "## Ridge points (the point of each crossing with the ratio closest to the target)",
             ""]
    lines += criteria.table([c.ridge.pair for c in crossings],
                            lambda pair: next(f"{point_label(c.ridge)} ({c.branch})"
                                              for c in crossings if c.ridge.pair is pair))
    lines += ["", "## Best points (most criteria passed; ties: ratio closest to the target)", ""]
    best = best_points(runner.points.values(), o.target)
    lines += criteria.table([p.pair for p in best],
                            lambda pair: next(f"{point_label(p)}: {passes(p)} passed"
                                              for p in best if p.pair is pair))
    lines += life_section(runner, list(lives))
    lines += ["", "## Which criteria hold together", ""] + agreement_table(runner.points.values())
    lines += ["", "## Every point", ""]
    ordered = sorted(runner.points.values(),
                     key=lambda p: (p.line.eps_interface, p.line.mu_core, p.line.p_swap,
                                    p.mu_shell))
    lines += criteria.table([p.pair for p in ordered],
                            lambda pair: next(point_label(p) for p in ordered if p.pair is pair))
    with open(os.path.join(o.out, "search.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    ridge = [{"branch": c.branch, "bracket": list(c.bracket), "file": c.ridge.path,
              **criteria.as_json([c.ridge.pair])[0]} for c in crossings]
    with open(os.path.join(o.out, "ridge.json"), "w", encoding="utf-8") as f:
        json.dump({"wall_seconds": wall, "points": len(runner.points), "ridge": ridge}, f,
                  indent=1, ensure_ascii=False)


STATUS_COLOURS = {criteria.PASS: "#31a354", criteria.FAIL: "#de2d26",
                  criteria.UNDETERMINED: "#bdbdbd"}


def draw_map(runner, crossings, path):
    """One row per ε_i, one column per criterion (and all of them): every point at (μ_s, μ_c)
    coloured by its verdict, the ridge points ringed; a criterion's region is where its points
    are green."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    o = runner.options
    columns = list(criteria.NAMES) + ["all"]
    rows = sorted({p.line.eps_interface for p in runner.points.values()})
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.6 * len(columns),
                                                               2.4 * len(rows) + 0.8),
                             squeeze=False, sharex=True, sharey=True, constrained_layout=True)
    ridge = {id(c.ridge) for c in crossings}
    markers = dict(zip(sorted(set(o.p_swap)), "os^Dv<>"))
    for i, eps in enumerate(rows):
        points = [p for p in runner.points.values() if p.line.eps_interface == eps]
        for j, name in enumerate(columns):
            ax = axes[i][j]
            for p in points:
                status = p.pair.verdict if name == "all" else p.pair.result(name).status
                ax.scatter(p.mu_shell, p.line.mu_core, s=70 if id(p) in ridge else 28,
                           c=STATUS_COLOURS[status], marker=markers[p.line.p_swap],
                           edgecolors="k" if id(p) in ridge else "none", linewidths=1.5)
            if i == 0:
                ax.set_title(criteria.TITLES.get(name, "all"), fontsize=9)
            if j == 0:
                ax.set_ylabel(f"ε_i = {eps:g}\nμ_c (kT)")
            if i == len(rows) - 1:
                ax.set_xlabel("μ_s (kT)")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=s)
               for s, c in STATUS_COLOURS.items()]
    handles.append(plt.Line2D([], [], marker="o", ls="", mfc="w", mec="k", mew=1.5,
                              label=f"ridge point (ratio closest to {o.target:g})"))
    if len(markers) > 1:
        handles += [plt.Line2D([], [], marker=m, ls="", color="k", label=f"p_swap {ps:.3g}")
                    for ps, m in markers.items()]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=len(handles), fontsize=9)
    fig.suptitle(f"Criteria at every point of the ridge search ({os.path.basename(o.base_path)}"
                 f"); each criterion's region: its green points", fontsize=11)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


# ----------------------------------------------------------------------------------------------


def prepare_output(options):
    """Creates OUT/ and OUT/points/; refuses a directory holding another search."""
    record = os.path.join(options.out, "search.json")
    if os.path.exists(record):
        with open(record, encoding="utf-8") as f:
            previous = json.load(f)
        mine = json.loads(json.dumps(options.record()))
        changed = [k for k in mine if k not in ("out", "ripen", "mpiexec", "ranks") and
                   previous.get(k) != mine[k]]
        if changed or previous.get("base_job") != options.base:
            what = changed[0] if changed else "the base job"
            raise Failure(f"--out {options.out}: holds a search with another {what}: use "
                          "another --out")
    os.makedirs(os.path.join(options.out, "points"), exist_ok=True)
    with open(record, "w", encoding="utf-8") as f:
        json.dump(dict(options.record(), base_job=options.base), f, indent=1)


def main(argv=None):
    started = time.time()
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
        prepare_output(options)
    except OSError as error:
        print(f"ridge_search: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2
    except Failure as error:
        print(f"ridge_search: {error}", file=sys.stderr)
        return 2
    runner = Runner(options)
    runner.log(f"search of {options.base_path}: {len(options.eps_interface)} x "
               f"{len(options.mu_core)} x {len(options.p_swap)} lines, target ratio "
               f"{options.target:g}")
    try:
        crossings = []
        for eps in options.eps_interface:
            for mu_core in options.mu_core:
                for p_swap in options.p_swap:
                    _, found = search_line(runner, Line(eps, mu_core, p_swap))
                    crossings += found
        lives = run_lives(runner) if math.isfinite(options.shell_life) else []
        wall = time.time() - started
        report(runner, crossings, wall, lives)
        draw_map(runner, crossings, os.path.join(options.out, "search_map.png"))
    except (PointFailure, rr.ResultFileError) as error:
        runner.log(f"stopped: {error}")
        print(f"ridge_search: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the output directory went away, the disk filled, ...
        runner.log(f"stopped: {error}")
        print(f"ridge_search: {error.filename or options.out}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        runner.log("interrupted: run the same command again to resume")
        print("ridge_search: interrupted: run the same command again to resume",
              file=sys.stderr)
        return 130
    runner.log(f"done: {len(runner.points)} points, {len(crossings)} ridge points, "
               f"{wall:.0f} s wall; {os.path.join(options.out, 'search.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
