"""Nothing lost: a multi-rank run killed with SIGKILL at random moments (the whole job, or a single
rank of it) and resumed, possibly on another number of ranks, ends with datasets bitwise
identical to an uninterrupted run, wherever the kills land (the assertions hold for any moment);
SIGTERM (what SLURM sends before the time limit), sent while a task runs (the test hook
RIPEN_TEST_HOLD holds it there), makes every rank checkpoint and stop with a clear message; a
finished result is never overwritten and a resume of a different job is refused.

Usage: test_resume.py [trials] (default 3; tests/kill_trials.sh runs many more). Kill moments come
from a fixed-seed generator, so a failing trial can be replayed.
"""
import glob
import os
import random
import signal
import subprocess
import sys
import time

import ripentest as rt

TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
rng = random.Random(20261125)


def long_job():
    """Replicas that run to the step limit (no early stop), plus windows: a few seconds on 2
    ranks, so that kills land in every phase (journal creation, tasks, the final write)."""
    job = rt.quick_job(seed=9, replicas=4, steps=40000, relay=True, ffs=True, exchange=True,
                       particles=True, shell_loss=True)
    for e in job["ensembles"]:
        e["stop_at_doubling"] = False
        e["sample_interval"] = 200
    for e in job["ensembles"][2:]:  # the tracked particles and the defect: a second each
        e["max_steps"] = 10000
    job["windows"][0]["sampling_steps"] = 40000
    # Tilted windows tuning for half their run, so kills also land inside a tuning round.
    job["windows"][1].update({"equilibration_steps": 20000, "sampling_steps": 20000})
    # Stages of 3 tasks: kills land inside a stage and between stages.
    job["relay"][0]["steps"] = 8000
    # Epochs long enough that kills land inside them and between them.
    job["exchange"][0].update({"interval": 3000, "sample_interval": 100})
    return job


def gone(process):
    """Whether the ranks of a killed run are gone; SIGKILL takes effect when each rank is next
    scheduled, so on a loaded machine this waits for it (up to a minute, for a hung rank)."""
    deadline = time.monotonic() + 60
    while rt.rank_processes(process) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not rt.rank_processes(process)


def finish_run(directory, job, out, ranks):
    """Resumes (or starts, if the kill came before the journal existed) until complete."""
    args = ["run", job, "--out", out, "--quiet", "--bootstrap", "20", "--checkpoint-seconds",
            "0.2"]
    if os.path.exists(out):
        return
    if os.path.exists(out + ".journal"):
        args.append("--resume")
    rt.run(args, ranks=ranks, cwd=directory)


directory = rt.workdir("resume")
job = rt.write_job(directory, "job.json", long_job())
reference = os.path.join(directory, "reference.h5")
started = time.time()
rt.run(["run", job, "--out", reference, "--quiet", "--bootstrap", "20"], ranks=2, cwd=directory)
duration = time.time() - started
print(f"uninterrupted run: {duration:.1f} s")

# SIGKILL trials: the whole job, at random moments, one to three times per trial; sometimes one
# rank only (mpiexec then takes the rest of the job down).
for trial in range(TRIALS):
    out = os.path.join(directory, f"trial{trial}.h5")
    args = ["run", job, "--out", out, "--quiet", "--bootstrap", "20", "--checkpoint-seconds",
            "0.2"]
    kills = []
    for attempt in range(rng.randint(1, 3)):
        resume = os.path.exists(out + ".journal")
        process = rt.start(args + (["--resume"] if resume else []), ranks=rng.choice([2, 3]),
                           cwd=directory)
        moment = rng.uniform(0.05, 0.9) * duration
        time.sleep(moment)
        ranks = rt.rank_processes(process)
        single = rng.random() < 0.3 and len(ranks) > 0
        if single:
            os.kill(rng.choice(ranks), signal.SIGKILL)
            try:  # mpiexec notices and tears the job down
                process.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                rt.check(False, f"trial {trial}: job hung after one rank was killed")
        rt.kill_group(process, signal.SIGKILL)
        process.communicate()
        rt.check(gone(process), f"trial {trial}: ranks survived the kill")
        kills.append(f"{'one rank' if single else 'job'} at {moment:.2f} s")
        # Never a half-written result: the output is either absent or a complete file.
        if os.path.exists(out):
            with rt.h5py.File(out, "r") as f:
                rt.check(f.attrs["complete"] == 1, f"trial {trial}: incomplete result file")
            break
    finish_run(directory, job, out, ranks=rng.choice([1, 2, 4]))
    differences = rt.same_results(reference, out)
    rt.check(not differences, f"trial {trial} ({', '.join(kills)}): {differences[:5]}")
    rt.check_relay(out)
    print(f"trial {trial}: killed {', '.join(kills)}; resumed: "
          f"{'identical' if not differences else 'DIFFERENT'}")

