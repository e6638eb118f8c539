#!/usr/bin/python3
"""Writes SPPARKS inputs for issue 22's comparison: ripen's 80x80x4 simple-hexagonal lattice
with ripen's 8 neighbours, started from the shelled and shell-free prisms of `ripen bench`.

The initial states are not rebuilt here: `ripen run` writes them (a one-replica job whose
snapshot at step 0 is the prism that initial_prism builds), so they are ripen's own.

Writes into --out:
  sites.shelled, sites.shell-free   read_sites files: Sites, Neighbors (8 per site), Values
  values.shelled, values.shell-free read_sites files with Values only (reload between segments;
                                     also the values on SPPARKS' own sc/6n lattice, for sweeps)
  in.tree, in.sweep                  SPPARKS inputs (variables: state, steps, seed, sweep)
  in.check                           SPPARKS reads a site file and prints its Potts energy
Checks the neighbour table (8 distinct neighbours per site, j in N(i) <=> i in N(j)) before
writing. See README.md in this folder.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

LX, LY, LZ = 80, 80, 4
# src/engine/lattice.c, lattice_direction_d{x,y,z}: the 6 in-plane directions of the
# triangular layer (+x, -x, +y, -y, (+1,-1), (-1,+1)), then up and down the stack.
DIRECTIONS = [(+1, 0, 0), (-1, 0, 0), (0, +1, 0), (0, -1, 0),
              (+1, -1, 0), (-1, +1, 0), (0, 0, +1), (0, 0, -1)]
# ripen_bench's two states (src/engine/bench.c): BENCH_CORE_SITES core, shell 2 and 0.
STATES = {"shelled": 2, "shell-free": 0}
CORE_SITES = 200
SEED = 20261208


def site_index(x, y, z):
    """ripen's site order (include/ripen/engine/lattice.h, lattice_index): x fastest, then y, z."""
    return x + LX * (y + LY * z)


def neighbour_table():
    """[nsites, 8] ripen site indices of each site's neighbours, in ripen's direction order."""
    z, y, x = np.meshgrid(np.arange(LZ), np.arange(LY), np.arange(LX), indexing="ij")
    x, y, z = x.ravel(), y.ravel(), z.ravel()  # site order: index = x + LX (y + LY z)
    assert np.array_equal(site_index(x, y, z), np.arange(LX * LY * LZ))
    table = np.empty((LX * LY * LZ, len(DIRECTIONS)), dtype=np.int64)
    for d, (dx, dy, dz) in enumerate(DIRECTIONS):
        table[:, d] = site_index((x + dx) % LX, (y + dy) % LY, (z + dz) % LZ)
    return table, np.stack([x, y, z], axis=1)


def check_neighbours(table):
    n = table.shape[0]
    distinct = np.array([len(set(row)) for row in table])
    assert (distinct == 8).all(), "a site with repeated neighbours"
    assert not (table == np.arange(n)[:, None]).any(), "a site is its own neighbour"
    pairs = set(zip(np.repeat(np.arange(n), 8).tolist(), table.ravel().tolist()))
    assert all((j, i) in pairs for i, j in pairs), "neighbour relation is not symmetric"
    # Each direction's opposite is the next one (0/1, 2/3, 4/5, 6/7): back and forth is home.
    for d in range(0, 8, 2):
        assert np.array_equal(table[table[:, d], d + 1], np.arange(n))


def ripen_states(ripen):
    """The two initial prisms as ripen builds them: {name: uint8 [LZ, LY, LX]} (0 solution,
    1 core, 2 shell), from the step-0 snapshot of a one-replica job."""
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "prisms.h5")
        job = {"seed": SEED, "output": output,
               "lattice": {"lx": LX, "ly": LY, "lz": LZ},
               "initial": {"core_sites": CORE_SITES},
               "dynamics": "random-sequential",
               "ensembles": [{"name": name, "shell_thickness": shell, "replicas": 1,
                              "max_steps": 1, "sample_interval": 1, "snapshot_interval": 1,
                              "snapshot_replicas": 1}
                             for name, shell in STATES.items()]}
        path = os.path.join(tmp, "prisms.json")
        with open(path, "w") as f:
            json.dump(job, f)
        subprocess.run([ripen, "run", path], check=True, stdout=subprocess.DEVNULL)
        states = {}
        with h5py.File(output, "r") as h5:
            for name in STATES:
                group = h5["ensembles"][name]
                steps = group["snapshot_step"][:]
                assert steps[0] == 0, f"{name}: first snapshot at step {steps[0]}, not 0"
                states[name] = np.asarray(group["snapshots"][0, 0], dtype=np.uint8)
                core = int(group["core_sites"][0]) if "core_sites" in group else None
                got = int((states[name] == 1).sum())
                assert core is None or core == got, f"{name}: {got} core sites, file {core}"
        return states


