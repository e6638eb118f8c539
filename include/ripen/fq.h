/* F(q) of a window set: the free energy of adding q core sites, from the umbrella windows'
 * q samples (WHAM and MBAR, bootstrap errors: fe.h), reweighted in mu_core to the balance point
 * mu_core* where growing one full layer neither gains nor costs free energy, and the barrier on
 * the way (MODEL.md "Observables", docs/free-energy.md). Stored under /windows/<name>/fq.
 */
#ifndef RIPEN_FQ_H
#define RIPEN_FQ_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "ripen/job.h"
#include "ripen/task.h"

typedef struct fq_result {
    int failed;      /* 1: the data did not determine F(q); see `error` */
    char error[512]; /* why (the windows are still in the file) */
    int nq;          /* q grid: q_min .. q_min + nq - 1 (sites) */
    int q_min;
    double *f_sampling;            /* WHAM F(q) at the sampling mu_core (kT, min 0) */
    double *f_wham, *sigma_wham;   /* WHAM F(q) at mu_core*, F(q_start) = 0 (kT) */
    double *f_mbar, *sigma_mbar;   /* MBAR F(q) at mu_core* (kT) */
    double mu_sampling;            /* mu_core the windows sampled at (kT) */
    double mu_star, mu_star_sigma; /* balance point mu_core* (kT), WHAM, bootstrap sd */
    int q_start, q_end;            /* one layer: q from q_start to q_end = q_start + layer */
    double barrier_wham, barrier_wham_sigma; /* max F - F(q_start) over the layer (kT) */
    double barrier_mbar, barrier_mbar_sigma;
    int wham_iterations, wham_converged;
    int mbar_iterations, mbar_converged;
    int nwindows;
    double *inefficiency; /* statistical inefficiency g of each window's q series */
    int bootstrap_samples;
    char warnings[2048]; /* poor overlap etc.; "" if none */
} fq_result;

/* Computes F(q) for window set `w` from its windows' records (records[k] = window k). */
int fq_compute(const job *j, int set, task_record *const *records, uint64_t seed,
               int bootstrap_samples, fq_result *out);
void fq_free(fq_result *f);

/* fq[w] = F(q) of every window set w whose windows are all present (others left NULL). When the
 * samples do not determine F (windows not linked, a layer not reached), fq[w]->failed is set
 * with the reason and the call still succeeds: the raw window data are kept either way, and
 * `ripen analyze` can be rerun. Only I/O and memory errors fail the call. */
int fq_compute_all(const job *j, const uint8_t *present, task_loader load, void *context,
                   int bootstrap, fq_result **fq);

/* Makes rank 0's results (fq[w], NULL or not) known to every rank: the file's collective
 * metadata must be identical everywhere. */
int fq_broadcast(MPI_Comm comm, const job *j, fq_result **fq);

/* Creates /windows/<name>/fq for every non-NULL entry (collective: every rank calls it with the
 * same results) and, on the rank with `writer` set, writes the data. */
int fq_write(hid_t windows_group, const job *j, struct fq_result *const *fq, int writer);

#endif
