"""Exact free energies of the tiny test lattice (3x2x2: 12 sites, 3^12 = 531441 configurations,
the multigraph of docs/model.md) by enumerating every configuration, for the F(q) tests."""
import itertools

import numpy as np

LX, LY, LZ = 3, 2, 2
DIRECTIONS = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (1, -1, 0), (-1, 1, 0), (0, 0, 1),
              (0, 0, -1)]


def neighbour_table():
    """Bonds as (i, j) pairs listed once per direction from the lower index (multiplicity kept),
    exactly as ripen counts them (lattice.c, replica_count_states)."""
    index = lambda x, y, z: (x % LX) + LX * ((y % LY) + LY * (z % LZ))
    pairs = []
    for z, y, x in itertools.product(range(LZ), range(LY), range(LX)):
        i = index(x, y, z)
        for dx, dy, dz in DIRECTIONS:
            j = index(x + dx, y + dy, z + dz)
            if j > i:
                pairs.append((i, j))
    return np.array(pairs)


def exact_free_energy(model, n0, qmin, qmax):
    """F(q) - F(0), q = N_core - n0, at the model's couplings and chemical potentials (numpy,
    vectorised over all configurations)."""
    n = LX * LY * LZ
    codes = np.arange(3 ** n, dtype=np.int64)
    states = np.stack([(codes // 3 ** k) % 3 for k in range(n)], axis=1).astype(np.int8)
    pairs = neighbour_table()
    a, b = states[:, pairs[:, 0]], states[:, pairs[:, 1]]
    b_cc = ((a == 1) & (b == 1)).sum(axis=1)
    b_ss = ((a == 2) & (b == 2)).sum(axis=1)
    b_cs = (((a == 1) & (b == 2)) | ((a == 2) & (b == 1))).sum(axis=1)
    n_c, n_s = (states == 1).sum(axis=1), (states == 2).sum(axis=1)
    energy = -(model["eps_core"] * b_cc + model["eps_shell"] * b_ss +
               model["eps_interface"] * b_cs) - (model["mu_core"] * n_c + model["mu_shell"] * n_s)
    weight = np.exp(-(energy - energy.min()))
    q = np.arange(qmin, qmax + 1)
    p = np.array([weight[n_c == n0 + k].sum() for k in q])
    return q, -np.log(p) + np.log(p[q == 0][0])