def write_sites(path, coords, table, spins, title):
    n = len(spins)
    with open(path, "w") as f:
        f.write(f"{title}\n\n3 dimension\n{n} sites\n8 max neighbors\n")
        f.write(f"-0.5 {LX - 0.5} xlo xhi\n-0.5 {LY - 0.5} ylo yhi\n-0.5 {LZ - 0.5} zlo zhi\n")
        f.write("\nSites\n\n")
        for i, (x, y, z) in enumerate(coords):
            f.write(f"{i + 1} {x} {y} {z}\n")
        f.write("\nNeighbors\n\n")
        for i, row in enumerate(table):
            f.write(f"{i + 1} " + " ".join(str(j + 1) for j in row) + "\n")
        write_values_section(f, spins)


def write_values_section(f, spins):
    f.write("\nValues\n\n")
    for i, s in enumerate(spins):
        f.write(f"{i + 1} {s}\n")


def write_values(path, spins, title):
    with open(path, "w") as f:
        f.write(f"{title}\n\n{len(spins)} sites\n")
        write_values_section(f, spins)


TREE_HEADER = """\
# SPPARKS potts on ripen's 80x80x4 simple-hexagonal lattice (8 neighbours from the site file),
# tree solver (rejection-free), from ripen's ${state} prism, at T = 0.5 (issue 22). Written by
# bench/spparks/make_inputs.py: {segments} segments of ${steps} time units, each restarted
# from the prism as ripen bench restarts its segments (the segments are written out: a
# label/next/jump loop aborted at the end of its first run with this build).
# spk_mpi -var state shelled -var steps 200 -var seed 1 -in in.tree   (steps 0: the baseline)
seed            ${seed}
app_style       potts 3
dimension       3
boundary        p p p
read_sites      sites.${state}
solve_style     tree
temperature     0.5
stats           1000000
"""

SWEEP_HEADER = """\
# SPPARKS potts, rejection KMC (Metropolis sweeps), on SPPARKS' own sc/6n 80x80x4 lattice (a
# colour sweep needs a lattice SPPARKS knows), values from ripen's ${state} prism, T = 0.5.
# Written by bench/spparks/make_inputs.py: {segments} segments of ${steps} sweeps, each
# restarted from the prism.
# spk_mpi -var state shelled -var sweep random -var steps 200 -var seed 1 -in in.sweep
seed            ${seed}
app_style       potts 3
dimension       3
lattice         sc/6n 1.0
region          box block 0 80 0 80 0 4
create_box      box
create_sites    box
sweep           ${sweep}
temperature     0.5
stats           1000000
"""


CHECK_INPUT = """\
# Reads a site file and prints SPPARKS' Potts energy (the sum over sites of unlike neighbours):
# it must equal the figure make_inputs.py printed for that state.
# spk_mpi -var state shelled -in in.check
seed            1
app_style       potts 3
dimension       3
boundary        p p p
read_sites      sites.${state}
diag_style      energy
solve_style     tree
temperature     0.5
stats           1
run             0
"""


def potts_energy(spins, table):
    """SPPARKS' potts energy: each site's count of neighbours with another spin, summed."""
    return int((spins[:, None] != spins[table]).sum())


def write_input(path, header, values, segments):
    with open(path, "w") as f:
        f.write(header.replace("{segments}", str(segments)))
        for _ in range(segments):
            f.write(f"read_sites      {values}.${{state}}\nrun             ${{steps}}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ripen", default="build/ripen", help="the ripen binary")
    parser.add_argument("--out", required=True, help="directory for the SPPARKS inputs")
    parser.add_argument("--segments", type=int, default=1200,
                        help="restarts from the prism per tree run (default 1200: ~2 s shelled)")
    parser.add_argument("--sweep-segments", type=int, default=4,
                        help="restarts from the prism per sweep run (default 4: ~2 s)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    table, coords = neighbour_table()
    check_neighbours(table)
    for name, state in ripen_states(args.ripen).items():
        # Potts spins 1..3 = ripen states 0..2 + 1, one per site in ripen's site order.
        spins = state.reshape(-1).astype(int) + 1
        counts = np.bincount(state.reshape(-1), minlength=3)
        title = (f"ripen {name} prism ({CORE_SITES} core requested, shell {STATES[name]}): "
                 f"{counts[1]} core, {counts[2]} shell; spin = state + 1")
        write_sites(os.path.join(args.out, f"sites.{name}"), coords, table, spins, title)
        # SPPARKS' create_sites numbers an sc lattice's sites x fastest, then y, then z, from
        # 1: ripen's order, so this file also gives in.sweep's sc/6n lattice the prism.
        write_values(os.path.join(args.out, f"values.{name}"), spins, title)
        print(f"{name}: {counts[0]} solution, {counts[1]} core, {counts[2]} shell; "
              f"Potts energy {potts_energy(spins, table)} (in.check must print it)")
    write_input(os.path.join(args.out, "in.tree"), TREE_HEADER, "values", args.segments)
    write_input(os.path.join(args.out, "in.sweep"), SWEEP_HEADER, "values",
                args.sweep_segments)
    with open(os.path.join(args.out, "in.check"), "w") as f:
        f.write(CHECK_INPUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
