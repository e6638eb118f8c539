"""The exchange kind end to end against exact enumeration (3x2x2 lattice, exact_lattice.py):
windows that exchange configurations, with a ladder in the shell's cohesion or in mu_shell as a
second dimension, give F(q) of the physical model by MBAR over every state (and by WHAM over rung
0's windows) equal to the exact F(q) within 4 sigma at every q, for each dynamics, with tilted
windows and without.

The exchanges themselves are checked from the file: every accepted swap was between neighbouring
states and left each configuration inside its new walls; the number of accepted swaps equals the
sum of the Metropolis probabilities min(1, exp(-Delta)) recomputed here from the stored counts,
within 4 sigma of the Poisson-binomial spread. Negative controls show the checks have power:
with the sign of the tilt term in Delta flipped, the accepted count is many sigma off; and F(q)
recomputed here by MBAR (an independent numpy implementation) equals ripen's with the right
reduced potentials but misses the exact F(q) by more than 4 sigma with the tilt's sign flipped.

Bounds: 4 sigma, sigma the bootstrap standard deviation (F) or the Poisson-binomial standard
deviation of a sum of independent Bernoulli decisions (acceptances); with ~13 correlated q per
profile and 3 sets, a correct code fails with probability ~1e-3."""
import os

import h5py
import numpy as np

import ripentest as rt
from exact_lattice import LX, LY, LZ, exact_free_energy

MODEL = {"eps_core": 0.6, "eps_shell": 0.4, "eps_interface": 0.3, "mu_core": -1.5,
         "mu_shell": -1.2, "p_swap": 0.25}
TILT_OFFSET = -3.0


def exchange_set(name, dynamics, ladder=None, tilt=False):
    entry = {"name": name, "shell_thickness": 0, "q_min": -2, "q_max": 10, "layer_sites": 4,
             "width": 4, "overlap": 2, "equilibration_steps": 900, "interval": 200,
             "epochs": 300, "sample_interval": 2, "model": MODEL, "dynamics": dynamics}
    if ladder:
        entry["ladder"] = ladder
    if tilt:
        entry.update({"tilt": True, "model": dict(MODEL, mu_core=MODEL["mu_core"] + TILT_OFFSET)})
    return entry


SETS = {
    "tilted": exchange_set("tilted", "random-sequential", tilt=True),
    "cohesion": exchange_set("cohesion", "rejection-free", {"eps_scale": [1, 0.5, 0]}),
    "mu-shell": exchange_set("mu-shell", "checkerboard",
                             {"mu_shell": [-1.2, -0.6, 0.0], "eps_scale": [1, 2, 3]}),
}


def pairs_after(epoch, nwindows, nrungs):
    """exchange.h's rule: after epoch e, even windows, even rungs, odd windows, odd rungs."""
    kinds = 4 if nrungs > 1 else 2
    kind = (epoch - 1) % kinds
    along_rungs = kinds == 4 and kind in (1, 3)
    parity = kind // 2 if kinds == 4 else kind
    out = []
    for r in range(nrungs):
        for w in range(nwindows):
            index, limit = (r, nrungs) if along_rungs else (w, nwindows)
            if index % 2 != parity or index + 1 >= limit:
                continue
            out.append((r * nwindows + w, (r + 1) * nwindows + w if along_rungs else
                        r * nwindows + w + 1))
    return out


