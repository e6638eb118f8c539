/* `ripen check`: validate a job file without running it, and say what it would do. */
#include "cli.h"
#include "ripen/error.h"
#include "ripen/job.h"
#include "ripen/task_kind.h"

#include <stdio.h>
#include <string.h>

static void describe_system(const system_spec *s) {
    const model_params *m = &s->model;
    printf("    %dx%dx%d, eps %g/%g/%g, mu %g/%g kT, %s form, %s/%s moves, shell %s, %d bonds, "
           "p_swap %.4g, %s\n",
           s->lx, s->ly, s->lz, m->eps_core, m->eps_shell, m->eps_interface, m->mu_core,
           m->mu_shell, energy_form_names[m->form], move_set_names[m->moves],
           proposal_kind_names[m->proposals], shell_ensemble_names[m->shell], m->bond_directions,
           m->p_swap, s->dynamics->name);
    printf("    initial: %lld core sites requested, shell %d\n", (long long)s->core_sites,
           s->shell_thickness);
    if (s->shell_band.given) {
        char given[128];
        shell_band_describe(&s->shell_band, given, sizeof given);
        printf("    shell band: N_shell in [%lld, %lld] (%s)\n", (long long)s->shell_band.shell_min,
               (long long)s->shell_band.shell_max, given);
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
