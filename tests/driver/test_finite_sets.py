"""Sets with a finite solution (docs/jobs.md, "reservoir") record it, and their lattices never
take more units than the job gave them.

A shell-free particle of 48 core sites in a strongly supersaturated solution (it grows by
hundreds of sites within a few hundred steps at a fixed mu):
  - with a reservoir of 20 core units, in each dynamics, N_core climbs to the total
    (48 + 20 = 68) and never past it; the attributes hold the units, the reference content, the
    total, the volume (default: the lattice's sites) and mu0 = mu - ln(N_ref / V);
  - the fixed-mu twin grows far beyond 68 (the reservoir is what stopped the others);
  - a shelled particle with core and shell reservoirs under identity moves: N_shell never beyond
    its own total either;
  - `ripen check` prints the solution and mu0.
"""
import math

import h5py
import numpy as np

import ripentest as rt

SOLUTION = {"core_units": 20}
MU, SITES = -9.0, 24 * 24 * 4

job = {
    "seed": 23,
    "lattice": {"lx": 24, "ly": 24, "lz": 4},
    "initial": {"core_sites": 60, "shell_thickness": 0},
    "model": {"eps_core": 3.0, "mu_core": MU},
    "reservoir": SOLUTION,
    "ensembles": [
        {"name": f"finite-{d}", "dynamics": d, "replicas": 2, "max_steps": 300,
         "sample_interval": 5, "stop_at_doubling": False}
        for d in ("random-sequential", "checkerboard", "rejection-free")
    ] + [
        {"name": "fixed", "reservoir": None, "replicas": 2, "max_steps": 300,
         "sample_interval": 5, "stop_at_doubling": False},
        {"name": "both", "shell_thickness": 1, "dynamics": "rejection-free", "replicas": 2,
         "max_steps": 300, "sample_interval": 5, "stop_at_doubling": False,
         "reservoir": {"core_units": 20, "shell_units": 10, "shell_reference_units": 25,
                       "volume": 1000},
         "model": {"move_set": "identity", "eps_shell": 2.0, "mu_shell": -7.0}},
    ],
}

directory = rt.workdir("finite-sets")
path = rt.write_job(directory, "job.json", job)
check = rt.run(["check", path])
mu0 = MU - math.log(20 / SITES)
rt.check(f"finite solution: core 20 (reference 20), volume {SITES}; mu0_core {mu0:.4g} kT"
         in check.stdout, f"ripen check does not print the finite solution:\n{check.stdout}")
out = f"{directory}/job.h5"
rt.run(["run", path, "--out", out, "--quiet"], ranks=2, cwd=directory)

with h5py.File(out, "r") as f:
    for d in ("random-sequential", "checkerboard", "rejection-free"):
        g = f[f"ensembles/finite-{d}"]
        a = g.attrs
        total = int(g["core_sites"][0]) + 20
        rt.check(a["reservoir_core_units"] == 20 and a["reservoir_core_reference"] == 20 and
                 a["reservoir_core_total"] == total and a["reservoir_volume"] == SITES and
                 abs(a["reservoir_mu0_core"] - mu0) < 1e-12,
                 f"{d}: attributes {dict((k, a[k]) for k in a if k.startswith('reservoir'))}")
        n = g["n_core"][()]
        n = n[n >= 0]
        rt.check(n.max() == total, f"{d}: N_core reached {n.max()}, the total is {total}")
        print(f"{d}: N_core up to {n.max()} = the particle's {total - 20} + the solution's 20")
    fixed = f["ensembles/fixed"]
    rt.check(not any(k.startswith("reservoir") for k in fixed.attrs),
             "a fixed-mu set carries reservoir attributes")
    rt.check(fixed["n_core"][()].max() > 200, "fixed mu: the particle did not outgrow the "
             "finite solution's total (a weak test)")
    both = f["ensembles/both"]
    a = both.attrs
    core_total, shell_total = int(a["reservoir_core_total"]), int(a["reservoir_shell_total"])
    rt.check(core_total == int(both["core_sites"][0]) + 20 and
             shell_total == int(both["shell_sites"][0]) + 10 and
             a["reservoir_shell_reference"] == 25 and a["reservoir_volume"] == 1000 and
             abs(a["reservoir_mu0_shell"] - (-7.0 - math.log(25 / 1000))) < 1e-12,
             "both: attributes")
    nc, ns = both["n_core"][()], both["n_shell"][()]
    ok = nc >= 0
    rt.check(nc[ok].max() <= core_total and ns[ok].max() <= shell_total,
             f"both: N_core up to {nc[ok].max()} of {core_total}, N_shell up to {ns[ok].max()} "
             f"of {shell_total}")
    print(f"both: N_core <= {nc[ok].max()} of {core_total}, N_shell <= {ns[ok].max()} of "
          f"{shell_total}")

rt.finish("test_finite_sets")
