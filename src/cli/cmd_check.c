/* `ripen check`: validate a job file without running it, and say what it would do and cost. */
#include "cli.h"
#include "ripen/engine/error.h"
#include "ripen/driver/kinds/fq.h"
#include "ripen/driver/job.h"
#include "ripen/driver/task_kind.h"

#include <stdio.h>
#include <string.h>

static void describe_initial(const system_spec *s) {
    const initial_layout *l = &s->layout;
    if (l->nparticles == 0) {
        printf("    initial: %lld core sites requested, shell %d", (long long)s->core_sites,
               s->shell_thickness);
        if (l->defect.sites > 0)
            printf(", defect of %d shell sites at the %s", l->defect.sites,
                   defect_place_names[l->defect.place]);
        printf("\n");
        return;
    }
    printf("    initial: %d particles, at least %d solution sites apart:\n", l->nparticles, l->gap);
    for (int k = 0; k < l->nparticles; ++k) {
        const initial_particle *q = &l->particles[k];
        printf("      %d at (%d, %d): %lld core sites requested, shell %d", k, q->x, q->y,
               (long long)(q->core_sites > 0 ? q->core_sites : s->core_sites),
               q->shell_thickness >= 0 ? q->shell_thickness : s->shell_thickness);
        if (q->defect.sites > 0)
            printf(", defect of %d shell sites at the %s", q->defect.sites,
                   defect_place_names[q->defect.place]);
        printf("\n");
    }
}

static const char check_usage[] =
    "usage: ripen check JOB.json [--bootstrap B]\n"
    "\n"
    "Validates the job file (the same checks as ripen run) and lists its entries (ensembles,\n"
    "window sets, ...) and tasks, the room the result file needs while it is written (its\n"
    "uncompressed size, an upper bound) and the cost of rank 0's analysis of each set after the\n"
    "tasks (F(q) by WHAM and MBAR), with B bootstrap resamples (default 200, as ripen run).\n"
    "Exit status 0 if valid, 2 if not.\n";

static void describe_system(const system_spec *s) {
    const model_params *m = &s->model;
    printf("    %dx%dx%d, eps %g/%g/%g, mu %g/%g kT, %s form, %s/%s moves, shell %s, %d bonds, "
           "p_swap %.4g, %s\n",
           s->lx, s->ly, s->lz, m->eps_core, m->eps_shell, m->eps_interface, m->mu_core,
           m->mu_shell, energy_form_names[m->form], move_set_names[m->moves],
           proposal_kind_names[m->proposals], shell_ensemble_names[m->shell], m->bond_directions,
           m->p_swap, s->dynamics->name);
    describe_initial(s);
    if (s->shell_band.given) {
        char given[128];
        shell_band_describe(&s->shell_band, given, sizeof given);
        printf("    shell band: N_shell in [%lld, %lld] (%s)\n", (long long)s->shell_band.shell_min,
               (long long)s->shell_band.shell_max, given);
    }
    if (s->reservoir.given) {
        char given[192];
        reservoir_spec_describe(&s->reservoir, given, sizeof given);
        printf("    finite solution: %s; mu0_core %.4g kT\n", given,
               reservoir_spec_mu0(&s->reservoir, s->model.mu_core, s->reservoir.core_reference));
    }
}

/* "0.2 s", "14 min", "3.1 h", "2.5 days": a duration at a glance. */
static void format_seconds(double seconds, char *out, size_t capacity) {
    if (seconds < 60)
        snprintf(out, capacity, "%.2g s", seconds);
    else if (seconds < 3600)
        snprintf(out, capacity, "%.2g min", seconds / 60);
    else if (seconds < 86400)
        snprintf(out, capacity, "%.2g h", seconds / 3600);
    else
        snprintf(out, capacity, "%.3g days", seconds / 86400);
}

/* The analysis of a set, as `ripen run` will do it on rank 0 after the tasks; adds its cost to
 * the totals (terms). */
static void describe_analysis(const task_set *set, int bootstrap, double *typical_total,
                              double *most_total) {
    if (!set->kind->analysis_cost) return;
    analysis_cost cost;
    memset(&cost, 0, sizeof cost);
    set->kind->analysis_cost(set, bootstrap, &cost);
    char typical[32], most[32];
    format_seconds(cost.typical_terms / FQ_TERMS_PER_SECOND, typical, sizeof typical);
    format_seconds(cost.most_terms / FQ_TERMS_PER_SECOND, most, sizeof most);
    printf("    analysis on rank 0: %s: about %s; at most %s\n", cost.what, typical, most);
    *typical_total += cost.typical_terms, *most_total += cost.most_terms;
}

int check_main(int argc, char **argv) {
    const char *path = NULL;
    int64_t bootstrap = 200;
    int status = RIPEN_OK;
    for (int k = 1; k < argc && !status; ++k) {
        const char *v;
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(check_usage, stdout);
            return RIPEN_OK;
        } else if (strcmp(argv[k], "--bootstrap") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int("--bootstrap", v, 2, 100000, &bootstrap);
        } else if (argv[k][0] == '-' && argv[k][1]) {
            status = ripen_fail(RIPEN_EINVAL, "check: unknown option %s (see ripen check --help)",
                                argv[k]);
        } else if (path) {
            status =
                ripen_fail(RIPEN_EINVAL, "check: one job file only (got %s and %s)", path, argv[k]);
        } else {
            path = argv[k];
        }
    }
    if (!status && !path)
        status = ripen_fail(RIPEN_EINVAL, "check: no job file given (see ripen check --help)");
    if (status) return cli_error(status);
    job j;
    status = job_load(&j, path);
    if (status) return cli_error(status);
    printf("%s: valid; seed %llu, %lld tasks, output %s (up to %.1f MiB: its uncompressed size, "
           "the room it needs while it is written)\n",
           path, (unsigned long long)j.seed, (long long)j.ntasks, j.output,
           job_output_bytes(&j) / 1048576.0);
    double typical = 0, most = 0;
    for (int s = 0; s < j.nsets; ++s) {
        j.sets[s].kind->describe(&j.sets[s]);
        describe_system(&j.sets[s].system);
        describe_analysis(&j.sets[s], (int)bootstrap, &typical, &most);
    }
    if (most > 0) {
        char a[32], b[32];
        format_seconds(typical / FQ_TERMS_PER_SECOND, a, sizeof a);
        format_seconds(most / FQ_TERMS_PER_SECOND, b, sizeof b);
        printf("analysis on rank 0 after the tasks (the other ranks wait asleep): about %s if "
               "the solvers converge as they usually do, at most %s if every solve ran to its "
               "iteration limit (a solver stops sooner once it stops progressing, and says "
               "so); at ~%.0e terms per second\n",
               a, b, FQ_TERMS_PER_SECOND);
    }
    job_free(&j);
    return RIPEN_OK;
}
