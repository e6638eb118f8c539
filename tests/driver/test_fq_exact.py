"""F(q) end to end against exact enumeration: on a 3x2x2 lattice (12 sites, 3^12 = 531441
configurations, the multigraph of docs/model.md) with weak couplings, umbrella windows run by
`ripen run` and combined by WHAM and by MBAR give F(q) equal to the exact free energy
F(q) = -ln sum_{N_core = N0 + q} exp(-E) within the bootstrap errors; so does the brute-force mode
(one window over the whole range, the paper's method), and WHAM and MBAR agree. Tilted windows
("tilt": true) sampling 3 kT off the model's mu_core, rejection-free, tune their own mu_core and
give the same exact F(q) once WHAM and MBAR remove their tilts.

Bound: |F_est(q) - F_exact(q)| < 4 sigma(q) at every q (F relative to q = 0, sigma the bootstrap
standard deviation, which fe's calibration test shows is well calibrated). With ~13 correlated q
values per profile, a correct estimator fails this with probability < 1e-3 per profile."""
import os

import h5py
import numpy as np

import ripentest as rt
from exact_lattice import LX, LY, LZ, exact_free_energy

MODEL = {"eps_core": 0.6, "eps_shell": 0.4, "eps_interface": 0.3, "mu_core": -1.5,
         "mu_shell": -1.2, "p_swap": 0.25}


TILT_OFFSET = -3.0  # the tilted set samples at mu_core + this, and must tune it back


def window_set(name, mode, dynamics):
    entry = {"name": name, "shell_thickness": 0, "q_min": -2, "q_max": 10,
             "layer_sites": 4, "equilibration_steps": 200, "sampling_steps": 60000,
             "sample_interval": 2, "model": MODEL, "dynamics": dynamics}
    if mode == "tilt":
        entry.update({"tilt": True, "equilibration_steps": 900,
                      "model": dict(MODEL, mu_core=MODEL["mu_core"] + TILT_OFFSET)})
        mode = "windows"
    if mode == "windows":
        entry.update({"width": 4, "overlap": 2})
    else:
        entry.update({"mode": "brute-force", "sampling_steps": 240000})
    return entry


job = {"seed": 77, "lattice": {"lx": LX, "ly": LY, "lz": LZ}, "initial": {"core_sites": 2},
       "windows": [window_set("windows-rs", "windows", "random-sequential"),
                   window_set("windows-cb", "windows", "checkerboard"),
                   window_set("brute", "brute-force", "random-sequential"),
                   window_set("windows-tilt", "tilt", "rejection-free")]}
directory = rt.workdir("fq-exact")
path = rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "fq.h5")
rt.run(["run", path, "--out", out, "--quiet", "--bootstrap", "100"], ranks=2, cwd=directory)

with h5py.File(out, "r") as f:
    n0 = int(f["windows/windows-rs/core_sites"][0])
    q_exact, f_exact = exact_free_energy(MODEL, n0, -2, 10)
    for name in ("windows-rs", "windows-cb", "brute", "windows-tilt"):
        mu_windows = f[f"windows/{name}/mu_core"][()]
        if name == "windows-tilt":
            # Tuned away from the set's mu_core, towards the model's (where the windows are
            # centred on this weakly coupled lattice), window by window.
            rt.check(np.all(mu_windows > MODEL["mu_core"] + TILT_OFFSET + 1.0),
                     f"{name}: windows not tuned: mu_core = {np.round(mu_windows, 2)}")
            print(f"{name}: tuned mu_core per window {np.round(mu_windows, 2)}")
        else:
            rt.check(np.all(mu_windows == MODEL["mu_core"]),
                     f"{name}: untilted windows report mu_core {mu_windows}")
        g = f[f"windows/{name}/fq"]
        rt.check("error" not in g.attrs, f"{name}: F(q) not determined: {g.attrs.get('error')}")
        q = g["q"][()]
        rt.check(np.array_equal(q, q_exact), f"{name}: q grid {q}")
        # F_sampling is at the sampling mu_core (min 0); compare differences from q = 0.
        for method in ("wham", "mbar"):
            profile = g["F_sampling"][()] if method == "wham" else None
            if method == "mbar":  # F_mbar is at mu*: undo the deterministic reweighting
                dmu = g.attrs["mu_star"] - g.attrs["mu_sampling"]
                profile = g["F_mbar"][()] + dmu * (q - 0)
            # At the set's sampling mu_core; F(q; mu) = F(q; mu') - (mu - mu') q.
            profile = profile + (g.attrs["mu_sampling"] - MODEL["mu_core"]) * q
            profile = profile - profile[q == 0][0]
            sigma = g[f"sigma_{method}"][()]
            z = np.abs(profile - f_exact)[q != 0] / sigma[q != 0]
            rt.check(np.all(z < 4), f"{name} {method}: |F - F_exact| / sigma = {np.round(z, 2)}")
            print(f"{name:11s} {method}: max |F - exact| = "
                  f"{np.max(np.abs(profile - f_exact)):.3f} kT, max z = {z.max():.2f}, "
                  f"median sigma {np.median(sigma[q != 0]):.3f} kT")
        wham = g["F_wham"][()]
        mbar = g["F_mbar"][()]
        rt.check(np.max(np.abs(wham - mbar)) < 1e-6, f"{name}: WHAM and MBAR differ")
        rt.check(g.attrs["wham_converged"] == 1 and g.attrs["mbar_converged"] == 1,
                 f"{name}: a solver did not converge")
rt.finish("test_fq_exact")