# SIGTERM: checkpoint, clear message, exit != 0; then resume to the identical result. The signal
# is sent while task 0 runs: the rank running it holds after its first step (RIPEN_TEST_HOLD)
# until the signal, which mpiexec forwards to the ranks; no moment is guessed.
term_job = rt.quick_job(seed=4, replicas=2, steps=40000, windows=False)
for e in term_job["ensembles"]:
    e["stop_at_doubling"] = False
    e["sample_interval"] = 100
term_job = rt.write_job(directory, "term.json", term_job)
term_reference = os.path.join(directory, "term-reference.h5")
rt.run(["run", term_job, "--out", term_reference, "--quiet"], ranks=2, cwd=directory)
out = os.path.join(directory, "term.h5")
process, lines, stdout = rt.start_held(["run", term_job, "--out", out, "--checkpoint-seconds",
                                        "1000"], "task 0", directory, ranks=2)
rt.check(any("test hold at task 0" in line for line in lines), "task 0 never held")
process.send_signal(signal.SIGTERM)  # to mpiexec, which forwards it to the ranks
result = rt.finish_held(process, lines, stdout)
rt.check(result.returncode != 0, "SIGTERM: exit status 0")
rt.check("stopped by SIGTERM" in result.stderr and "--resume" in result.stderr,
         f"SIGTERM message missing: {result.stderr[-400:]}")
rt.check(not os.path.exists(out), "SIGTERM: a result file was written")
checkpoints = glob.glob(out + ".journal/task-*.ckpt")
rt.check(os.path.exists(out + ".journal/task-00000000.ckpt"),
         "SIGTERM: task 0, running, left no checkpoint (checkpoint interval was 1000 s)")
print(f"SIGTERM: {len(checkpoints)} checkpoint(s); message: "
      f"{result.stderr.strip().splitlines()[-1]}")
rt.run(["run", term_job, "--out", out, "--resume", "--quiet"], ranks=2, cwd=directory)
differences = rt.same_results(term_reference, out)
rt.check(not differences, f"SIGTERM + resume: {differences[:5]}")

# A finished result is never overwritten; --resume of a different job is refused. The journal of
# an interrupted run: one killed while task 0 holds (the journal exists by then).
result = rt.run(["run", term_job, "--out", out], ranks=1, cwd=directory, check_ok=False)
rt.check(result.returncode == 2 and "exists" in result.stderr, "overwrote a finished result")
other = rt.write_job(directory, "other.json", dict(long_job(), seed=10))
interrupted, lines, stdout = rt.start_held(["run", term_job, "--out", "mixed.h5", "--quiet"],
                                           "task 0", directory)
rt.check(any("test hold at task 0" in line for line in lines), "the run to interrupt ended early")
rt.kill_group(interrupted, signal.SIGKILL)
rt.finish_held(interrupted, lines, stdout)
result = rt.run(["run", other, "--out", "mixed.h5", "--resume"], ranks=1, cwd=directory,
                check_ok=False)
rt.check(result.returncode == 2 and "different job" in result.stderr,
         f"resumed a different job: {result.stderr}")
rt.finish("test_resume")