class ExchangeSet:
    """A set's states and counts as stored in the file."""

    def __init__(self, g):
        self.K, self.R = int(g.attrs["nwindows"]), int(g.attrs["nrungs"])
        self.E = int(g.attrs["epochs"])
        self.S = self.K * self.R
        self.lo, self.hi = g["lo"][()], g["hi"][()]
        self.scale, self.mu_shell = g["eps_scale"][()], g["mu_shell"][()]
        self.mu_core = g["mu_core"][()].reshape(self.E + 1, self.S)
        self.core0 = int(g["core_sites"][0])
        self.final = g["final_counts"][()].reshape(self.E + 1, self.S, 5)
        counts = g["sample_count"][()].reshape(self.E + 1, self.S)
        raw_samples = g["samples"][()]
        samples = raw_samples.reshape(self.E + 1, self.S, -1, raw_samples.shape[-1])
        # thinned as ripen thins the pool for MBAR (exchange_write.c): every stride-th sample of
        # each state's sampled epochs, stride = ceil(raw / budget)
        per_epoch = samples.shape[2]
        raw = self.S * self.E * per_epoch
        budget = max(40000, min(1000 * self.S, 2 ** 25 // self.S))
        stride = -(-raw // budget) if raw > budget else 1
        keep = np.arange(self.E * per_epoch) % stride == 0
        self.samples = [np.concatenate([samples[e, s, :counts[e, s]]
                                        for e in range(1, self.E + 1)])[keep] for s in range(self.S)]
        self.permutation = g["statistics/permutation"][()]

    def u(self, s, x, tilt_sign=1.0):
        """Reduced potential of counts x (rows N_c, N_s, B_cc, B_ss, B_cs) in state s; the tilt
        (the state's mu_core minus the model's) enters with tilt_sign."""
        w, r = s % self.K, s // self.K
        q = x[..., 0] - self.core0
        mu = MODEL["mu_core"] + tilt_sign * (self.mu_core[0, s] - MODEL["mu_core"])
        energy = -(MODEL["eps_core"] * x[..., 2] +
                   self.scale[r] * (MODEL["eps_shell"] * x[..., 3] + MODEL["eps_interface"] * x[..., 4])
                   ) - mu * x[..., 0] - self.mu_shell[r] * x[..., 1]
        return np.where((q >= self.lo[w]) & (q <= self.hi[w]), energy, np.inf)


def check_swaps(name, x):
    """Accepted swaps against their recomputed probabilities; returns z for each tilt sign."""
    z = {}
    for sign in (1.0, -1.0):
        accepted, expected, variance, tried = 0, 0.0, 0.0, 0
        for e in range(1, x.E + 1):
            for a, b in pairs_after(e, x.K, x.R):
                xa, xb = x.final[e - 1, a], x.final[e - 1, b]
                before = x.u(a, xa, sign) + x.u(b, xb, sign)
                after = x.u(a, xb, sign) + x.u(b, xa, sign)
                p = 0.0 if not np.isfinite(after) else min(1.0, np.exp(before - after))
                swapped = x.permutation[e, a] == x.permutation[e - 1, b]
                if sign > 0 and swapped:
                    rt.check(np.isfinite(after), f"{name}: epoch {e}: states {a}, {b} swapped "
                             "a configuration out of its walls")
                accepted += swapped
                expected += p
                variance += p * (1 - p)
                tried += 1
        z[sign] = (accepted - expected) / np.sqrt(variance)
        if sign > 0:
            print(f"{name}: {accepted} of {tried} swaps accepted, {expected:.1f} expected "
                  f"(z = {z[sign]:.2f})")
    return z


def mbar(x, tilt_sign):
    """F(q) of the physical model from every state's samples (numpy MBAR, self-consistent
    iteration), F(0) = 0."""
    pool = np.concatenate(x.samples)
    n = np.array([len(s) for s in x.samples], dtype=float)
    u = np.stack([x.u(s, pool, tilt_sign) for s in range(x.S)])
    f = np.zeros(x.S)
    for _ in range(20000):
        a = np.log(n)[:, None] + f[:, None] - u
        top = a.max(axis=0)
        log_denominator = top + np.log(np.exp(a - top).sum(axis=0))
        b = -u - log_denominator
        bt = b.max(axis=1)
        new = -(bt + np.log(np.exp(b - bt[:, None]).sum(axis=1)))
        new -= new[0]
        if np.max(np.abs(new - f)) < 1e-10:
            f = new
            break
        f = new
    a = np.log(n)[:, None] + f[:, None] - u
    top = a.max(axis=0)
    physical = -(MODEL["eps_core"] * pool[:, 2] + MODEL["eps_shell"] * pool[:, 3] +
                 MODEL["eps_interface"] * pool[:, 4]) - MODEL["mu_core"] * pool[:, 0] - \
        MODEL["mu_shell"] * pool[:, 1]
    log_w = -physical - (top + np.log(np.exp(a - top).sum(axis=0)))
    q = pool[:, 0] - x.core0
    grid = np.arange(-2, 11)
    F = np.array([-np.logaddexp.reduce(log_w[q == k]) if np.any(q == k) else np.inf
                  for k in grid])
    return grid, F - F[grid == 0][0]


job = {"seed": 91, "lattice": {"lx": LX, "ly": LY, "lz": LZ}, "initial": {"core_sites": 2},
       "exchange": list(SETS.values())}
directory = rt.workdir("exchange-exact")
path = rt.write_job(directory, "job.json", job)
out = os.path.join(directory, "exchange.h5")
rt.run(["run", path, "--out", out, "--quiet", "--bootstrap", "100"], ranks=2, cwd=directory)

with h5py.File(out, "r") as f:
    for name in SETS:
        g = f[f"exchange/{name}"]
        x = ExchangeSet(g)
        q_exact, f_exact = exact_free_energy(MODEL, x.core0, -2, 10)
        fq = g["fq"]
        rt.check("error" not in fq.attrs, f"{name}: F(q) not determined: {fq.attrs.get('error')}")
        q = fq["q"][()]
        # F_wham and F_mbar are at mu*; back to the model's mu_core: F(q; mu) = F(q; mu*) -
        # (mu - mu*) q.
        dmu = fq.attrs["mu_star"] - MODEL["mu_core"]
        for method in ("wham", "mbar"):
            profile = fq[f"F_{method}"][()] + dmu * q
            profile = profile - profile[q == 0][0]
            sigma = fq[f"sigma_{method}"][()]
            z = np.abs(profile - f_exact)[q != 0] / sigma[q != 0]
            rt.check(np.all(z < 4), f"{name} {method}: |F - F_exact| / sigma = {np.round(z, 2)}")
            print(f"{name:9s} {method}: max |F - exact| = {np.max(np.abs(profile - f_exact)):.3f} "
                  f"kT, max z = {z.max():.2f}, median sigma {np.median(sigma[q != 0]):.3f} kT")
        for s in range(x.S):
            qs = x.samples[s][:, 0] - x.core0
            w = s % x.K
            rt.check(qs.min() >= x.lo[w] and qs.max() <= x.hi[w],
                     f"{name}: state {s} sampled q outside [{x.lo[w]}, {x.hi[w]}]")
        z = check_swaps(name, x)
        rt.check(abs(z[1.0]) < 4, f"{name}: accepted swaps {z[1.0]:.2f} sigma from expected")
        mine_q, mine = mbar(x, 1.0)
        ripen_mbar = fq["F_mbar"][()] + dmu * q
        ripen_mbar -= ripen_mbar[q == 0][0]
        sigma = fq["sigma_mbar"][()]
        gap = np.abs(mine - ripen_mbar)[q != 0] / sigma[q != 0]
        rt.check(np.all(np.abs(mine - ripen_mbar) < 1e-6),
                 f"{name}: numpy MBAR differs from ripen's by {np.round(gap, 2)} sigma")
        if name == "tilted":
            rt.check(abs(z[-1.0]) > 4, f"{name}: the tilt's sign flipped still fits the swaps "
                     f"(z = {z[-1.0]:.2f})")
            _, flipped = mbar(x, -1.0)
            zf = np.abs(flipped - f_exact)[q != 0] / sigma[q != 0]
            rt.check(np.any(zf > 4), f"{name}: F(q) with the tilt's sign flipped still fits "
                     f"the exact F(q): {np.round(zf, 1)}")
            print(f"{name}: tilt sign flipped: swaps z = {z[-1.0]:.1f}, max |F - exact| / sigma "
                  f"= {zf.max():.1f}")
        stats = g["statistics"]
        print(f"{name}: window round trips {stats['window_round_trips'][()].sum()}, "
              f"samples used {stats.attrs['samples_used']}")
rt.finish("test_exchange_exact")
