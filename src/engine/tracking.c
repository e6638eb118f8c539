/* Per-particle tracking (ripen/engine/tracking.h): core clusters by breadth-first search from the
 * columns that hold core, shell by a level-synchronous search through shell, identity by
 * overlap with the previous sample. */
#include "ripen/engine/tracking.h"

#include "ripen/engine/error.h"
#include "ripen/engine/observe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const track_event_names[TRACK_EVENT_KINDS] = {"vanish", "merge", "split", "appear"};

/* What happened to a particle of the previous sample, during the matching. */
enum { ID_UNSEEN = 0, ID_ALIVE, ID_CONTINUED, ID_MERGED, ID_ORPHAN };

/* Per-cluster and per-id arrays, grown as needed. */
typedef struct {
    int32_t *columns; /* ncolumns: the columns holding core */
    /* per cluster of this sample, in cluster order */
    int64_t nclusters, cluster_capacity;
    int64_t *start;         /* its first entry in queue */
    int32_t *size;          /* core sites */
    int32_t *exposed;       /* exposed core sites */
    int64_t *sum_x, *sum_y; /* of its unwrapped coordinates */
    int32_t *id;            /* the particle it is, or -1 (debris, or not decided yet) */
    int32_t *best;          /* the previous particle it overlaps most, or -1 */
    int32_t *best_count;    /* ... by how many sites */
    int32_t *parent;        /* a fragment's: the particle it split from, or -1 */
    /* per id */
    int64_t id_capacity;
    int32_t *tally;        /* overlap being counted */
    int32_t *best_cluster; /* the cluster the previous particle overlaps most, or -1 */
    int32_t *best_cluster_count;
    uint8_t *fate;    /* ID_* */
    int32_t *shell;   /* shell sites assigned at this sample */
    int32_t *touched; /* ids with a nonzero tally */
    int32_t *alive;   /* the particles of the previous sample, by increasing id */
    int32_t nalive;
    int64_t event_capacity;
    int64_t particle_capacity;
} work;

static work *work_of(const tracker *t) {
    return t->work;
}

static void *grow(void *p, int64_t n, size_t element) {
    return realloc(p, (size_t)(n > 0 ? n : 1) * element);
}

int tracker_init(tracker *t, const lattice *lat, int32_t min_core) {
    *t = (tracker){.lat = lat, .min_core = min_core > 0 ? min_core : 1};
    const size_t n = (size_t)lat->nsites;
    t->owner = malloc(sizeof *t->owner * n);
    t->label = malloc(sizeof *t->label * n);
    t->level = malloc(sizeof *t->level * n);
    t->nearest = malloc(sizeof *t->nearest * n);
    t->queue = malloc(sizeof *t->queue * 2 * n);
    t->ux = malloc(sizeof *t->ux * n);
    t->uy = malloc(sizeof *t->uy * n);
    work *w = t->work = calloc(1, sizeof *w);
    if (w) w->columns = malloc(sizeof *w->columns * (size_t)lat->ncolumns);
    if (!t->owner || !t->label || !t->level || !t->nearest || !t->queue || !t->ux || !t->uy || !w ||
        !w->columns) {
        tracker_free(t);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for particle tracking");
    }
    for (size_t i = 0; i < n; ++i) t->owner[i] = t->label[i] = t->level[i] = -1;
    return RIPEN_OK;
}

void tracker_free(tracker *t) {
    work *w = t->work;
    if (w) {
        free(w->columns), free(w->start), free(w->size), free(w->exposed), free(w->sum_x);
        free(w->sum_y), free(w->id), free(w->best), free(w->best_count), free(w->parent);
        free(w->tally);
        free(w->best_cluster), free(w->best_cluster_count), free(w->fate), free(w->shell);
        free(w->touched), free(w->alive), free(w);
    }
    free(t->owner), free(t->label), free(t->level), free(t->nearest), free(t->queue);
    free(t->ux), free(t->uy), free(t->owned_site), free(t->owned_id), free(t->particles);
    free(t->events);
    *t = (tracker){0};
}

