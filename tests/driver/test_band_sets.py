"""A set with a shell band (docs/jobs.md, "shell_band") records the band it resolved, and its
N_shell stays inside it; the same set without the band leaves it.

At the weak couplings below the shell of the 16x16x4 particle (144 sites) dissolves within a few
steps, so a band is pressed hard against its floor:
  - an ensemble with a relative band {lose 0.2, gain 0.2} and its unbanded twin: the attributes
    shell_band, shell_min, shell_max hold the band as given and resolved against the stored
    initial N_shell (shell_sites); every sampled n_shell of the banded set lies inside, the twin's
    falls below the floor;
  - windows over q = 1..4 with an absolute band whose floor is the initial shell: the windows'
    construction grows the core into the shell, so it must give the shell its sites back; every
    window runs (a construction that left the band would fail the set);
  - exchanging windows on a shell-rung ladder with the same band: every sample's N_shell inside;
  - `ripen check` prints the resolved band, and a set without one has none of the attributes.
"""
import h5py
import numpy as np

import ripentest as rt

MODEL = {"eps_core": 2.0, "eps_shell": 1.5, "eps_interface": 1.5, "mu_core": -9.0,
         "mu_shell": -8.0}
RELATIVE = {"lose": 0.2, "gain": 0.2}
SHELL0 = 144  # the 40-site request on 16x16x4 with a 2-site shell: 48 core, 144 shell sites
ABSOLUTE = {"min": SHELL0, "max": SHELL0 + 20}

job = {
    "seed": 17,
    "lattice": {"lx": 16, "ly": 16, "lz": 4},
    "initial": {"core_sites": 40, "shell_thickness": 2},
    "model": MODEL,
    "shell_band": RELATIVE,
    "ensembles": [
        {"name": "banded", "replicas": 3, "max_steps": 300, "sample_interval": 5,
         "stop_at_doubling": False},
        {"name": "free", "shell_band": None, "replicas": 2, "max_steps": 300,
         "sample_interval": 5, "stop_at_doubling": False},
    ],
    "windows": [
        {"name": "grow", "shell_band": ABSOLUTE, "q_min": 1, "q_max": 4, "width": 2,
         "overlap": 1, "layer_sites": 3, "equilibration_steps": 10, "sampling_steps": 40,
         "model": {"mu_core": -4.0}},
    ],
    "exchange": [
        {"name": "ladder", "shell_band": ABSOLUTE, "q_min": 0, "q_max": 3, "width": 2,
         "overlap": 1, "layer_sites": 3, "equilibration_steps": 20, "interval": 20,
         "epochs": 3, "sample_interval": 2, "ladder": {"mu_shell": [-8.0, -7.0]},
         "model": {"mu_core": -4.0}},
    ],
}

directory = rt.workdir("band-sets")
path = rt.write_job(directory, "job.json", job)
check = rt.run(["check", path])
rt.check("shell band: N_shell in [116, 172] (lose 0.2, gain 0.2)" in check.stdout,
         f"ripen check does not print the resolved band:\n{check.stdout}")
rt.check(f"shell band: N_shell in [{SHELL0}, {SHELL0 + 20}] (min {SHELL0}, max {SHELL0 + 20})"
         in check.stdout, "ripen check does not print the absolute band")
out = f"{directory}/job.h5"
rt.run(["run", path, "--out", out, "--quiet"], ranks=2, cwd=directory)

with h5py.File(out, "r") as f:
    banded, free = f["ensembles/banded"], f["ensembles/free"]
    shell0 = banded["shell_sites"][()]
    rt.check((shell0 == SHELL0).all(), f"initial N_shell {shell0}, the test assumes {SHELL0}")
    lo, hi = SHELL0 - int(0.2 * SHELL0), SHELL0 + int(0.2 * SHELL0)
    rt.check(banded.attrs["shell_band"] == "lose 0.2, gain 0.2" and
             banded.attrs["shell_min"] == lo and banded.attrs["shell_max"] == hi,
             f"banded: attributes {banded.attrs.get('shell_band')} "
             f"[{banded.attrs.get('shell_min')}, {banded.attrs.get('shell_max')}], want [{lo}, {hi}]")
    rt.check("shell_min" in banded.attrs["units"], "the units do not name shell_min")
    rt.check(not any(k in free.attrs for k in ("shell_band", "shell_min", "shell_max")),
             "a set without a band carries band attributes")

    def samples(g):
        n = g["n_shell"][()]
        return n[n >= 0]

    inside = samples(banded)
    rt.check(inside.min() >= lo and inside.max() <= hi,
             f"banded: N_shell in [{inside.min()}, {inside.max()}], band [{lo}, {hi}]")
    rt.check((inside == lo).mean() > 0.5, "banded: the floor was not pressed (a weak test)")
    rt.check(samples(free).min() < lo, f"free: N_shell never fell below {lo}: the band held "
             "nothing back")
    print(f"ensemble: {inside.size} samples of N_shell inside [{lo}, {hi}] "
          f"({(inside == lo).mean():.0%} at the floor); without the band down to "
          f"{samples(free).min()}")

    grow = f["windows/grow"]
    rt.check(grow.attrs["shell_min"] == SHELL0 and grow.attrs["shell_max"] == SHELL0 + 20,
             "windows: resolved band")
    counts = grow["sample_count"][()]
    rt.check((counts == 40).all(), f"windows: sample counts {counts}")
    q = grow["q"][()]
    rt.check(q[q >= 0].max() >= 3, "windows: q never reached the windows that grow the core")

    ladder = f["exchange/ladder"]
    rows = ladder["samples"][()]
    n_shell = rows[:, :, 1][rows[:, :, 0] >= 0]
    rt.check(n_shell.size > 0 and n_shell.min() >= SHELL0 and n_shell.max() <= SHELL0 + 20,
             f"exchange: N_shell in [{n_shell.min()}, {n_shell.max()}]")
    print(f"windows: every window sampled; exchange: {n_shell.size} samples of N_shell inside "
          f"[{SHELL0}, {SHELL0 + 20}]")

rt.finish("test_band_sets")
