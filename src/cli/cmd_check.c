/* `ripen check`: validate a job file without running it, and say what it would do. */
#include "cli.h"
#include "ripen/error.h"
#include "ripen/job.h"
#include "ripen/task_kind.h"

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

int check_main(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: ripen check JOB.json\n\nValidates the job file (the same checks as ripen "
              "run) and lists its entries\n(ensembles, window sets, ...) and tasks. Exit status 0 "
              "if valid, 2 "
              "if not.\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? RIPEN_OK : RIPEN_EINVAL;
    }
    job j;
    const int status = job_load(&j, argv[1]);
    if (status) return cli_error(status);
    printf("%s: valid; seed %llu, %lld tasks, output %s (about %.1f MiB)\n", argv[1],
           (unsigned long long)j.seed, (long long)j.ntasks, j.output,
           job_output_bytes(&j) / 1048576.0);
    for (int s = 0; s < j.nsets; ++s) {
        j.sets[s].kind->describe(&j.sets[s]);
        describe_system(&j.sets[s].system);
    }
    job_free(&j);
    return RIPEN_OK;
}
