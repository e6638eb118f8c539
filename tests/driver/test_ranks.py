"""The same job gives bitwise-identical datasets at -np 1, 2, 3 and 4 (everything outside
/provenance, which records when, where and how the run happened), staged sets included."""
import os

import h5py

import ripentest as rt

directory = rt.workdir("ranks")
job = rt.write_job(directory, "job.json", rt.quick_job(replicas=3, relay=True, ffs=True,
                                                       exchange=True, particles=True, shell_loss=True))
files = {}
for ranks in (1, 2, 3, 4):
    out = os.path.join(directory, f"np{ranks}.h5")
    rt.run(["run", job, "--out", out, "--quiet", "--bootstrap", "20"], ranks=ranks,
           cwd=directory)
    files[ranks] = out
    rt.check(not os.path.exists(out + ".journal"), f"np {ranks}: journal left behind")
    rt.check(not os.path.exists(out + ".partial"), f"np {ranks}: partial file left behind")

with h5py.File(files[1], "r") as f:
    rt.check(f.attrs["complete"] == 1, "file not marked complete")
    rt.check(f["tasks/done"][()].all(), "not every task marked done")
    rt.check(f["provenance"].attrs["mpi_ranks"] == 1, "mpi_ranks provenance")
    for name in ("shelled", "shell-free"):
        g = f["ensembles/" + name]
        lengths = g["series_length"][()]
        # Sized by the data: as many samples as the longest replica took (at most the job's).
        rt.check(g["n_core"].shape == (3, lengths.max()) and lengths.max() <= 1500 // 25 + 1,
                 f"{name}: series shape {g['n_core'].shape}, lengths {lengths}")
        rt.check((lengths >= 1).all(), f"{name}: empty series")
        # Censoring is consistent with tau: censored exactly when tau = -1.
        rt.check(((g["tau"][()] < 0) == (g["censored"][()] == 1)).all(), f"{name}: censored flag")
    rt.check("fq" in f["windows/free-fq"] and "F_wham" in f["windows/free-fq/fq"],
             "F(q) missing")
rt.check_relay(files[1])

for ranks in (2, 3, 4):
    differences = rt.same_results(files[1], files[ranks])
    rt.check(not differences, f"np 1 vs np {ranks}: {differences[:5]}")
    print(f"np 1 vs np {ranks}: {'identical' if not differences else 'DIFFERENT'}")
# More ranks than tasks: 2 tasks on 4 ranks (two ranks get nothing to do and must still finish).
few = rt.write_job(directory, "few.json", rt.quick_job(replicas=1, windows=False))
outs = []
for ranks in (1, 4):
    outs.append(os.path.join(directory, f"few{ranks}.h5"))
    rt.run(["run", few, "--out", outs[-1], "--quiet"], ranks=ranks, cwd=directory, timeout=600)
differences = rt.same_results(outs[0], outs[1])
rt.check(not differences, f"2 tasks: np 1 vs np 4: {differences[:5]}")
print(f"2 tasks on 4 ranks: {'identical to np 1' if not differences else 'DIFFERENT'}")

# The job key "threads": checkerboard on a lattice whose colour classes are big enough for 2
# threads to share (64x64x4) gives the same results as 1 thread; only the job text and the
# recorded thread count differ.
threaded = {}
for threads in (1, 2):
    spec = rt.quick_job(seed=8, replicas=2, steps=300, windows=False, lattice=64)
    spec.update({"dynamics": "checkerboard", "threads": threads})
    spec["ensembles"][0]["snapshot_interval"] = 100
    path = rt.write_job(directory, f"threads{threads}.json", spec)
    threaded[threads] = os.path.join(directory, f"threads{threads}.h5")
    rt.run(["run", path, "--out", threaded[threads], "--quiet"], ranks=1, cwd=directory,
           env={"OMP_WAIT_POLICY": "PASSIVE"})
with h5py.File(threaded[2], "r") as f:
    rt.check(f["ensembles/shelled"].attrs["threads"] == 2, "threads not recorded")
differences = [d for d in rt.same_results(threaded[1], threaded[2])
               if not d.startswith(("/job/", "/@job_hash")) and "@threads" not in d]
rt.check(not differences, f"threads 1 vs 2: {differences[:5]}")
print(f"threads 1 vs 2: {'identical' if not differences else 'DIFFERENT'}")
rt.finish("test_ranks")
