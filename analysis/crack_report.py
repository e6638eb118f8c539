#!/usr/bin/python3
"""The shell defect's free energy and the shell's lifetime in a result file (issue 19): the
"Crack free energy" section of results.md and fig5d-crack.png, for analysis/figures.py.

* beta F_crack = -ln P(exposed core > 0) over each shelled ensemble's basin and F(c) = -ln P(c)
  (ripen's /ensembles/<name>/crack_free_energy, by brute force: the paper's method), with the
  transmission kappa, beside ln(tau_s / tau_f): k_shelled ~ k_free P(crack) kappa says
  ln ratio ~ beta F_crack - ln kappa;
* the Kaplan-Meier median time to lose a quarter and a half of the shell for every ensemble that
  timed it (shell_passage), e.g. at the run's mu_c (censored at doubling) and at the balance
  mu_c*.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402


def _ci(triple, digits=2):
    value, low, high = triple
    if math.isnan(value):
        return "—"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _steps(x):
    return "∞" if math.isinf(x) else "—" if math.isnan(x) else f"{x:,.0f}"


def read(path):
    """(crack free energies, shell lives): name -> rr.CrackFreeEnergy of every shelled ensemble
    that has one, name -> [rr.ShellLife at 0.25 and 0.5] of every ensemble timing its shell."""
    with rr.open_results(path) as f:
        ensembles = {n: rr.read_ensemble(f, n) for n in rr.ensemble_names(f)}
        crack = {n: rr.read_crack_free_energy(f, n) for n, e in ensembles.items()
                 if e.shell_thickness > 0}
        lives = {n: [rr.shell_life(f, e, level) for level in (0.25, 0.5)]
                 for n, e in ensembles.items()}
    return ({n: c for n, c in crack.items() if c is not None},
            {n: v for n, v in lives.items() if v[0] is not None})


def crack_table(crack, results):
    lines = ["| ensemble | replicas (took off) | basin samples | P(c > 0) | βF_crack (kT) | "
             "βF_crack, replicas that took off (kT) | κ (grew / basin cracks) | mean crack "
             "length (MC steps) |", "|" + " --- |" * 8]
    for name, c in crack.items():
        lines.append(f"| {name} | {c.replicas} ({c.took_off}) | {c.samples:,} | "
                     f"{_ci(c.p_crack, 3)} | {_ci(c.f_crack)} | {_ci(c.f_crack_onset)} | "
                     f"{_ci(c.kappa)} ({c.grew} / {c.episodes}) | {_steps(c.mean_duration)} |")
    return lines


def term_by_term(crack, results):
    """ln(tau_s / tau_f) beside beta F_crack - ln kappa for the figures' pair."""
    c = crack.get(results.shelled)
    if c is None or results.shell_free is None:
        return []
    value, (low, high) = rr.median_ratio(results.summaries[results.shelled],
                                         results.summaries[results.shell_free])
    if not (value > 0 and math.isfinite(value)):
        return []
    kappa = c.kappa[0]
    predicted = c.f_crack[0] - math.log(kappa) if kappa > 0 else math.inf
    return ["", f"Term by term (k_shelled ≈ k_free · P(crack) · κ, so ln ratio ≈ βF_crack − ln κ): "
            f"ln(τ_s/τ_f) = {math.log(value):.2f} [{math.log(low):.2f}, "
            f"{math.log(high) if math.isfinite(high) else math.inf:.2f}] against βF_crack = "
            f"{c.f_crack[0]:.2f} and βF_crack − ln κ = {predicted:.2f} kT "
            f"(`{results.shelled}` / `{results.shell_free}`)."]


