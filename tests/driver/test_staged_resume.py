"""Resume of staged sets after a discarded record (issue 21, class 3): ripen's advice for a corrupt
finished record is "discard it (rm) and resume". For every staged kind (relay, ffs, exchange) a
record of an early stage is corrupted while the later stages' records are kept; the resume refuses
with that advice; following it, ONE resume must finish (the stages whose tasks are all kept are
passed over to the next stage with work left) with datasets identical to an uninterrupted run.
Records of two stages apart are discarded at once (the stage between, complete, must be
passed over), and for exchange also one record of an early epoch (the issue's case).

No timing: the journal is the complete one a finished run keeps (--keep-journal), damaged by hand.
"""
import glob
import os
import re
import shutil

import h5py

import ripentest as rt

RUN = ["--quiet", "--bootstrap", "2"]  # the resampled errors matter not here, only identity


def stage_tasks(path, kind, name):
    """Task ids of each stage of set kind/name, from the result file's attributes."""
    with h5py.File(path, "r") as f:
        g = f[f"{kind}/{name}"]
        first = int(g.attrs["first_task"])
        if kind == "relay":
            per, stages = int(g.attrs["tasks"]), int(g.attrs["stages"])
            return [list(range(first + s * per, first + (s + 1) * per)) for s in range(stages)]
        if kind == "exchange":
            per = int(g.attrs["nwindows"]) * int(g.attrs["nrungs"])
            epochs = int(g.attrs["epochs"])
            return [list(range(first + e * per, first + (e + 1) * per)) for e in range(epochs + 1)]
        walkers, shots = int(g.attrs["walkers"]), int(g.attrs["shot_tasks"])
        # walkers in stage 0, then shot_tasks per interface after the first, to the set's end
        last = first + int((f["tasks/kind"][()] == f["tasks/kind"][first]).sum())
        return [list(range(first, first + walkers))] + \
            [list(range(at, at + shots)) for at in range(first + walkers, last, shots)]


def corrupt(record):
    with open(record, "r+b") as f:
        f.seek(40)
        byte = f.read(1)
        f.seek(40)
        f.write(bytes([byte[0] ^ 0xFF]))


def discard_and_resume(label, job, out, reference, directory, victims):
    """Damages the records of `victims`, checks the refusal and its advice, follows the advice
    and resumes once."""
    journal = out + ".journal"
    for task in victims:
        corrupt(os.path.join(journal, f"task-{task:08d}.done"))
    refused = rt.run(["run", job, "--out", out, "--resume"] + RUN, cwd=directory, check_ok=False)
    advice = re.search(r"discard its record \(rm '([^']+)'\) and resume", refused.stderr)
    rt.check(refused.returncode == 2 and advice is not None,
             f"{label}: a corrupt record was not refused with the advice to discard it: "
             f"{refused.returncode} {refused.stderr.strip()[-300:]}")
    for task in victims:  # follow the advice (it names one record at a time)
        os.remove(os.path.join(journal, f"task-{task:08d}.done"))
    resumed = rt.run(["run", job, "--out", out, "--resume"] + RUN, cwd=directory, check_ok=False)
    rt.check(resumed.returncode == 0, f"{label}: one resume after discarding records failed "
             f"({resumed.returncode}): {resumed.stderr.strip()[-400:]}")
    if resumed.returncode == 0:
        differences = rt.same_results(reference, out)
        rt.check(not differences, f"{label}: resumed result differs: {differences[:5]}")
    print(f"{label}: discarded tasks {victims}; one resume: exit {resumed.returncode}")


directory = rt.workdir("staged-resume")
job = rt.write_job(directory, "job.json", rt.quick_job(replicas=1, windows=False, relay=True,
                                                       ffs=True, exchange=True))
reference = os.path.join(directory, "reference.h5")
rt.run(["run", job, "--out", reference] + RUN, ranks=2, cwd=directory)
kept = os.path.join(directory, "kept.h5")
rt.run(["run", job, "--out", kept, "--keep-journal"] + RUN, cwd=directory)
os.remove(kept)
os.remove(os.path.join(kept + ".journal", "lock"))

for kind, name in (("relay", "relay"), ("ffs", "ffs"), ("exchange", "exchange")):
    stages = stage_tasks(reference, kind, name)
    rt.check(len(stages) >= 3, f"{kind}: want at least 3 stages, got {len(stages)}")
    # Stage 0 and stage 2: stage 1, complete, lies between (what one resume failed to pass over);
    # for exchange also the case, one record of an early epoch.
    cases = [(f"{kind}, records of stages 0 and 2", [stages[0][-1], stages[2][0]])]
    if kind == "exchange":
        cases.append((f"{kind}, one record of epoch 1", [stages[1][0]]))
    for label, victims in cases:
        out = os.path.join(directory, f"{kind}-{victims[0]}.h5")
        shutil.copytree(kept + ".journal", out + ".journal")
        discard_and_resume(label, job, out, reference, directory, victims)
        rt.check(not glob.glob(out + ".journal"), f"{label}: journal left after success")
        if kind == "relay" and os.path.exists(out):
            rt.check_relay(out)
rt.finish("test_staged_resume")