/* Room for ids 0 .. n - 1 in the per-id arrays (new entries zero or -1). */
static int reserve_ids(work *w, int64_t n) {
    if (n <= w->id_capacity) return RIPEN_OK;
    const int64_t want = n > 2 * w->id_capacity ? n : 2 * w->id_capacity;
    int32_t **arrays32[] = {&w->tally, &w->best_cluster, &w->best_cluster_count,
                            &w->shell, &w->touched,      &w->alive};
    for (size_t k = 0; k < sizeof arrays32 / sizeof *arrays32; ++k) {
        int32_t *g = grow(*arrays32[k], want, sizeof(int32_t));
        if (!g) return RIPEN_ENOMEM;
        *arrays32[k] = g;
        memset(g + w->id_capacity, 0, sizeof *g * (size_t)(want - w->id_capacity));
    }
    uint8_t *fate = grow(w->fate, want, 1);
    if (!fate) return RIPEN_ENOMEM;
    memset(fate + w->id_capacity, ID_UNSEEN, (size_t)(want - w->id_capacity));
    w->fate = fate, w->id_capacity = want;
    return RIPEN_OK;
}

static int reserve_clusters(work *w, int64_t n) {
    if (n <= w->cluster_capacity) return RIPEN_OK;
    const int64_t want = n > 2 * w->cluster_capacity ? n : 2 * w->cluster_capacity;
    int32_t **arrays32[] = {&w->size, &w->exposed, &w->id, &w->best, &w->best_count, &w->parent};
    int64_t **arrays64[] = {&w->start, &w->sum_x, &w->sum_y};
    for (size_t k = 0; k < sizeof arrays32 / sizeof *arrays32; ++k) {
        int32_t *g = grow(*arrays32[k], want, sizeof(int32_t));
        if (!g) return RIPEN_ENOMEM;
        *arrays32[k] = g;
    }
    for (size_t k = 0; k < sizeof arrays64 / sizeof *arrays64; ++k) {
        int64_t *g = grow(*arrays64[k], want, sizeof(int64_t));
        if (!g) return RIPEN_ENOMEM;
        *arrays64[k] = g;
    }
    w->cluster_capacity = want;
    return RIPEN_OK;
}

static int reserve_owned(tracker *t, int64_t n) {
    if (n <= t->owned_capacity) return RIPEN_OK;
    const int64_t want = n > 2 * t->owned_capacity ? n : 2 * t->owned_capacity;
    int32_t *sites = grow(t->owned_site, want, sizeof *sites);
    if (!sites) return RIPEN_ENOMEM;
    t->owned_site = sites;
    int32_t *ids = grow(t->owned_id, want, sizeof *ids);
    if (!ids) return RIPEN_ENOMEM;
    t->owned_id = ids, t->owned_capacity = want;
    return RIPEN_OK;
}

int tracker_restore(tracker *t, int32_t next_id, int64_t n, const int32_t *sites,
                    const int32_t *ids) {
    if (next_id < 0 || next_id > TRACK_MAX_IDS || n < 0 || n > t->lat->nsites)
        return ripen_fail(RIPEN_EINVAL, "tracking state: %d ids, %lld sites: out of range", next_id,
                          (long long)n);
    for (int64_t k = 0; k < n; ++k)
        if (sites[k] < 0 || sites[k] >= t->lat->nsites || ids[k] < 0 || ids[k] >= next_id)
            return ripen_fail(RIPEN_EINVAL, "tracking state: site %d, id %d: out of range",
                              sites[k], ids[k]);
    if (reserve_owned(t, n) || reserve_ids(work_of(t), next_id))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for particle tracking");
    for (int64_t k = 0; k < t->nowned; ++k) t->owner[t->owned_site[k]] = -1;
    if (n > 0) { /* an empty state may come as NULL arrays, which memcpy must not be given */
        memcpy(t->owned_site, sites, sizeof *sites * (size_t)n);
        memcpy(t->owned_id, ids, sizeof *ids * (size_t)n);
    }
    for (int64_t k = 0; k < n; ++k) t->owner[sites[k]] = ids[k];
    t->nowned = n, t->next_id = next_id;
    return RIPEN_OK;
}

/* ---- clusters ---- */

static int is_state(const replica *r, int32_t i, int state) {
    return site_state(r->site[i]) == state;
}

static int touches_solution(const replica *r, int32_t i) {
    const int32_t *n = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        if (is_state(r, n[d], STATE_SOLUTION)) return 1;
    return 0;
}

