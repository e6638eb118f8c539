"""The same job gives bitwise-identical datasets at -np 1, 2, 3 and 4 (everything outside
/provenance, which records when, where and how the run happened), staged sets included."""
import os

import h5py

import ripentest as rt

directory = rt.workdir("ranks")
job = rt.write_job(directory, "job.json", rt.quick_job(replicas=3, relay=True, ffs=True))
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
    rt.run(["run", few, "--out", outs[-1], "--quiet"], ranks=ranks, cwd=directory, timeout=120)
differences = rt.same_results(outs[0], outs[1])
rt.check(not differences, f"2 tasks: np 1 vs np 4: {differences[:5]}")
print(f"2 tasks on 4 ranks: {'identical to np 1' if not differences else 'DIFFERENT'}")
rt.finish("test_ranks")
