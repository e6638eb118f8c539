/* Per-particle series of an ensemble (ensemble_particles.h). */
#include "ensemble_particles.h"

#include "h5util.h"
#include "ripen/engine/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the record ---- */

int particle_series_new(const ensemble_spec *e, particle_series **out) {
    *out = NULL;
    if (!e->track_min_core) return RIPEN_OK;
    *out = calloc(1, sizeof **out);
    return *out ? RIPEN_OK : RIPEN_ENOMEM;
}

void particle_series_free(particle_series *p) {
    if (!p) return;
    free(p->count), free(p->free_core), free(p->free_shell), free(p->entries), free(p->events);
    free(p->owned_site), free(p->owned_id), free(p);
}

/* Room for n elements of `size` bytes in *data, which holds *capacity. */
static int reserve(void **data, int64_t *capacity, int64_t n, size_t size) {
    if (n <= *capacity) return RIPEN_OK;
    const int64_t want = n > 2 * *capacity ? n : 2 * *capacity;
    void *grown = realloc(*data, size * (size_t)(want > 0 ? want : 1));
    if (!grown) return RIPEN_ENOMEM;
    *data = grown, *capacity = want;
    return RIPEN_OK;
}

static int reserve_samples(particle_series *p, int64_t n) {
    if (n <= p->capacity) return RIPEN_OK;
    int32_t **const series[] = {&p->count, &p->free_core, &p->free_shell};
    for (size_t k = 0; k < sizeof series / sizeof *series; ++k) {
        int64_t room = p->capacity;
        if (reserve((void **)series[k], &room, n, sizeof(int32_t))) return RIPEN_ENOMEM;
    }
    p->capacity = n > 2 * p->capacity ? n : 2 * p->capacity;
    return RIPEN_OK;
}

static int reserve_owned(particle_series *p, int64_t n) {
    int64_t room = p->owned_capacity;
    if (reserve((void **)&p->owned_site, &room, n, sizeof(int32_t))) return RIPEN_ENOMEM;
    room = p->owned_capacity;
    if (reserve((void **)&p->owned_id, &room, n, sizeof(int32_t))) return RIPEN_ENOMEM;
    p->owned_capacity = room;
    return RIPEN_OK;
}

void particle_series_code(codec *c, const ensemble_spec *e, int64_t nsites, particle_series *p) {
    const int64_t samples = ensemble_series_length(e);
    codec_scalar(c, &p->next_id, sizeof p->next_id);
    codec_scalar(c, &p->nsamples, sizeof p->nsamples);
    if (!c->writing && !c->status && p->nsamples >= 0 && p->nsamples <= samples &&
        reserve_samples(p, p->nsamples))
        c->status = RIPEN_ENOMEM;
    int32_t **const series[] = {&p->count, &p->free_core, &p->free_shell};
    for (size_t k = 0; k < sizeof series / sizeof *series; ++k) {
        int64_t room = p->capacity;
        codec_array(c, (void **)series[k], sizeof(int32_t), p->nsamples, &room, samples);
    }
    codec_scalar(c, &p->nentries, sizeof p->nentries);
    codec_array(c, (void **)&p->entries, sizeof *p->entries, p->nentries, &p->entry_capacity,
                samples * TRACK_MAX_IDS);
    codec_scalar(c, &p->nevents, sizeof p->nevents);
    codec_array(c, (void **)&p->events, sizeof *p->events, p->nevents, &p->event_capacity,
                samples * TRACK_MAX_IDS);
    codec_scalar(c, &p->nowned, sizeof p->nowned);
    if (!c->writing && !c->status && p->nowned >= 0 && p->nowned <= nsites &&
        reserve_owned(p, p->nowned))
        c->status = RIPEN_ENOMEM;
    int64_t room = p->owned_capacity;
    codec_array(c, (void **)&p->owned_site, sizeof(int32_t), p->nowned, &room, nsites);
    room = p->owned_capacity;
    codec_array(c, (void **)&p->owned_id, sizeof(int32_t), p->nowned, &room, nsites);
}

/* memcpy for `count` items that may be none: its pointers must be valid even for 0 bytes, and an
 * empty array here may be NULL (a sample without particles or events). */
static void copy_items(void *to, const void *from, int64_t count, size_t size) {
    if (count > 0) memmove(to, from, size * (size_t)count);
}