def life_table(lives, results):
    lines = ["| ensemble | μ_c (kT) | replicas | lost 25%: KM median (MC steps) [95% CI] | "
             "lost 50%: KM median [95% CI] | kept half to the end (censored) | step limit |",
             "|" + " --- |" * 7]
    for name, (quarter, half) in lives.items():
        cells = [f"{_steps(x.median)} [{_steps(x.median_ci[0])}, {_steps(x.median_ci[1])}]"
                 for x in (quarter, half)]
        limit = f"{half.horizon:,.0f}" + (" (or the doubling)" if
                                          results.summaries[name].ensemble.attrs.get(
                                              "stop_at_doubling", 1) else "")
        lines.append(f"| {name} | {half.mu_core:g} | {len(half.times)} | {cells[0]} | "
                     f"{cells[1]} | {int((~half.events).sum())} | {limit} |")
    return lines


def ddf_table(results):
    """ΔΔF‡ at μ_c* and at the shelled ensemble's μ_c, when the file determines both F(q)s."""
    if results.shelled is None:
        return []
    mu_run = float(results.summaries[results.shelled].ensemble.attrs.get("mu_core", math.nan))
    rows = ddf_rows(results.windows, mu_run)
    if rows is None:
        return []
    lines = [f"ΔΔF‡ = ΔF‡_shelled − ΔF‡_shell-free (mean [95% t interval] of the repeats; at "
             f"each F(q)'s own balance point and both reweighted to the run's μ_c = {mu_run:g}):",
             "", "| at | ΔF‡ shelled (kT) | ΔF‡ shell-free (kT) | ΔΔF‡ (kT) | repeats |",
             "|" + " --- |" * 5]
    for label, r in rows.items():
        cells = [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, (lo, hi) in
                 (r["shelled"], r["free"], r["ddf"])]
        lines.append(f"| {label} | {' | '.join(cells)} | {r['counts'][0]} + {r['counts'][1]} |")
    return lines + [""]


def section(results):
    """results.md's section (figures.Results)."""
    crack, lives = read(results.path)
    ddf = ddf_table(results)
    if not crack and not lives and not ddf:
        return []
    lines = ["## Crack free energy (brute force) and the shell's lifetime", ""]
    if crack:
        lines += ["Over each shelled ensemble's basin (its samples up to the onset of growth; "
                  "every sample of a replica that never took off), the exposed core c "
                  "(core sites touching the solution) is histogrammed: βF_crack = −ln P(c > 0), "
                  "F(c) = −ln P(c) (fig5d-crack.png); κ is the fraction of the crack episodes "
                  "begun in the basin after which the core had grown. 95% percentile bootstrap "
                  "over replicas (ripen's, keyed by the job's seed). As fine as sample_interval.",
                  ""] + crack_table(crack, results) + term_by_term(crack, results) + [""]
    if lives:
        lines += ["The shell's lifetime (ensembles with `shell_passage`): the exact first time "
                  "N_shell fell to 3/4 and to 1/2 of its initial value, right-censored at the "
                  "replica's last step (at its doubling for an ensemble that stops there); "
                  "Kaplan-Meier medians with bootstrap 95% CIs. Criterion 7 (analysis/"
                  "criteria.py) compares the half-life at the balance μ_c* with 10 shelled "
                  "doubling times.", ""] + life_table(lives, results) + [""]
    return lines + ddf


def figure(results, out):
    """fig5d-crack.png (written through `out`, a cli.Outputs): F(c) with its 95% band for the
    figures' shelled ensemble (or, if it has none, every shelled ensemble that has one); returns
    False (and draws nothing) if there is none."""
    import matplotlib.pyplot as plt
    with cli.reading(results.path):
        crack, _ = read(results.path)
    if results.shelled in crack:
        crack = {results.shelled: crack[results.shelled]}
    if not crack:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for (name, c), colour in zip(crack.items(), ("#d95f02", "#7570b3", "#1b9e77", "#e7298a")):
        finite = np.isfinite(c.F)
        ax.fill_between(c.c[finite], c.F_lower[finite],
                        np.where(np.isfinite(c.F_upper), c.F_upper, np.nan)[finite],
                        color=colour, alpha=0.2)
        ax.plot(c.c[finite], c.F[finite], "o-", color=colour, ms=3.5, lw=1.6,
                label=f"{name}: βF_crack = {_ci(c.f_crack)} kT, κ = {c.kappa[0]:.2f}")
    ax.set_xlabel("exposed core c (core sites with a solution neighbour)")
    ax.set_ylabel("F(c) = −ln P(c) over the basin (kT)")
    ax.set_title("The shell defect by brute force (band: 95% bootstrap over replicas)",
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    out.save_figure(fig, "fig5d-crack.png")
    return True


# ----------------------------------------------------------------------------------------------
# ΔΔF‡ of the shelled and shell-free F(q), at each one's balance μ_c* and at another μ_c

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228}  # Student's t, 97.5% point, by degrees of freedom


