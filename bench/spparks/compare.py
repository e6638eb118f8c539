#!/usr/bin/python3
"""Runs issue 22's comparison in one session: ripen's rejection-free kernel (`ripen bench`)
against SPPARKS' tree solver (potts 3, T = 0.5, ripen's lattice and prisms), interleaved
in rounds, and prints us per event and their ratio per round, with the load average.

SPPARKS' cost is the CPU time of its event loops (MPI_Wtime stamps included) over its events:
loop_cpu.so (LD_PRELOAD) prints the thread's CPU time at each MPI_Barrier, and a loop is the
interval between the two barriers before its "Loop time" line (summed too, as wall time).
ripen's is the CPU time per event that `ripen bench` prints (this thread's CPU time).
Inputs come from make_inputs.py; see README.md in this folder.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

STATES = ("shelled", "shell-free")


def child_cpu(argv, cwd, env=None):
    """Runs argv; returns (stdout, CPU seconds of the child, user + system)."""
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=devnull, text=True,
                                env=env)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)}: exit {proc.returncode}\n{out[-2000:]}")
    return out, usage.ru_utime + usage.ru_stime


def spparks_stats(out):
    """(events or attempts accepted, rejected, summed Loop time, summed loop CPU time) from
    SPPARKS' screen output with loop_cpu.so's lines: the last stats line holds the cumulative
    counts; a loop's CPU time is the interval between the last two barriers before its
    "Loop time" line."""
    rows = re.findall(r"^\s+[-+.0-9e]+\s+(\d+)\s+(\d+)\s+\d+\s+[-+.0-9e]+\s*$", out, re.M)
    accepted, rejected = (int(v) for v in rows[-1])
    barriers, wall, cpu = [], 0.0, 0.0
    for line in out.splitlines():
        if line.startswith("loop_cpu barrier "):
            barriers.append(float(line.split()[3]))
        elif line.startswith("Loop time of "):
            wall += float(line.split()[3])
            cpu += barriers[-1] - barriers[-2]
    if not barriers:
        sys.exit("no loop_cpu lines in SPPARKS' output: is --shim loop_cpu.so?")
    return accepted, rejected, wall, cpu


def run_spparks(args, input_file, state, extra=()):
    load = os.getloadavg()[0]
    env = dict(os.environ, LD_PRELOAD=args.shim)
    out, _ = child_cpu([args.spk, "-log", "none", "-var", "state", state, "-var", "steps",
                        str(args.steps), "-var", "seed", str(args.seed), *extra,
                        "-in", input_file], args.inputs, env)
    accepted, rejected, wall, cpu = spparks_stats(out)
    return {"load": load, "accepted": accepted, "rejected": rejected, "loop_wall": wall,
            "loop_cpu": cpu}


def run_ripen(args, binary, state=None):
    """`ripen bench --kernels-only` for one state (--case) or, with state None, every state
    it runs (builds before --case existed); returns {state: figures}."""
    load = os.getloadavg()[0]
    case = ["--case", state] if state else []
    out, _ = child_cpu([binary, "bench", "--kernels-only", "--seconds", str(args.seconds),
                        *case], ".")
    tables, section = {}, None
    for line in out.splitlines():
        head = re.match(r"^(\S+): \d+ core", line)
        if head:
            section = tables.setdefault(head.group(1), {})
        m = re.match(r"^\s+(reference|random-sequential|checkerboard|rejection-free)\s+(.*)$",
                     line)
        if m and section is not None and m.group(1) not in section:
            v = m.group(2).replace("*", "").split()
            section[m.group(1)] = {"attempts_per_ns": float(v[1]), "steps_per_s": float(v[2]),
                                   "events_per_s": float(v[4]), "us_per_event": float(v[5])}
    figures = {}
    for name, rows in tables.items():
        rf = rows["rejection-free"]
        figures[name] = {"load": load, "us_per_event": rf["us_per_event"],
                         "events_per_step": rf["events_per_s"] / rf["steps_per_s"],
                         "rs_attempts_per_ns": rows["random-sequential"]["attempts_per_ns"],
                         "cb_attempts_per_ns": rows["checkerboard"]["attempts_per_ns"]}
    return figures


def spread(values):
    return f"{statistics.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spk", required=True, help="SPPARKS binary (spk_mpi)")
    parser.add_argument("--inputs", required=True, help="make_inputs.py's output directory")
    parser.add_argument("--shim", required=True, help="loop_cpu.so, built from loop_cpu.c")
    parser.add_argument("--ripen", default=os.path.abspath("build/ripen"))
    parser.add_argument("--ripen-before", help="an earlier ripen build, measured in the same "
                        "rounds (one bench run of both states per round)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2, help="ripen bench --seconds")
    parser.add_argument("--steps", type=int, default=200, help="SPPARKS time units per segment")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--sweeps", action="store_true",
                        help="also SPPARKS' sweeps (random, raster, color; shelled) each round")
    args = parser.parse_args()
    args.spk, args.ripen, args.shim = (os.path.abspath(p) for p in (args.spk, args.ripen,
                                                                     args.shim))
    if args.ripen_before:
        args.ripen_before = os.path.abspath(args.ripen_before)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
          f"load average {os.getloadavg()}", flush=True)
    results = {s: {"ripen": [], "spk": [], "before": []} for s in STATES}
    sweeps = {"random": [], "raster": [], "color": []}

    def run_before(r):
        got = run_ripen(args, args.ripen_before)
        for state in STATES:
            results[state]["before"].append(got[state])
            print(f"round {r} {state:10s}: ripen RF before {got[state]['us_per_event']:.3f} "
                  f"us/event CPU [load {got[state]['load']:.1f}]", flush=True)

    for r in range(1, args.rounds + 1):
        if args.ripen_before and r % 2:
            run_before(r)
        for state in STATES:
            # Alternate which code goes first, so neither always follows the other.
            order = ("ripen", "spk") if r % 2 else ("spk", "ripen")
            got = {}
            for code in order:
                got[code] = (run_ripen(args, args.ripen, state)[state] if code == "ripen"
                             else run_spparks(args, "in.tree", state))
                results[state][code].append(got[code])
            rp, sp = got["ripen"], got["spk"]
            sp_us = 1e6 * sp["loop_cpu"] / sp["accepted"]
            sp_wall = 1e6 * sp["loop_wall"] / sp["accepted"]
            print(f"round {r} {state:10s}: ripen RF {rp['us_per_event']:.3f} us/event CPU "
                  f"[load {rp['load']:.1f}], {rp['events_per_step'] * args.steps:.0f} events per "
                  f"{args.steps} steps | SPPARKS tree {sp_us:.3f} us/event CPU, {sp_wall:.3f} "
                  f"wall (Loop time) [load {sp['load']:.1f}], "
                  f"{sp['accepted']} events, {sp['accepted'] / sp_segments(args):.0f} per "
                  f"segment | ratio ripen/SPPARKS {rp['us_per_event'] / sp_us:.2f}", flush=True)
            sp["us_per_event"], sp["wall_us_per_event"] = sp_us, sp_wall
        if args.ripen_before and not r % 2:
            run_before(r)
        if args.sweeps:
            for style in sweeps:
                sp = run_spparks(args, "in.sweep", "shelled", ("-var", "sweep", style))
                attempts = sp["accepted"] + sp["rejected"]
                sweeps[style].append((attempts / sp["loop_cpu"] * 1e-9,
                                      attempts / sp["loop_wall"] * 1e-9))
                print(f"round {r} sweep {style}: {sweeps[style][-1][0]:.4f} attempts/ns CPU, "
                      f"{sweeps[style][-1][1]:.4f} wall [load {sp['load']:.1f}]", flush=True)
    print("\n# median [min, max] over rounds")
    for state in STATES:
        rp = [x["us_per_event"] for x in results[state]["ripen"]]
        sp = [x["us_per_event"] for x in results[state]["spk"]]
        ratios = [a / b for a, b in zip(rp, sp)]
        print(f"{state:10s}: ripen RF {spread(rp)} us/event, SPPARKS tree {spread(sp)}, "
              f"ratio {spread(ratios)}")
        rs = [x["rs_attempts_per_ns"] for x in results[state]["ripen"]]
        cb = [x["cb_attempts_per_ns"] for x in results[state]["ripen"]]
        print(f"{'':10s}  ripen random-sequential {spread(rs)} attempts/ns, checkerboard "
              f"{spread(cb)}")
        if args.ripen_before:
            rb = [x["us_per_event"] for x in results[state]["before"]]
            print(f"{'':10s}  ripen RF before {spread(rb)} us/event, ratio before/SPPARKS "
                  f"{spread([a / b for a, b in zip(rb, sp)])}, now/before "
                  f"{spread([a / b for a, b in zip(rp, rb)])}")
    for style, values in sweeps.items():
        if values:
            print(f"SPPARKS sweep {style} (sc/6n, shelled): {spread([v[0] for v in values])} "
                  f"attempts/ns CPU, {spread([v[1] for v in values])} wall")
    return 0


def sp_segments(args):
    with open(os.path.join(args.inputs, "in.tree")) as f:
        return sum(line.startswith("run ") for line in f)


if __name__ == "__main__":
    sys.exit(main())