/* Breadth-first from `seed`: a new cluster whose sites are appended to queue at *tail. */
static void grow_cluster(tracker *t, const replica *r, int32_t seed, int64_t *tail) {
    work *w = work_of(t);
    const lattice *lat = t->lat;
    const int64_t m = w->nclusters++, first = *tail;
    int x, y, z;
    lattice_coords(lat, seed, &x, &y, &z);
    t->queue[*tail] = seed, t->ux[*tail] = x, t->uy[*tail] = y, ++*tail;
    t->label[seed] = (int32_t)m;
    int64_t sx = 0, sy = 0;
    int32_t exposed = 0;
    for (int64_t head = first; head < *tail; ++head) {
        const int32_t i = t->queue[head];
        sx += t->ux[head], sy += t->uy[head];
        exposed += touches_solution(r, i);
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t j = lattice_neighbour(lat, i, d);
            if (t->label[j] >= 0 || !is_state(r, j, STATE_CORE)) continue;
            t->label[j] = (int32_t)m;
            t->queue[*tail] = j;
            t->ux[*tail] = t->ux[head] + lattice_direction_dx[d];
            t->uy[*tail] = t->uy[head] + lattice_direction_dy[d];
            ++*tail;
        }
    }
    w->start[m] = first, w->size[m] = (int32_t)(*tail - first), w->exposed[m] = exposed;
    w->sum_x[m] = sx, w->sum_y[m] = sy;
    w->id[m] = w->best[m] = -1, w->best_count[m] = 0;
}

/* Every core cluster, from the columns holding core; returns the core sites visited. */
static int find_clusters(tracker *t, const replica *r, int64_t *visited) {
    work *w = work_of(t);
    const lattice *lat = t->lat;
    const int32_t ncolumns = replica_core_columns(r, w->columns);
    int64_t tail = 0;
    w->nclusters = 0;
    for (int32_t k = 0; k < ncolumns; ++k)
        for (int32_t i = w->columns[k]; i < lat->nsites; i += lat->ncolumns)
            if (t->label[i] < 0 && is_state(r, i, STATE_CORE)) {
                if (reserve_clusters(w, w->nclusters + 1)) return RIPEN_ENOMEM;
                grow_cluster(t, r, i, &tail);
            }
    *visited = tail;
    return RIPEN_OK;
}

/* ---- identity ---- */

static int is_particle(const tracker *t, int64_t m) {
    return work_of(t)->size[m] >= t->min_core;
}

/* The particles of the previous sample, by increasing id, marked alive. */
static void collect_alive(tracker *t) {
    work *w = work_of(t);
    w->nalive = 0;
    for (int64_t k = 0; k < t->nowned; ++k) {
        const int32_t id = t->owned_id[k];
        if (w->fate[id] == ID_UNSEEN) w->fate[id] = ID_ALIVE, w->alive[w->nalive++] = id;
        w->best_cluster[id] = -1, w->best_cluster_count[id] = 0;
    }
    for (int32_t a = 1; a < w->nalive; ++a) /* insertion sort: few particles */
        for (int32_t b = a; b > 0 && w->alive[b - 1] > w->alive[b]; --b) {
            const int32_t s = w->alive[b];
            w->alive[b] = w->alive[b - 1], w->alive[b - 1] = s;
        }
}

/* After a cluster's tally: its best previous particle, and each particle's best cluster. */
static void settle_tally(work *w, int64_t m, int32_t ntouched) {
    for (int32_t k = 0; k < ntouched; ++k) {
        const int32_t p = w->touched[k], count = w->tally[p];
        w->tally[p] = 0;
        if (count > w->best_count[m] || (count == w->best_count[m] && p < w->best[m]))
            w->best[m] = p, w->best_count[m] = count;
        if (count > w->best_cluster_count[p])
            w->best_cluster[p] = (int32_t)m, w->best_cluster_count[p] = count;
    }
}

static void tally(work *w, int32_t p, int32_t *ntouched) {
    if (w->tally[p]++ == 0) w->touched[(*ntouched)++] = p;
}

/* Overlap: a cluster's core sites that were core of particle p at the previous sample. */
static void overlap(tracker *t, int64_t m) {
    work *w = work_of(t);
    int32_t ntouched = 0;
    for (int64_t q = w->start[m]; q < w->start[m] + w->size[m]; ++q) {
        const int32_t p = t->owner[t->queue[q]];
        if (p >= 0) tally(w, p, &ntouched);
    }
    settle_tally(w, m, ntouched);
}

/* Adjacency, for a cluster without overlap: its sites next to the former core of a particle
 * that has no overlap with any cluster either (each site counts once per particle). */
static void adjacency(tracker *t, int64_t m) {
    work *w = work_of(t);
    int32_t ntouched = 0;
    for (int64_t q = w->start[m]; q < w->start[m] + w->size[m]; ++q) {
        int32_t seen[LATTICE_DIRECTIONS], nseen = 0;
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t p = t->owner[lattice_neighbour(t->lat, t->queue[q], d)];
            if (p < 0 || w->fate[p] != ID_ORPHAN) continue;
            int again = 0;
            for (int k = 0; k < nseen; ++k) again |= seen[k] == p;
            if (!again) seen[nseen++] = p, tally(w, p, &ntouched);
        }
    }
    settle_tally(w, m, ntouched);
}

