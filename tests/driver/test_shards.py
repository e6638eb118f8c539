"""SLURM arrays without SLURM: `--shard I/N` (and the SLURM_ARRAY_* variables) split a job into
deterministic subsets (task id modulo N; a staged set goes whole to the shard of its first task);
`ripen merge` combines them into a file whose datasets equal a single run's, bit for bit. Merge
refuses missing, repeated or foreign shards."""
import os
import shutil

import h5py

import ripentest as rt

directory = rt.workdir("shards")
job = rt.write_job(directory, "job.json", rt.quick_job(replicas=3, relay=True, ffs=True,
                                                       exchange=True, particles=True, shell_loss=True))
single = os.path.join(directory, "single.h5")
rt.run(["run", job, "--out", single, "--quiet", "--bootstrap", "20"], ranks=2, cwd=directory)

# Shard 0 by flag, shard 1 through SLURM's variables (array 4-6: task 5 is index 1), shard 2 by
# flag on one rank.
rt.run(["run", job, "--shard", "0/3", "--quiet"], ranks=2, cwd=directory)
rt.run(["run", job, "--quiet"], ranks=2, cwd=directory,
       env={"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4",
            "SLURM_ARRAY_TASK_COUNT": "3"})
rt.run(["run", job, "--shard", "2/3", "--quiet"], ranks=1, cwd=directory)
shards = [os.path.join(directory, f"job.shard-{i}-of-3.h5") for i in range(3)]
with h5py.File(single, "r") as f:
    # staged sets (relay, ffs, exchange) go whole to the shard of their first task
    firsts = {}
    for group in ("relay/relay", "ffs/ffs", "exchange/exchange"):
        first = int(f[group].attrs["first_task"])
        firsts[(int(f["tasks/kind"][first]), int(f["tasks/group"][first]))] = first
    shard_key = [firsts.get((int(k), int(g)), t) for t, (k, g) in
                 enumerate(zip(f["tasks/kind"][()], f["tasks/group"][()]))]
for i, path in enumerate(shards):
    rt.check(os.path.exists(path), f"shard {i} missing: {path}")
    with h5py.File(path, "r") as f:
        done = f["tasks/done"][()]
        rt.check(all(done[t] == (shard_key[t] % 3 == i) for t in range(len(done))),
                 f"shard {i} holds the wrong tasks: {done}")
        rt.check(f.attrs["shard_index"] == i and f.attrs["shard_count"] == 3,
                 f"shard {i}: shard attributes")
        rt.check(f.attrs["complete"] == 0, f"shard {i} claims to be complete")

merged = os.path.join(directory, "merged.h5")
result = rt.run(["merge", merged, "--bootstrap", "20"] + shards, ranks=2, cwd=directory)
differences = rt.same_results(single, merged)
rt.check(not differences, f"merged differs from the single run: {differences[:5]}")
print(f"merge of 3 shards vs single run: {'identical' if not differences else 'DIFFERENT'}")
rt.check_relay(merged)


def merge_fails(arguments, needle, what):
    result = rt.run(["merge"] + arguments, cwd=directory, check_ok=False)
    rt.check(result.returncode == 2 and needle in result.stderr,
             f"{what}: exit {result.returncode}, stderr {result.stderr.strip()[:300]}")
    lines = [l for l in result.stderr.splitlines() if l.startswith("ripen:")]
    rt.check(len(lines) == 1, f"{what}: not one error line: {lines}")


merge_fails([os.path.join(directory, "m1.h5")] + shards[:2], "in none of the", "missing shard")
merge_fails([os.path.join(directory, "m2.h5"), shards[0], shards[0], shards[1], shards[2]],
            "is in both", "repeated shard")
other = rt.write_job(directory, "other.json", rt.quick_job(seed=6, replicas=3))
rt.run(["run", other, "--shard", "0/3", "--quiet"], ranks=1, cwd=directory)
merge_fails([os.path.join(directory, "m3.h5"), os.path.join(directory, "other.shard-0-of-3.h5"),
             shards[1], shards[2]], "different jobs", "shards of different jobs")
merge_fails([merged] + shards, "exists", "existing output")
truncated = os.path.join(directory, "truncated.h5")
with open(shards[0], "rb") as f, open(truncated, "wb") as g:
    g.write(f.read()[:5000])
merge_fails([os.path.join(directory, "m4.h5"), truncated, shards[1], shards[2]], "truncated.h5",
            "truncated shard")
foreign = os.path.join(directory, "foreign.h5")
with h5py.File(foreign, "w") as f:
    f["x"] = [1, 2, 3]
merge_fails([os.path.join(directory, "m5.h5"), foreign], "not a ripen result file",
            "foreign HDF5 file")
# A shard whose relay set is damaged, merged on 2 ranks: whichever rank reads the damaged tasks,
# the one error line names the file.
for k, shard in enumerate(shards):
    with h5py.File(shard, "r") as f:
        holds_relay = "relay" in f and f["tasks/done"][int(f["relay/relay"].attrs["first_task"])]
    if holds_relay:
        damaged = os.path.join(directory, "damaged.h5")
        shutil.copy(shard, damaged)
        with h5py.File(damaged, "a") as f:
            del f["relay/relay"]
        result = rt.run(["merge", os.path.join(directory, "m6.h5")] + shards[:k] + [damaged] +
                        shards[k + 1:], ranks=2, cwd=directory, check_ok=False)
        lines = [l for l in result.stderr.splitlines() if l.startswith("ripen:")]
        rt.check(result.returncode != 0 and len(lines) == 1 and
                 "damaged.h5: damaged ripen file: no group /relay/relay" in lines[0],
                 f"damaged shard on 2 ranks: exit {result.returncode}, {lines}")
for name in ("m1.h5", "m2.h5", "m3.h5", "m4.h5", "m5.h5", "m6.h5"):
    rt.check(not os.path.exists(os.path.join(directory, name)),
             f"a failed merge left {name} behind")

# --out with --shard, as --help promises: each shard writes OUTPUT.shard-I-of-N.h5 (OUTPUT
# without .h5), so shards given the same --out never collide, --force or not; --continue finds
# its own shard finished (and an --out naming the shard's own file is taken as it is).
help_text = rt.run(["run", "--help"], cwd=directory).stdout
rt.check("OUTPUT.shard-I-of-N.h5" in help_text, "run --help does not say where a shard writes")
same = os.path.join(directory, "same.h5")
for i in range(3):
    rt.run(["run", job, "--out", same, "--shard", f"{i}/3", "--quiet"], cwd=directory)
named = [os.path.join(directory, f"same.shard-{i}-of-3.h5") for i in range(3)]
rt.check(all(os.path.exists(n) for n in named) and not os.path.exists(same),
         f"--out with --shard: {sorted(os.listdir(directory))}")
with open(named[1], "rb") as f:
    before = f.read()
rt.run(["run", job, "--out", same, "--shard", "0/3", "--quiet", "--force"], cwd=directory)
with open(named[1], "rb") as f:
    rt.check(f.read() == before, "--force on shard 0 changed shard 1's file")
result = rt.run(["run", job, "--out", named[2], "--shard", "2/3", "--continue"], cwd=directory)
rt.check("already holds this job's finished result" in result.stdout,
         f"--continue on a finished shard: {result.stdout.strip()[:200]}")
merged_again = os.path.join(directory, "merged-again.h5")
rt.run(["merge", merged_again, "--bootstrap", "20"] + named, cwd=directory)
differences = rt.same_results(single, merged_again)
rt.check(not differences, f"shards from one --out, merged: {differences[:5]}")
rt.finish("test_shards")