int particle_series_add(particle_series *p, const tracker *t) {
    if (reserve_samples(p, p->nsamples + 1) ||
        reserve((void **)&p->entries, &p->entry_capacity, p->nentries + t->nparticles,
                sizeof *p->entries) ||
        reserve((void **)&p->events, &p->event_capacity, p->nevents + t->nevents,
                sizeof *p->events) ||
        reserve_owned(p, t->nowned))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the particles' series");
    const int64_t k = p->nsamples++;
    p->count[k] = t->nparticles;
    p->free_core[k] = (int32_t)t->totals.free_core;
    p->free_shell[k] = (int32_t)t->totals.free_shell;
    copy_items(p->entries + p->nentries, t->particles, t->nparticles, sizeof *t->particles);
    p->nentries += t->nparticles;
    copy_items(p->events + p->nevents, t->events, t->nevents, sizeof *t->events);
    p->nevents += t->nevents;
    copy_items(p->owned_site, t->owned_site, t->nowned, sizeof *t->owned_site);
    copy_items(p->owned_id, t->owned_id, t->nowned, sizeof *t->owned_id);
    p->nowned = t->nowned, p->next_id = t->next_id;
    return RIPEN_OK;
}

int particle_series_repeat(particle_series *p) {
    const int64_t k = p->nsamples - 1, n = k >= 0 ? p->count[k] : 0;
    if (k < 0) return ripen_fail(RIPEN_EINVAL, "particles: no sample to repeat");
    if (reserve_samples(p, p->nsamples + 1) ||
        reserve((void **)&p->entries, &p->entry_capacity, p->nentries + n, sizeof *p->entries))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the particles' series");
    copy_items(p->entries + p->nentries, p->entries + p->nentries - n, n, sizeof *p->entries);
    p->nentries += n;
    p->count[k + 1] = p->count[k];
    p->free_core[k + 1] = p->free_core[k], p->free_shell[k + 1] = p->free_shell[k];
    p->nsamples++;
    return RIPEN_OK;
}

int particle_series_tracker(const particle_series *p, const system_spec *s, const lattice *lat,
                            int32_t min_core, tracker *t) {
    int status = tracker_init(t, lat, min_core);
    if (status) return status;
    if (p->nsamples > 0) {
        status = tracker_restore(t, p->next_id, p->nowned, p->owned_site, p->owned_id);
    } else {
        const int n = s->layout.nparticles;
        int32_t sites[INITIAL_MAX_PARTICLES], ids[INITIAL_MAX_PARTICLES];
        for (int k = 0; k < n; ++k) {
            sites[k] = lattice_index(lat, s->layout.particles[k].x, s->layout.particles[k].y, 0);
            ids[k] = k;
        }
        status = tracker_restore(t, n, n, sites, ids);
    }
    if (status) tracker_free(t);
    return status;
}

void particle_series_extent(const particle_series *p, int64_t *ids, int64_t *events) {
    *ids = p ? p->next_id : 0;
    *events = p ? p->nevents : 0;
}

/* ---- creating ---- */

static const int32_t fill_i32 = -1;
static const int64_t fill_i64 = -1;
static const double fill_nan = NAN;

typedef struct {
    int index;
    const char *name;
    h5_type type;
    int rank; /* the dimensions: R, then S, P, 2 or E, 4 as the rank says */
    int shape;
    const void *fill;
    const char *units, *description;
} particle_dataset;

enum { SHAPE_R, SHAPE_RP, SHAPE_RS, SHAPE_RSP, SHAPE_RSP2, SHAPE_RE4 };

static const particle_dataset datasets[] = {
    {PARTICLE_COUNT, "count", H5_I64, 1, SHAPE_R, &fill_i64, "ids",
     "ids the replica gave: the initial particles (0, 1, ... in the list's order), then every "
     "fragment and new particle"},
    {PARTICLE_ORIGIN, "origin", H5_I32, 2, SHAPE_RP, &fill_i32, NULL,
     "the initial particle each id descends from through splits; -1: a particle that appeared "
     "(or no such id)"},
    {PARTICLE_CORE, "core", H5_I32, 3, SHAPE_RSP, &fill_i32, "sites",
     "core sites of each particle at each sample; -1: not a particle then (before it appeared, "
     "after it merged or vanished)"},
    {PARTICLE_SHELL, "shell", H5_I32, 3, SHAPE_RSP, &fill_i32, "sites",
     "shell sites assigned to each particle (nearest through shell; ties to the smaller id)"},
    {PARTICLE_EXPOSED, "exposed_core", H5_I32, 3, SHAPE_RSP, &fill_i32, "sites",
     "each particle's core sites with a solution neighbour (of the 8)"},
    {PARTICLE_CENTRE, "centre", H5_F64, 4, SHAPE_RSP2, &fill_nan, "columns (axial x, y)",
     "centre of each particle's core: mean axial (x, y) of its unwrapped core, in [0, L); NaN: "
     "not a particle then"},
    {PARTICLE_FREE_CORE, "free_core", H5_I32, 2, SHAPE_RS, &fill_i32, "sites",
     "core sites in clusters smaller than min_core (not particles), per sample"},
    {PARTICLE_FREE_SHELL, "free_shell", H5_I32, 2, SHAPE_RS, &fill_i32, "sites",
     "shell sites no particle's core reaches through shell, per sample"},
    {PARTICLE_EVENT_COUNT, "event_count", H5_I64, 1, SHAPE_R, &fill_i64, "events",
     "events the replica's tracking recorded"},
    {PARTICLE_EVENTS, "events", H5_I64, 3, SHAPE_RE4, &fill_i64,
     "step: MC steps; kind: 0 vanish, 1 merge, 2 split, 3 appear; id, other: particle ids",
     "per event (step, kind, id, other): other = the id a merged particle went into, the id a "
     "fragment split from, else -1; row r holds event_count[r] events, then fill"},
};
enum { NDATASETS = sizeof datasets / sizeof *datasets };

