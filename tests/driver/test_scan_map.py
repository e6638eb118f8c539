"""analysis/scan_map.py on a small two-key sweep (tied keys included): the map and the table are
written, every grid point appears, and each ratio equals the ratio of Kaplan-Meier medians
recomputed here independently from the HDF5 datasets."""
import os
import subprocess
import sys

import h5py
import numpy as np

import ripentest as rt

directory = rt.workdir("scan-map")
job = {"seed": 12, "lattice": {"lx": 24, "ly": 24, "lz": 4},
       "ensembles": [{"name": kind, "shell_thickness": shell, "replicas": 6, "max_steps": 3000,
                      "sample_interval": 100,
                      "sweep": {"model.mu_shell": [-20, -22],
                                "model.eps_shell,model.eps_interface": [6.7, 7.4]}}
                     for kind, shell in (("shelled", 2), ("free", 0))]}
path = rt.write_job(directory, "scan.json", job)
out = os.path.join(directory, "scan.h5")
rt.run(["run", path, "--out", out, "--quiet"], ranks=2, cwd=directory)
figures = os.path.join(directory, "figures")
result = subprocess.run([sys.executable, os.path.join(rt.SOURCE, "analysis", "scan_map.py"), out,
                         "-o", figures], capture_output=True, text=True, timeout=600)
rt.check(result.returncode == 0, f"scan_map failed: {result.stderr}")
rt.check(os.path.getsize(os.path.join(figures, "scan_map.png")) > 10000, "no map")
with open(os.path.join(figures, "scan_map.png"), "rb") as f:
    rt.check(f.read(8) == b"\x89PNG\r\n\x1a\n", "scan_map.png is not a PNG")


def km_median(times, events):
    """Smallest event time where the product-limit survival reaches 1/2 (inf if never)."""
    order = np.lexsort((~events, times))  # events before censorings at equal times
    times, events = times[order], events[order]
    survival, at_risk = 1.0, len(times)
    for t, e in zip(times, events):
        if e:
            survival *= 1 - 1 / at_risk
            if survival <= 0.5:
                return t
        at_risk -= 1
    return np.inf


with open(os.path.join(figures, "scan.md")) as f:
    rows = [line for line in f if line.startswith("| -") and "---" not in line]
rt.check(len(rows) == 4, f"expected 4 grid points in scan.md, got {len(rows)}")
with h5py.File(out, "r") as f:
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        mu, eps, ratio_text = float(cells[0]), float(cells[1]), cells[4].split()[0]
        medians = []
        for kind in ("shelled", "free"):
            g = f[f"ensembles/{kind}@mu_shell={mu:g},eps_shell+eps_interface={eps:g}"]
            censored = g["censored"][()] == 1
            times = np.where(censored, g["steps_run"][()], g["tau"][()]).astype(float)
            medians.append(km_median(times, ~censored))
        if np.isfinite(medians[0]) and np.isfinite(medians[1]):
            rt.check(abs(float(ratio_text) - medians[0] / medians[1]) < 0.051,
                     f"mu {mu} eps {eps}: table says {ratio_text}, recomputed "
                     f"{medians[0] / medians[1]:.2f}")
        print(f"mu_shell {mu:g}, eps {eps:g}: ratio {ratio_text} (recomputed "
              f"{medians[0] / medians[1]:.2f})")
rt.finish("test_scan_map")