static int add_event(tracker *t, uint64_t step, track_event_kind kind, int32_t id, int32_t other) {
    work *w = work_of(t);
    if (t->nevents >= w->event_capacity) {
        const int64_t want = w->event_capacity ? 2 * w->event_capacity : 16;
        track_event *g = grow(t->events, want, sizeof *g);
        if (!g) return RIPEN_ENOMEM;
        t->events = g, w->event_capacity = want;
    }
    t->events[t->nevents++] =
        (track_event){.step = (int64_t)step, .kind = kind, .id = id, .other = other};
    return RIPEN_OK;
}

/* Clusters that continue a particle of fate `fate`: mutual best (by overlap, or adjacency). */
static void continue_mutual(tracker *t, int fate) {
    work *w = work_of(t);
    for (int64_t m = 0; m < w->nclusters; ++m) {
        const int32_t p = w->best[m];
        if (w->id[m] >= 0 || p < 0 || !is_particle(t, m) || w->fate[p] != fate ||
            w->best_cluster[p] != m)
            continue;
        w->id[m] = p, w->fate[p] = ID_CONTINUED;
    }
}

static int new_id(tracker *t, int64_t m) {
    work *w = work_of(t);
    if (t->next_id >= TRACK_MAX_IDS)
        return ripen_fail(RIPEN_EINVAL,
                          "particle tracking: more than %d particles appeared or split off; "
                          "raise track_min_core",
                          TRACK_MAX_IDS);
    if (reserve_ids(w, (int64_t)t->next_id + 1))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for particle tracking");
    w->id[m] = t->next_id++;
    return RIPEN_OK;
}

/* The particles of the previous sample that went on in no cluster: merged into the cluster
 * they overlap most, or orphans (no overlap) left to the adjacency pass. */
static void mark_merged(work *w) {
    for (int32_t a = 0; a < w->nalive; ++a) {
        const int32_t p = w->alive[a];
        if (w->fate[p] == ID_ALIVE)
            w->fate[p] = w->best_cluster_count[p] > 0 ? ID_MERGED : ID_ORPHAN;
    }
}

/* New ids in cluster order: fragments (SPLIT) and clusters new to the record (APPEAR). */
static int give_new_ids(tracker *t, uint64_t step) {
    work *w = work_of(t);
    int status = RIPEN_OK;
    for (int64_t m = 0; m < w->nclusters && !status; ++m) {
        if (w->id[m] >= 0 || !is_particle(t, m)) continue;
        status = new_id(t, m);
        if (!status)
            status = add_event(t, step, w->parent[m] >= 0 ? TRACK_SPLIT : TRACK_APPEAR, w->id[m],
                               w->parent[m]);
    }
    return status;
}

/* The matching (tracking.h, "Identity"). Events in a fixed order: new ids in cluster order,
 * then merges, then vanishings, each by increasing id. */
static int match(tracker *t, uint64_t step) {
    work *w = work_of(t);
    collect_alive(t);
    for (int64_t m = 0; m < w->nclusters; ++m)
        if (is_particle(t, m)) overlap(t, m);
    continue_mutual(t, ID_ALIVE);
    for (int64_t m = 0; m < w->nclusters; ++m) w->parent[m] = w->id[m] < 0 ? w->best[m] : -1;
    mark_merged(w);
    for (int64_t m = 0; m < w->nclusters; ++m)
        if (is_particle(t, m) && w->id[m] < 0 && w->parent[m] < 0) adjacency(t, m);
    continue_mutual(t, ID_ORPHAN);
    int status = give_new_ids(t, step);
    for (int32_t a = 0; a < w->nalive && !status; ++a) {
        const int32_t p = w->alive[a];
        if (w->fate[p] == ID_MERGED)
            status = add_event(t, step, TRACK_MERGE, p, w->id[w->best_cluster[p]]);
    }
    for (int32_t a = 0; a < w->nalive && !status; ++a)
        if (w->fate[w->alive[a]] == ID_ORPHAN)
            status = add_event(t, step, TRACK_VANISH, w->alive[a], -1);
    for (int32_t a = 0; a < w->nalive; ++a) w->fate[w->alive[a]] = ID_UNSEEN;
    return status;
}

/* ---- shell ---- */

/* Every shell site reached from the particles' core through shell goes to the nearest one (the
 * smaller id on a tie): a search level by level, so the result is independent of the order in
 * which a level is visited. Uses queue from `from`; returns the shell sites assigned. */
