"""Forward flux sampling where its assumptions strain: the rate's 95% interval resamples the
stage-0 walkers, so it is given only when at least two walkers crossed lambda_0, said to be rough
below ten, and a set whose walkers never cross says why it has no rate; the walkers' time leaves
out the excursions that reached the target (walker_excursion_time), and the first passage the
set predicts is 1/k + transit.

The interval cases rewrite walker_crossings of a real result file and let `ripen analyze`
recompute the rate (the bootstrap reads the walkers' crossing counts), so each case is exact, not
a matter of luck in a run."""
import math
import os
import shutil

import h5py
import numpy as np

import ripentest as rt

directory = rt.workdir("ffs-limits")
job = rt.quick_job(windows=False, ffs=True)
del job["ensembles"]
# A second set whose interfaces no walker reaches within max_walker_steps.
job["ffs"].append(dict(job["ffs"][0], name="never", interfaces=[30, 40], target=50,
                       max_walker_steps=40))
rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "ffs.h5")
result = rt.run(["run", "job.json", "--out", out, "--bootstrap", "200"], cwd=directory)

with h5py.File(out, "r") as f:
    g, never = f["ffs/ffs"], f["ffs/never"]
    rate = dict(g["rate"].attrs)
    resets, excursions = g["walker_resets"][()], g["walker_excursion_time"][()]
    rt.check(((excursions > 0) == (resets > 0)).all(),
             f"excursion time {excursions} where the walkers reached the target {resets} times")
    rt.check(math.isclose(rate["passage"], 1 / rate["rate"] + rate["transit"], rel_tol=1e-12),
             f"passage {rate['passage']} is not 1/k + transit")
    rt.check(rate["passage_lower"] <= rate["passage"] <= rate["passage_upper"],
             f"passage {rate['passage']} outside its interval")
    rt.check(int(rate["walkers_crossing"]) == int((g["walker_crossings"][()] > 0).sum()),
             "walkers_crossing differs from the walkers' crossings")
    rt.check("rough" in rate["warnings"], f"4 walkers, no 'rough' warning: {rate['warnings']}")
    nr = dict(never["rate"].attrs)
    rt.check(nr["determined"] == 0 and np.isnan(nr["rate_lower"]),
             f"a set without crossings has a rate: {nr}")
    rt.check("4 walker(s) stopped at max_walker_steps" in nr["warnings"] and
             "(4 of 4 made none)" in nr["warnings"] and "no 95% interval" in nr["warnings"],
             f"a set without crossings: warnings {nr['warnings']!r}")
rt.check("ffs never" in result.stdout and "no rate" in result.stdout,
         f"the summary does not say the set has no rate:\n{result.stdout}")
rt.check("nan" not in result.stdout.lower(), f"the summary prints NaN:\n{result.stdout}")


def reanalysed(crossings):
    """The file with the walkers' crossing counts replaced, analysed again: (attributes, stdout)."""
    path = os.path.join(directory, "edited.h5")
    shutil.copy(out, path)
    with h5py.File(path, "r+") as f:
        f["ffs/ffs/walker_crossings"][...] = crossings
    analysed = rt.run(["analyze", path, "--bootstrap", "200"], cwd=directory)
    with h5py.File(path, "r") as f:
        return dict(f["ffs/ffs/rate"].attrs), analysed.stdout


original = h5py.File(out, "r")["ffs/ffs/walker_crossings"][()]
one = np.where(np.arange(len(original)) == 0, original, 0)
attrs, stdout = reanalysed(one)
rt.check(np.isnan(attrs["rate_lower"]) and np.isnan(attrs["passage_upper"]),
         f"one walker with crossings: interval [{attrs['rate_lower']}, {attrs['rate_upper']}]")
rt.check("no 95% interval: 1 walker(s) crossed" in attrs["warnings"],
         f"one walker with crossings: warnings {attrs['warnings']!r}")
rt.check("no 95% interval" in stdout and "nan" not in stdout.lower(),
         f"one walker with crossings: `ripen analyze` prints\n{stdout}")
two = np.where(np.arange(len(original)) < 2, original, 0)
attrs, _ = reanalysed(two)
rt.check(attrs["rate_lower"] < attrs["rate_upper"] and "resamples only 2 walkers" in
         attrs["warnings"], f"two walkers with crossings: [{attrs['rate_lower']}, "
         f"{attrs['rate_upper']}], warnings {attrs['warnings']!r}")
rt.finish("test_ffs_limits")