void ensemble_particles_create(hid_t g, const task_set *set, hsize_t replicas, hsize_t samples,
                               hsize_t ids, hsize_t events, hid_t *group, hid_t *d) {
    *group = h5_group_create(g, "particles",
                             "per-particle series: the replicas start from a list of particles, "
                             "tracked at every sample (docs/model.md, \"Particles and their "
                             "identity\")");
    if (*group < 0) return;
    if (h5_attr_int(*group, "min_core", ensemble_of(set)->track_min_core) ||
        h5_attr_string(*group, "units", "min_core: sites (a smaller core cluster is free core)"))
        return;
    const hsize_t n0 = (hsize_t)set->system.layout.nparticles;
    d[PARTICLE_INITIAL] = h5_dataset(
        *group, &(h5_dataset_info){
                    .name = "initial",
                    .type = H5_I64,
                    .rank = 2,
                    .dims = {n0, 8},
                    .units = "x, y: columns; core_sites, shell_thickness, defect_sites, core, "
                             "shell: sites; defect_place: 0 facet, 1 edge, 2 corner, -1 none",
                    .description = "the initial particles, in the list's order (id k is particle "
                                   "k): x, y, core_sites requested, shell_thickness, "
                                   "defect_place, defect_sites, core and shell sites built"});
    for (int k = 0; k < NDATASETS; ++k) {
        const particle_dataset *p = &datasets[k];
        const hsize_t shapes[][4] = {{replicas},
                                     {replicas, ids},
                                     {replicas, samples},
                                     {replicas, samples, ids},
                                     {replicas, samples, ids, 2},
                                     {replicas, events, 4}};
        h5_dataset_info info = {.name = p->name,
                                .type = p->type,
                                .rank = p->rank,
                                .fill = p->fill,
                                .units = p->units,
                                .description = p->description,
                                .compress = p->rank > 1};
        memcpy(info.dims, shapes[p->shape], sizeof shapes[p->shape]);
        d[p->index] = h5_dataset(*group, &info);
    }
}

/* ---- writing ---- */

int ensemble_particles_write_set(const hid_t *d, const task_set *set) {
    const system_spec *s = &set->system;
    initial_report report;
    int status = initial_report_of(s->lx, s->ly, s->lz, s->core_sites, s->shell_thickness,
                                   &s->layout, &report);
    const int n = s->layout.nparticles;
    int64_t table[INITIAL_MAX_PARTICLES][8];
    for (int k = 0; k < n && !status; ++k) {
        const initial_particle *q = &s->layout.particles[k];
        const int64_t row[8] = {q->x,
                                q->y,
                                q->core_sites > 0 ? q->core_sites : s->core_sites,
                                q->shell_thickness >= 0 ? q->shell_thickness : s->shell_thickness,
                                q->defect.sites > 0 ? (int64_t)q->defect.place : -1,
                                q->defect.sites,
                                report.particle_core[k],
                                report.particle_shell[k]};
        memcpy(table[k], row, sizeof row);
    }
    const hsize_t start[2] = {0, 0}, count[2] = {(hsize_t)n, 8};
    if (!status) status = h5_write_block(d[PARTICLE_INITIAL], H5_I64, 2, start, count, table);
    return status;
}

static hsize_t extent_of(hid_t d, int axis) {
    hsize_t dims[5] = {0};
    const hid_t space = H5Dget_space(d);
    if (space >= 0) H5Sget_simple_extent_dims(space, dims, NULL), H5Sclose(space);
    return dims[axis];
}

