#!/usr/bin/python3
"""Sets whose shell leaves its initial size warn (issue 19, src/driver/shell_check.h).

A small lattice (16x16x2, a 14-site core in a one-site shell of 24 sites): window sets at
mu_shell = -40 kT, where the shell dissolves within a few steps (a shell site with at most 5
bonds of 1-6.7 kT cannot pay for mu_shell), against the same windows with the shell conserved
(canonical: N_shell constant, so no warning is possible); an exchange set and a forward flux set
that lose the shell; a shell-free window set at mu_shell = -5 where shell grows from the
solution. Each warning must be in the file, the run's summary and stderr, results.md and
fig5d's data, and the verdict must be the one the stored N_shell samples give (recomputed here
from the rule in shell_check.h, independently of the C code).
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ripentest as rt  # noqa: E402

sys.path.insert(0, os.path.join(rt.SOURCE, "analysis"))
import figures  # noqa: E402
import ripen_results as rr  # noqa: E402

WINDOWS = {"q_min": -2, "q_max": 4, "width": 3, "overlap": 1, "layer_sites": 2,
           "equilibration_steps": 200, "sampling_steps": 400, "sample_interval": 4}
WEAK = {"eps_core": 1.0, "mu_core": -4.0}


def job():
    return {
        "seed": 3, "lattice": {"lx": 16, "ly": 16, "lz": 2}, "dynamics": "rejection-free",
        "initial": {"core_sites": 14, "shell_thickness": 1},
        "windows": [
            dict(WINDOWS, name="dissolves", model=dict(WEAK, mu_shell=-40.0)),
            dict(WINDOWS, name="keeps", model=dict(WEAK, mu_shell=-20.0,
                                                   shell_ensemble="canonical")),
            dict(WINDOWS, name="free-grows", shell_thickness=0, model=dict(WEAK, mu_shell=-5.0)),
            dict(WINDOWS, name="tolerant", shell_tolerance=2.0, model=dict(WEAK, mu_shell=-40.0)),
        ],
        "exchange": [{"name": "x-dissolves", "q_min": -2, "q_max": 4, "width": 3, "overlap": 1,
                      "layer_sites": 2, "equilibration_steps": 90, "interval": 60, "epochs": 4,
                      "sample_interval": 5, "model": dict(WEAK, mu_shell=-40.0)}],
        "ffs": [{"name": "ffs-dissolves", "basin": 0, "interfaces": [2, 4], "target": 6,
                 "crossings": 12, "walkers": 4, "successes": 6, "shot_tasks": 2,
                 "model": {"eps_core": 1.0, "mu_core": -3.0, "mu_shell": -40.0}}],
    }


def verdict(groups, initial, tolerance):
    """shell_check.h's rule: a group left when more than half of its samples lie outside
    N_shell(0) +- floor(tolerance x N_shell(0)) (no shell at all for a shell-free particle); the
    set warns if any group left."""
    room = int(np.floor(tolerance * initial + 1e-9))
    lo, hi = max(initial - room, 0), initial + room
    left = [np.sum((g < lo) | (g > hi)) * 2 > len(g) for g in groups]
    return any(left), sum(left)


def main():
    d = rt.workdir("shell-check")
    path = rt.write_job(d, "job.json", job())
    run = rt.run(["run", path, "--out", os.path.join(d, "out.h5")], cwd=d)
    out = os.path.join(d, "out.h5")
    with h5py.File(out, "r") as f:
        for name, expected in (("dissolves", "shell lost"), ("keeps", ""),
                               ("free-grows", "shell grew"), ("tolerant", "")):
            g = f[f"windows/{name}"]
            warning = g["fq"].attrs["shell_warning"]
            warning = warning.decode() if isinstance(warning, bytes) else warning
            count = g["sample_count"][()]
            shell = [g["n_shell"][k, :count[k]] for k in range(len(count))]
            initial = int(g["shell_sites"][0])
            warns, left = verdict(shell, initial, g.attrs["shell_tolerance"])
            rt.check(warning.startswith(expected) and bool(warning) == bool(expected),
                     f"windows {name}: shell warning {warning!r}, expected {expected!r}")
            rt.check(warns == bool(expected), f"windows {name}: the stored N_shell samples "
                     f"give {'a' if warns else 'no'} warning ({left} windows left the band), "
                     f"ripen {'warned' if warning else 'did not'}")
            if expected:
                rt.check(f"{left} of {len(count)} windows" in warning,
                         f"windows {name}: {left} windows left the band, the warning says "
                         f"{warning!r}")
                rt.check(warning in run.stdout and f"windows {name}: {warning}" in run.stderr,
                         f"windows {name}: the warning is not in the summary and on stderr")
            exposed = g["exposed_core"][0, :count[0]]
            rt.check(len(exposed) == count[0] and (exposed >= 0).all(),
                     f"windows {name}: exposed core samples {exposed[:5]}")
        keeps = f["windows/keeps"]
        # constant within each window (the drive into window [2, 4] turned 2 shell sites into
        # core before the window started)
        rt.check(all(len(set(keeps["n_shell"][k, :keeps["sample_count"][k]])) == 1
                     for k in range(3)), "windows keeps: a canonical shell changed N_shell")
        for group, attr in (("exchange/x-dissolves/fq", "shell_warning"),
                            ("ffs/ffs-dissolves/rate", "shell_warning")):
            text = f[group].attrs[attr]
            rt.check(str(text).startswith("shell lost"), f"{group}: shell warning {text!r}")
        configs = f["ffs/ffs-dissolves/config_count"][()]
        shells = f["ffs/ffs-dissolves/config_shell"][()]
        rt.check(all((shells[k, :configs[k]] < 21).sum() * 2 > 0 for k in range(len(configs))
                     if configs[k]), "ffs: no stored configuration below the band")
    # the analysis: results.md marks the sets, fig5d never pairs them
    figures_dir = os.path.join(d, "figures")
    rt.check(figures.main([out, "-o", figures_dir]) == 0, "figures.py failed")
    with open(os.path.join(figures_dir, "results.md")) as f:
        text = f.read()
    rt.check("**shell lost**" in text and "**shell grew**" in text,
             "results.md does not mark the sets whose shell left")
    with rr.open_results(out) as f:
        sets = rr.fq_sets(f)
    shelled, free = figures.shelled_and_free(sets)
    rt.check(all(not ws.shell_lost for ws in shelled + free) and
             {ws.name for ws in shelled} <= {"tolerant", "keeps"},
             f"fig5d would pair {[ws.name for ws in shelled + free]}")
    rt.finish("test_shell_check")


if __name__ == "__main__":
    main()