def barrier_at(ws, mu=None):
    """(barrier, sigma) of a determined window or exchange set's F(q) (its primary estimate,
    WindowSet.method): at its own balance point when `mu` is None, else reweighted to the core
    chemical potential `mu`, F_mu(q) = F(q) - (mu - mu*)(q - q_start), the barrier being
    max F_mu - F_mu(q_start) over one layer q_start..q_end. sigma is the bootstrap sd of F(q_top)
    - F(q_start) at the maximum (its argmax taken as known)."""
    fq = ws.fq
    if mu is None:
        return ws.barrier, ws.barrier_sigma
    q = np.asarray(fq["q"])
    F = np.asarray(fq[f"F_{ws.method}"], float)
    sigma = np.asarray(fq[f"sigma_{ws.method}"], float)
    start, end = int(fq["q_start"]), int(fq["q_end"])
    layer = (q >= start) & (q <= end)
    shifted = F - (mu - float(fq["mu_star"])) * (q - start)
    shifted = shifted - shifted[q == start][0]
    top = int(np.argmax(np.where(layer, shifted, -np.inf)))
    return float(shifted[top]), float(sigma[top])


def mean_ci(values):
    """Mean and the 95% t interval of independent repeats (NaN with fewer than two)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()) if len(v) else math.nan, (math.nan, math.nan)
    half = T_975.get(len(v) - 1, 1.96) * float(np.std(v, ddof=1)) / math.sqrt(len(v))
    return float(v.mean()), (float(v.mean()) - half, float(v.mean()) + half)


def ddf_rows(windows, mu_run):
    """ΔΔF‡ = ΔF‡_shelled - ΔF‡_shell-free from the first F(q) of each kind that its repeats
    determine (criteria.determined: all determined, no shell warning, within 0.5 kT): at each
    F(q)'s own μ_c* and at `mu_run`, each as mean [95% t interval of the repeats], the
    difference's interval from the two kinds' standard errors combined (Welch, conservative df =
    the smaller n - 1). None unless both kinds are determined."""
    import criteria
    groups = [sets for sets in criteria.repeat_groups(windows).values()
              if criteria.determined(sets)]
    kinds = {True: next((g for g in groups if g[0].shell_thickness > 0), None),
             False: next((g for g in groups if g[0].shell_thickness == 0), None)}
    if kinds[True] is None or kinds[False] is None:
        return None
    out = {}
    for label, mu in (("μ_c*", None), ("run μ_c", mu_run)):
        barriers = {k: [barrier_at(ws, mu)[0] for ws in sets] for k, sets in kinds.items()}
        means = {k: mean_ci(v) for k, v in barriers.items()}
        n = min(len(v) for v in barriers.values())
        se = math.hypot(*(np.std(v, ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan
                          for v in barriers.values()))
        diff = means[True][0] - means[False][0]
        half = T_975.get(n - 1, 1.96) * se if n > 1 else math.nan
        out[label] = dict(shelled=means[True], free=means[False], ddf=(diff, (diff - half,
                                                                          diff + half)),
                          counts=(len(barriers[True]), len(barriers[False])))
    return out


# ----------------------------------------------------------------------------------------------
# F(q, c): the exposed core along q, from the windows' samples


def window_samples(path):
    """{base name: (q, c)} pooled over the repeats of every shelled window set that recorded the
    exposed core (older files did not), its shell kept (no shell warning)."""
    out = {}
    with rr.open_results(path) as f:
        for ws in rr.fq_sets(f):
            g = f[f"{ws.kind}/{ws.name}"]
            if ws.kind != "windows" or ws.shell_thickness == 0 or "exposed_core" not in g or \
                    ws.shell_lost:
                continue
            base = rr.repeat_base(ws.name) or ws.name
            counts = g["sample_count"][()]
            q = np.concatenate([g["q"][k, :counts[k]] for k in range(len(counts))])
            c = np.concatenate([g["exposed_core"][k, :counts[k]] for k in range(len(counts))])
            old = out.get(base, (np.zeros(0, int), np.zeros(0, int)))
            out[base] = (np.concatenate([old[0], q]), np.concatenate([old[1], c]))
    return out


def conditional_map(q, c, c_max):
    """-ln P(c | q) on the q values sampled and c = 0 .. c_max (larger c pooled into c_max):
    exact from any window that samples q, since a window's bias (hard walls and a tilt in q)
    and the shell band are the same for every c at that q."""
    qs = np.arange(q.min(), q.max() + 1)
    table = np.full((len(qs), c_max + 1), np.inf)
    for i, value in enumerate(qs):
        at = np.minimum(c[q == value], c_max)
        if len(at) == 0:
            continue
        p = np.bincount(at, minlength=c_max + 1) / len(at)
        with np.errstate(divide="ignore"):
            table[i] = -np.log(p)
    return qs, table


def qc_figure(results, out, c_max=24):
    """fig5d-qc.png (through `out`): F(c | q) = -ln P(c | q) of the exposed core at each q for
    every shelled window set (repeats pooled); returns False if there is none."""
    import matplotlib.pyplot as plt
    with cli.reading(results.path):
        sets = window_samples(results.path)
    if not sets:
        return False
    fig, axes = plt.subplots(1, len(sets), figsize=(6.2 * len(sets), 4.6), squeeze=False)
    for ax, (base, (q, c)) in zip(axes[0], sets.items()):
        qs, table = conditional_map(q, c, c_max)
        shown = np.where(np.isfinite(table), table, np.nan).T
        image = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis_r",
                          extent=(qs[0] - 0.5, qs[-1] + 0.5, -0.5, c_max + 0.5),
                          vmin=0, vmax=min(np.nanmax(shown), 12) if np.isfinite(shown).any()
                          else 12)
        fig.colorbar(image, ax=ax, label="F(c | q) = −ln P(c | q) (kT)")
        crack = [float(np.mean(c[q == v] > 0)) if np.any(q == v) else np.nan for v in qs]
        ax.set_title(f"{base}: P(c > 0 | q) from {min(crack):.3f} to {max(crack):.3f}",
                     fontsize=10)
        ax.set_xlabel("q = N_core − N_core(0) (sites)")
        ax.set_ylabel(f"exposed core c (sites; ≥ {c_max} pooled)")
    fig.suptitle("The crack along q: F(c | q) from the window samples\n(repeats pooled; "
                 "white: never sampled)", fontsize=10)
    fig.tight_layout()
    out.save_figure(fig, "fig5d-qc.png")
    return True


# ----------------------------------------------------------------------------------------------
# The numbers docs/reproduction.md and README quote (analysis/doc_numbers.py; issue 19)


def _verdict(result):
    return {"pass": "pass", "fail": "fail"}.get(result.status.lower(), "undetermined")


def _percent_span(values):
    values = sorted(100 * v for v in values)
    return f"{values[0]:.1f}–{values[-1]:.1f}%" if values else "—"


def window_numbers(name, f, sets):
    """One kind's F(q) over its repeats (window sets differing only in `repeat`): the barrier
    (mean [95% t interval]) if the repeats determine it (criteria.determined), the repeats'
    barriers, how many are determined and how many carry a shell warning, and what the windows
    sampled: P(c > 0), N_shell (median per window, and at the band's lower wall), changes of
    q."""
    import criteria
    done = [ws for ws in sets if ws.fq is not None and "barrier_wham" in ws.fq]
    out = {f"{name}.repeats": ", ".join(f"{ws.barrier:.2f}" for ws in done) or "none",
           f"{name}.determined": f"{len(done)} of {len(sets)}",
           f"{name}.warned": f"{sum(ws.shell_lost for ws in sets)} of {len(sets)}",
           f"{name}.mu_star": (f"{min(ws.fq['mu_star'] for ws in done):.2f} … "
                               f"{max(ws.fq['mu_star'] for ws in done):.2f}") if done else "—"}
    if criteria.determined(sets):
        mean, (low, high) = mean_ci([ws.barrier for ws in sets])
        out[f"{name}.barrier"] = f"{mean:.2f} [{low:.2f}, {high:.2f}]"
    else:
        out[f"{name}.barrier"] = "not determined"
    crack, shell, wall, changes, stuck = [], [], [], [], 0
    for ws in sets:
        g = f[f"windows/{ws.name}"]
        if "exposed_core" not in g:
            continue
        counts = g["sample_count"][()]
        lowest = g.attrs.get("shell_min", -1)
        for k, n in enumerate(counts):
            s = g["n_shell"][k, :n]
            crack.append(float(np.mean(g["exposed_core"][k, :n] > 0)))
            shell.append(float(np.median(s)))
            wall.append(float(np.mean(s == lowest)))
            changes.append(int(np.count_nonzero(np.diff(g["q"][k, :n]))))
        stuck += any(c == 0 for c in changes[-len(counts):])
    if crack:
        out.update({f"{name}.crack": _percent_span(crack),
                    f"{name}.shell": f"{min(shell):.0f}–{max(shell):.0f}",
                    f"{name}.at_wall": f"{100 * max(wall):.0f}%",
                    f"{name}.changes": f"{min(changes):,}–{max(changes):,}",
                    f"{name}.stuck": f"{stuck} of {len(sets)}"})
    return out


def numbers(path, prefixes, summaries):
    """Every number of a crack job's file (jobs/crack-*.json) that the docs quote, by name:
    `prefixes` maps each shelled ensemble of a pair to the prefix of its numbers, `summaries`
    holds the pairs' rr.Summary by ensemble name (the caller's: the bootstrap is the costly
    part). Per pair: βF_crack, P(c > 0), κ, βF_crack − ln κ, the shell's half-life at the
    balance μ_c* and its ratio to τ_s, every criterion (cell and verdict); per pair's system:
    the F(q) of each kind over its repeats (window_numbers) and ΔΔF‡ at μ_c* and at the run's
    μ_c."""
    import criteria
    out = {}
    with cli.reading(path), rr.open_results(path) as f:
        data = criteria.read_file(f)
        pairs = {p.shelled: p for p in criteria.evaluate_data(path, data, summaries)}
        windows = data.windows
        groups = criteria.repeat_groups(windows)
        for shelled, prefix in prefixes.items():
            pair = pairs[shelled]
            c = data.crack_fe[shelled]
            kappa = c.kappa[0]
            out.update({f"{prefix}.f_crack": _ci(c.f_crack),
                        f"{prefix}.f_crack_onset": _ci(c.f_crack_onset),
                        f"{prefix}.p_crack": _ci(c.p_crack, 3),
                        f"{prefix}.kappa": _ci(c.kappa),
                        f"{prefix}.episodes": f"{c.grew} of {c.episodes}",
                        f"{prefix}.took_off": f"{c.took_off} of {c.replicas}",
                        f"{prefix}.f_crack_kappa": f"{c.f_crack[0] - math.log(kappa):.2f}"
                        if kappa > 0 else "—"})
            for r in pair.results:
                out[f"{prefix}.criteria.{r.name}"] = criteria.cell(r)
                out[f"{prefix}.verdict.{r.name}"] = _verdict(r)
            out[f"{prefix}.verdict"] = pair.verdict.lower()
            attrs = data.ensembles[shelled].attrs
            life = criteria.balance_life(data, attrs)
            tau_s = summaries[shelled].median
            if life is not None:
                balance = next(n for n, v in data.lives.items() if v is life)
                quarter = rr.shell_life(f, data.ensembles[balance], 0.25)
                kept = int((~life.events).sum())
                out.update({f"{prefix}.balance.mu_core": f"{life.mu_core:g}",
                            f"{prefix}.balance.replicas": str(len(life.times)),
                            f"{prefix}.balance.kept": f"{kept} of {len(life.times)}",
                            f"{prefix}.balance.horizon": f"{life.horizon:,.0f}",
                            f"{prefix}.balance.half_life": _life(life),
                            f"{prefix}.balance.quarter_life": _life(quarter),
                            f"{prefix}.balance.tau": (f"> {life.horizon / tau_s:.1f}"
                                                      if math.isinf(life.median) else
                                                      f"{life.median / tau_s:.1f}"),
                            f"{prefix}.balance.f_crack": _ci(data.crack_fe[balance].f_crack)})
            lost = criteria.lost_before_onset(data, shelled)
            out[f"{prefix}.onset_shell"] = f"{100 * lost:+.0f}%" if math.isfinite(lost) else "—"
            system = criteria.system_of(attrs, ignore=("mu_core",))
            for kind, thick in (("shelled", attrs.get("shell_thickness")), ("free", 0)):
                sets = next((g for (base, t), g in groups.items() if t == thick and
                             criteria.system_of(g[0].attrs, ignore=("mu_core",)) == system),
                            None)
                if sets:
                    out.update(window_numbers(f"{prefix}.fq.{kind}", f, sets))
            rows = ddf_rows([ws for ws in windows if criteria.system_of(
                ws.attrs, ignore=("mu_core",)) == system], float(attrs.get("mu_core")))
            for label, key in (("μ_c*", "star"), ("run μ_c", "run")):
                if rows is None:
                    out[f"{prefix}.ddf.{key}"] = "not determined"
                else:
                    m, (low, high) = rows[label]["ddf"]
                    out[f"{prefix}.ddf.{key}"] = f"{m:.2f} [{low:.2f}, {high:.2f}]"
    return out


def _life(life):
    if life is None:
        return "—"
    if math.isinf(life.median):
        return f"> {life.horizon:,.0f}"
    return f"{life.median:,.0f} [{_steps(life.median_ci[0])}, {_steps(life.median_ci[1])}]"


def band_exchange_numbers(prefix, path):
    """jobs/fq-band-exchange.json: per rung, N_shell over rung 0's samples (the physical rung)
    and the share of the weaker rungs' samples at the band's lower wall; the swaps accepted
    between rungs 0 and 1."""
    with cli.reading(path), rr.open_results(path) as f:
        g = f["exchange/shelled-x"]
        K, R = int(g.attrs["nwindows"]), int(g.attrs["nrungs"])
        states = np.arange(len(g["sample_count"])) % (K * R)
        counts = g["sample_count"][()]
        shell = [np.concatenate([g["samples"][t, :counts[t], 1] for t in range(len(counts))
                                 if states[t] // K == r]) for r in range(R)]
        lowest = int(g.attrs["shell_min"])
        s = g["statistics"]
        first, other = s["pair_first"][()], s["pair_other"][()]
        rungs01 = (first // K == 0) & (other // K == 1)
        tried, accepted = int(s["attempts"][()][rungs01].sum()), int(s["accepts"][()][rungs01].sum())
    return {f"{prefix}.rung0.shell": f"{shell[0].min()}–{shell[0].max()}",
            f"{prefix}.weaker.at_wall": _percent_span([float(np.mean(x == lowest))
                                                       for x in shell[1:]]),
            f"{prefix}.shell_min": str(lowest),
            f"{prefix}.rungs01": f"{accepted} of {tried}"}