/* The dense rows [sample][id] (and [2] for the centre) of one field of a replica's series. */
static void *dense(const particle_series *p, int index, hsize_t ids) {
    const int centre = index == PARTICLE_CENTRE;
    const size_t cell = centre ? 2 * sizeof(double) : sizeof(int32_t);
    void *buffer = malloc(cell * (size_t)(p->nsamples * (int64_t)ids) + 1);
    if (!buffer) return NULL;
    int32_t *i32 = buffer;
    double *f64 = buffer;
    for (int64_t k = 0; k < p->nsamples * (int64_t)ids; ++k)
        if (centre)
            f64[2 * k] = f64[2 * k + 1] = NAN;
        else
            i32[k] = -1;
    const track_particle *e = p->entries;
    for (int64_t k = 0; k < p->nsamples; ++k)
        for (int32_t j = 0; j < p->count[k]; ++j, ++e) {
            const int64_t at = k * (int64_t)ids + e->id;
            if (index == PARTICLE_CORE) i32[at] = e->core;
            if (index == PARTICLE_SHELL) i32[at] = e->shell;
            if (index == PARTICLE_EXPOSED) i32[at] = e->exposed;
            if (centre) f64[2 * at] = e->x, f64[2 * at + 1] = e->y;
        }
    return buffer;
}

/* Each id's initial particle, from the events in order (tracking.h). */
static int32_t *origins(const particle_series *p) {
    int32_t *origin = malloc(sizeof *origin * (size_t)(p->next_id + 1));
    if (!origin) return NULL;
    for (int32_t id = 0; id < p->next_id; ++id) origin[id] = id;
    for (int64_t k = 0; k < p->nevents; ++k) {
        const track_event *v = &p->events[k];
        if (v->kind == TRACK_SPLIT) origin[v->id] = origin[v->other];
        if (v->kind == TRACK_APPEAR) origin[v->id] = -1;
    }
    return origin;
}

/* One compressed dataset for n replicas: its rows built, written collectively, freed. */
static int write_rows(const hid_t *d, const particle_dataset *ds, int n, const int64_t *members,
                      task_record *const *records) {
    enum { BATCH = 64 };
    const hsize_t ids = extent_of(d[PARTICLE_CORE], 2);
    hsize_t starts[BATCH * 4] = {0}, counts[BATCH * 4] = {0};
    const void *data[BATCH] = {0};
    void *owned[BATCH] = {0};
    int status = n > BATCH ? ripen_fail(RIPEN_EINVAL, "too many replicas in one write") : RIPEN_OK;
    const int rows = status ? 0 : n, rank = ds->rank;
    for (int i = 0; i < rows; ++i) {
        const particle_series *p = replica_result_of(records[i])->particles;
        hsize_t *count = counts + i * rank;
        starts[i * rank] = (hsize_t)members[i], count[0] = 1;
        if (ds->shape == SHAPE_RS) {
            count[1] = (hsize_t)p->nsamples;
            data[i] = ds->index == PARTICLE_FREE_CORE ? p->free_core : p->free_shell;
        } else if (ds->shape == SHAPE_RE4) {
            count[1] = (hsize_t)p->nevents, count[2] = 4, data[i] = p->events;
        } else if (ds->shape == SHAPE_RP) {
            count[1] = (hsize_t)p->next_id, data[i] = owned[i] = origins(p);
        } else {
            count[1] = (hsize_t)p->nsamples, count[2] = ids;
            if (ds->shape == SHAPE_RSP2) count[3] = 2;
            data[i] = owned[i] = dense(p, ds->index, ids);
        }
        /* The series and events are the record's own (NULL with no events: nothing to copy);
         * only the rows built here can fail. */
        if (!status && ds->shape != SHAPE_RS && ds->shape != SHAPE_RE4 && !owned[i])
            status = ripen_fail(RIPEN_ENOMEM, "out of memory for the particles' rows");
    }
    /* Collective: the same call on every rank, with no rows after a failure. */
    const int written =
        h5_write_blocks(d[ds->index], ds->type, rank, status ? 0 : rows, starts, counts, data);
    for (int i = 0; i < rows; ++i) free(owned[i]);
    return status ? status : written;
}

int ensemble_particles_write(const hid_t *d, int n, const int64_t *members,
                             task_record *const *records) {
    int status = RIPEN_OK;
    for (int i = 0; i < n && !status; ++i) {
        const particle_series *p = replica_result_of(records[i])->particles;
        const hsize_t row[1] = {(hsize_t)members[i]}, one[1] = {1};
        const int64_t ids = p->next_id, events = p->nevents;
        status = h5_write_block(d[PARTICLE_COUNT], H5_I64, 1, row, one, &ids);
        if (!status) status = h5_write_block(d[PARTICLE_EVENT_COUNT], H5_I64, 1, row, one, &events);
    }
    for (int k = 0; k < NDATASETS; ++k) {
        if (datasets[k].rank == 1) continue;
        const int written = write_rows(d, &datasets[k], status ? 0 : n, members, records);
        if (!status) status = written;
    }
    return status;
}