static int64_t assign_shell(tracker *t, const replica *r, int64_t from) {
    work *w = work_of(t);
    int64_t tail = from;
    for (int64_t m = 0; m < w->nclusters; ++m) {
        if (w->id[m] < 0) continue;
        w->shell[w->id[m]] = 0;
        for (int64_t q = w->start[m]; q < w->start[m] + w->size[m]; ++q) {
            const int32_t i = t->queue[q];
            t->level[i] = 0, t->nearest[i] = w->id[m], t->queue[tail++] = i;
        }
    }
    const int64_t sources = tail;
    for (int64_t begin = from, end = tail; begin < end; begin = end, end = tail)
        for (int64_t q = begin; q < end; ++q) {
            const int32_t i = t->queue[q], id = t->nearest[i], next = t->level[i] + 1;
            for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
                const int32_t j = lattice_neighbour(t->lat, i, d);
                if (!is_state(r, j, STATE_SHELL)) continue;
                if (t->level[j] < 0)
                    t->level[j] = next, t->nearest[j] = id, t->queue[tail++] = j;
                else if (t->level[j] == next && id < t->nearest[j])
                    t->nearest[j] = id;
            }
        }
    for (int64_t q = sources; q < tail; ++q) w->shell[t->nearest[t->queue[q]]]++;
    for (int64_t q = from; q < tail; ++q) t->level[t->queue[q]] = -1;
    return tail - sources;
}

/* ---- the sample ---- */

static double wrapped_mean(int64_t sum, int32_t n, int extent) {
    double v = fmod((double)sum / n, (double)extent);
    return v < 0 ? v + extent : v;
}

static int by_id(const void *a, const void *b) {
    const int32_t x = ((const track_particle *)a)->id, y = ((const track_particle *)b)->id;
    return (x > y) - (x < y);
}

/* The particles of this sample (sorted by id) and the totals. */
static int report(tracker *t, const replica *r, int64_t shell_assigned) {
    work *w = work_of(t);
    if (w->particle_capacity < w->nclusters) {
        track_particle *g = grow(t->particles, w->nclusters, sizeof *g);
        if (!g) return RIPEN_ENOMEM;
        t->particles = g, w->particle_capacity = w->nclusters;
    }
    t->nparticles = 0;
    t->totals = (track_totals){.free_shell = r->counts.nshell - shell_assigned};
    for (int64_t m = 0; m < w->nclusters; ++m) {
        const int32_t size = w->size[m];
        if (size > t->totals.largest_cluster) t->totals.largest_cluster = size;
        t->totals.exposed_core += w->exposed[m];
        if (w->id[m] < 0) {
            t->totals.free_core += size;
            continue;
        }
        t->particles[t->nparticles++] =
            (track_particle){.id = w->id[m],
                             .core = size,
                             .shell = w->shell[w->id[m]],
                             .exposed = w->exposed[m],
                             .x = wrapped_mean(w->sum_x[m], size, t->lat->lx),
                             .y = wrapped_mean(w->sum_y[m], size, t->lat->ly)};
    }
    qsort(t->particles, (size_t)t->nparticles, sizeof *t->particles, by_id);
    return RIPEN_OK;
}

/* The particles' core sites become the identity state for the next sample. */
static int hand_on(tracker *t) {
    work *w = work_of(t);
    for (int64_t k = 0; k < t->nowned; ++k) t->owner[t->owned_site[k]] = -1;
    int64_t n = 0;
    for (int64_t m = 0; m < w->nclusters; ++m) n += w->id[m] >= 0 ? w->size[m] : 0;
    if (reserve_owned(t, n)) return RIPEN_ENOMEM;
    t->nowned = 0;
    for (int64_t m = 0; m < w->nclusters; ++m) {
        if (w->id[m] < 0) continue;
        for (int64_t q = w->start[m]; q < w->start[m] + w->size[m]; ++q) {
            const int32_t i = t->queue[q];
            t->owner[i] = w->id[m];
            t->owned_site[t->nowned] = i, t->owned_id[t->nowned++] = w->id[m];
        }
    }
    return RIPEN_OK;
}

int tracker_sample(tracker *t, const replica *r, uint64_t step) {
    t->nevents = 0;
    int64_t visited = 0;
    int status = find_clusters(t, r, &visited);
    if (!status) status = match(t, step);
    const int64_t shell = status ? 0 : assign_shell(t, r, visited);
    if (!status) status = report(t, r, shell);
    if (!status) status = hand_on(t);
    for (int64_t q = 0; q < visited; ++q) t->label[t->queue[q]] = -1;
    if (status == RIPEN_ENOMEM) return ripen_fail(status, "out of memory for particle tracking");
    return status;
}
