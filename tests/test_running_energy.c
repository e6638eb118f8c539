/* Running bookkeeping = recomputation from scratch, exactly, after >= 10^7 attempts, for every
 * dynamics and every reading (move set, proposals, shell ensemble, energy form, bonds).
 *
 * Exact because the running state is integer: site codes and the five counts the energy is a
 * linear function of (model.h). replica_check compares every code, count, column and area; the
 * energies then agree to the last bit because they are the same function of equal integers.
 *
 * Two parameter sets: lively couplings (most attempts change something, so the bookkeeping is
 * exercised millions of times) and the paper's (rare, large moves). Usage: test_running_energy
 * [attempts] (default 10^7 per combination). */
#include "fixture.h"
#include "readings.h"

#include <math.h>

static void run_one(const dynamics_kind *kind, const reading *rd, int lively, uint64_t attempts) {
    model_params p;
    model_params_default(&p);
    reading_apply(rd, &p);
    if (lively) {
        p.eps_core = 1.0, p.eps_shell = 0.7, p.eps_interface = 0.5;
        p.mu_core = -3.0, p.mu_shell = -2.0, p.p_swap = 0.3;
    }
    fixture f;
    fixture_open(&f, 12, 12, 4, &p, 2024, 7);
    fixture_prism(&f, 48, 2);
    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    const uint64_t steps = (attempts + (uint64_t)f.lat.nsites - 1) / (uint64_t)f.lat.nsites;
    const int checkpoints = 10;
    long moved = 0; /* total change of the counts between checkpoints: proof of activity */
    site_counts last = f.rep.counts;
    for (int k = 0; k < checkpoints; ++k) {
        dynamics_run(&d, &f.rep, steps / checkpoints + (k < (int)(steps % checkpoints)));
        const int status = replica_check(&f.rep);
        CHECK(status == RIPEN_OK, "%s, %s, %s params, step %llu: %s", kind->name, rd->name,
              lively ? "lively" : "paper", (unsigned long long)f.rep.step, ripen_last_error());
        moved += labs((long)(f.rep.counts.ncore - last.ncore)) +
                 labs((long)(f.rep.counts.nshell - last.nshell)) +
                 labs((long)(f.rep.counts.bonds_cs - last.bonds_cs));
        last = f.rep.counts;
    }
    CHECK(f.rep.step == steps, "ran %llu steps, asked %llu", (unsigned long long)f.rep.step,
          (unsigned long long)steps);
    /* Recomputed energy, bit for bit. */
    replica_store_states(&f.rep, f.states);
    const double scratch = fixture_scratch_energy(&f, f.states);
    CHECK(scratch == replica_energy(&f.rep), "energy %.17g vs scratch %.17g",
          replica_energy(&f.rep), scratch);
    if (lively)
        CHECK(moved > 100, "%s, %s: too little activity (%ld)", kind->name, rd->name, moved);
    printf("%-18s %-36s %-6s %llu attempts, final E = %.4f kT, ok\n", kind->name, rd->name,
           lively ? "lively" : "paper", (unsigned long long)(steps * (uint64_t)f.lat.nsites),
           replica_energy(&f.rep));
    dynamics_close(&d);
    fixture_close(&f);
}

int main(int argc, char **argv) {
    const uint64_t attempts = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    for (int k = 0; k < dynamics_count; ++k)
        for (int r = 0; r < READING_COUNT; ++r) {
            run_one(dynamics_all[k], &all_readings[r], 1, attempts);
            run_one(dynamics_all[k], &all_readings[r], 0, attempts);
        }
    return check_exit("test_running_energy");
}