/* ---- reading back and sizes ---- */

/* The sparse entries from the dense fields read for `ids` ids. */
static int gather_entries(particle_series *p, const int32_t *core, const int32_t *shell,
                          const int32_t *exposed, const double *centre, int64_t ids) {
    int64_t n = 0;
    for (int64_t k = 0; k < p->nsamples * ids; ++k) n += core[k] >= 0;
    if (reserve((void **)&p->entries, &p->entry_capacity, n, sizeof *p->entries))
        return RIPEN_ENOMEM;
    p->nentries = 0;
    for (int64_t k = 0; k < p->nsamples; ++k) {
        p->count[k] = 0;
        for (int64_t id = 0; id < ids; ++id) {
            const int64_t at = k * ids + id;
            if (core[at] < 0) continue;
            p->entries[p->nentries++] = (track_particle){.id = (int32_t)id,
                                                         .core = core[at],
                                                         .shell = shell[at],
                                                         .exposed = exposed[at],
                                                         .x = centre[2 * at],
                                                         .y = centre[2 * at + 1]};
            p->count[k]++;
        }
    }
    return RIPEN_OK;
}

static int load_fields(hid_t g, int64_t member, particle_series *p) {
    const int64_t ids = p->next_id, cells = p->nsamples * ids;
    int32_t *core = malloc(sizeof *core * (size_t)(cells + 1));
    int32_t *shell = malloc(sizeof *shell * (size_t)(cells + 1));
    int32_t *exposed = malloc(sizeof *exposed * (size_t)(cells + 1));
    double *centre = malloc(sizeof *centre * (size_t)(2 * cells + 1));
    int status = core && shell && exposed && centre ? RIPEN_OK : RIPEN_ENOMEM;
    const hsize_t start[4] = {(hsize_t)member, 0, 0, 0};
    const hsize_t count[4] = {1, (hsize_t)p->nsamples, (hsize_t)ids, 2};
    if (!status) status = h5_read_from(g, "core", H5_I32, 3, start, count, core);
    if (!status) status = h5_read_from(g, "shell", H5_I32, 3, start, count, shell);
    if (!status) status = h5_read_from(g, "exposed_core", H5_I32, 3, start, count, exposed);
    if (!status) status = h5_read_from(g, "centre", H5_F64, 4, start, count, centre);
    if (!status) status = gather_entries(p, core, shell, exposed, centre, ids);
    free(core), free(shell), free(exposed), free(centre);
    return status;
}

int ensemble_particles_load(hid_t set_group, int64_t member, int64_t nsamples, particle_series *p) {
    const hid_t g = H5Gopen2(set_group, "particles", H5P_DEFAULT);
    if (g < 0) return RIPEN_EIO;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t ids = 0, events = 0;
    int status = h5_read_from(g, "count", H5_I64, 1, row, one, &ids);
    if (!status) status = h5_read_from(g, "event_count", H5_I64, 1, row, one, &events);
    if (!status && (ids < 0 || ids > TRACK_MAX_IDS || events < 0 || nsamples < 0))
        status = RIPEN_EIO;
    p->next_id = (int32_t)ids, p->nsamples = nsamples, p->nevents = 0, p->nowned = 0;
    if (!status && (reserve_samples(p, nsamples) ||
                    reserve((void **)&p->events, &p->event_capacity, events, sizeof *p->events)))
        status = RIPEN_ENOMEM;
    const hsize_t start[3] = {(hsize_t)member, 0, 0};
    const hsize_t samples[2] = {1, (hsize_t)nsamples}, rows[3] = {1, (hsize_t)events, 4};
    if (!status) status = h5_read_from(g, "free_core", H5_I32, 2, start, samples, p->free_core);
    if (!status) status = h5_read_from(g, "free_shell", H5_I32, 2, start, samples, p->free_shell);
    if (!status) status = h5_read_from(g, "events", H5_I64, 3, start, rows, p->events);
    if (!status) p->nevents = events;
    if (!status) status = load_fields(g, member, p);
    H5Gclose(g);
    return status;
}

double ensemble_particles_bytes(double replicas, double samples, double ids, double events,
                                double initial) {
    return initial * 64 + replicas * (2 * 8 + ids * 4 + samples * (8 + ids * 28) + events * 32);
}
