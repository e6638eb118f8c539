/* Job files: parsing, validation, sweep expansion and the task list (docs/jobs.md). What an
 * entry of each kind holds is the kind's business (task_kind.h); this file knows only the
 * system every entry shares, sweeps, names and task numbering. */
#include "ripen/driver/job.h"

#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/engine/initial.h"
#include "ripen/driver/task_kind.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JOB_MAX_FILE_BYTES = 16 << 20 };
#define JOB_MAX_TASKS 100000000

/* Keys of the job object besides one array per task kind. */
static const char *const root_keys_common[] = {
    "name",       "seed",      "output",  "lattice",          "model",  "dynamics", "initial",
    "shell_band", "reservoir", "comment", "output_limit_gib", "threads"};
enum { ROOT_KEYS_COMMON = sizeof root_keys_common / sizeof *root_keys_common };
static const char *const system_keys_lattice[] = {"lx", "ly", "lz", NULL};
static const char *const system_keys_initial[] = {
    "core_sites", "shell_thickness", "defect", "particles", "gap", NULL};
static const char *const defect_keys[] = {"place", "sites", NULL};
static const char *const particle_keys[] = {"x",      "y", "core_sites", "shell_thickness",
                                            "defect", NULL};
static const char *const model_keys[] = {
    "eps_core", "eps_shell", "eps_interface",  "mu_core",         "mu_shell", "energy_form",
    "move_set", "proposals", "shell_ensemble", "bond_neighbours", "p_swap",   NULL};

/* ---- the physical system ---- */

static void system_default(system_spec *s) {
    *s = (system_spec){
        .lx = 80, .ly = 80, .lz = 4, .core_sites = 200, .shell_thickness = 2, .threads = 1};
    s->layout.gap = INITIAL_DEFAULT_GAP;
    model_params_default(&s->model);
    s->dynamics = &dynamics_random_sequential;
    s->shell_band = shell_band_none();
    s->reservoir = reservoir_spec_none();
}

static int parse_lattice(const cJSON *obj, const char *path, system_spec *s) {
    int status;
    if ((status = json_require_object(obj, path)) ||
        (status = json_check_keys(obj, path, system_keys_lattice)))
        return status;
    int64_t v[3] = {s->lx, s->ly, s->lz};
    const char *const names[3] = {"lx", "ly", "lz"};
    for (int k = 0; k < 3; ++k)
        if ((status =
                 json_get_int(obj, names[k], path, LATTICE_MIN_EXTENT, LATTICE_MAX_EXTENT, &v[k])))
            return status;
    s->lx = (int)v[0], s->ly = (int)v[1], s->lz = (int)v[2];
    return RIPEN_OK;
}

static int parse_model(const cJSON *obj, const char *path, model_params *p) {
    int status;
    if ((status = json_require_object(obj, path)) ||
        (status = json_check_keys(obj, path, model_keys)))
        return status;
    static const char *const text_keys[] = {"energy_form", "move_set", "proposals",
                                            "shell_ensemble", NULL};
    for (const cJSON *item = obj->child; item; item = item->next) {
        char where[1024];
        json_path_join(where, sizeof where, path, item->string);
        int is_text = 0;
        for (const char *const *key = text_keys; *key; ++key)
            is_text |= !strcmp(*key, item->string);
        if (is_text && !cJSON_IsString(item))
            status = ripen_fail(RIPEN_EINVAL, "%s: must be a string", where);
        else if (is_text)
            status = model_params_set_text(p, item->string, item->valuestring, where);
        else if (!cJSON_IsNumber(item))
            status = ripen_fail(RIPEN_EINVAL, "%s: must be a number", where);
        else
            status = model_params_set_number(p, item->string, item->valuedouble, where);
        if (status) return status;
    }
    return RIPEN_OK;
}

/* "defect": {"place": "facet", "sites": 4} at `path`. */
static int parse_defect(const cJSON *obj, const char *path, initial_defect *d) {
    int status;
    if ((status = json_require_object(obj, path)) ||
        (status = json_check_keys(obj, path, defect_keys)))
        return status;
    char place[32] = "facet";
    if ((status = json_get_string(obj, "place", path, place, sizeof place))) return status;
    const int p = model_lookup_name(defect_place_names, DEFECT_PLACES, place);
    if (p < 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.place = \"%s\": must be one of \"facet\", \"edge\", \"corner\"", path,
                          place);
    if (!cJSON_GetObjectItemCaseSensitive(obj, "sites"))
        return ripen_fail(RIPEN_EINVAL, "%s.sites: required (the shell sites to remove)", path);
    int64_t sites = 0;
    if ((status = json_get_int(obj, "sites", path, 1, LATTICE_MAX_SITES, &sites))) return status;
    *d = (initial_defect){.sites = (int)sites, .place = (defect_place)p};
    return RIPEN_OK;
}

/* The system keys of a defect given at `key` in `obj`, if present. */
static int parse_defect_key(const cJSON *obj, const char *path, initial_defect *d) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "defect");
    if (!item) return RIPEN_OK;
    char where[1100];
    json_path_join(where, sizeof where, path, "defect");
    return parse_defect(item, where, d);
}

/* One particle of "particles": {"x": 60, "y": 60, "core_sites": 300, "shell_thickness": 2}. */
static int parse_particle(const cJSON *obj, const char *path, initial_particle *q) {
    int status;
    if ((status = json_require_object(obj, path)) ||
        (status = json_check_keys(obj, path, particle_keys)))
        return status;
    *q = (initial_particle){.core_sites = 0, .shell_thickness = -1};
    int64_t x = -1, y = -1, core = 0, shell = -1;
    const char *const axes[2] = {"x", "y"};
    for (int k = 0; k < 2; ++k)
        if (!cJSON_GetObjectItemCaseSensitive(obj, axes[k]))
            return ripen_fail(RIPEN_EINVAL, "%s.%s: required (the column of the particle's centre)",
                              path, axes[k]);
    if ((status = json_get_int(obj, "x", path, 0, LATTICE_MAX_EXTENT - 1, &x)) ||
        (status = json_get_int(obj, "y", path, 0, LATTICE_MAX_EXTENT - 1, &y)) ||
        (status = json_get_int(obj, "core_sites", path, 1, LATTICE_MAX_SITES, &core)) ||
        (status =
             json_get_int(obj, "shell_thickness", path, 0, INITIAL_MAX_SHELL_THICKNESS, &shell)) ||
        (status = parse_defect_key(obj, path, &q->defect)))
        return status;
    q->x = (int)x, q->y = (int)y, q->core_sites = core, q->shell_thickness = (int)shell;
    return RIPEN_OK;
}

static int parse_particles(const cJSON *obj, const char *path, initial_layout *l) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "particles");
    if (!list) return RIPEN_OK;
    char where[1100];
    json_path_join(where, sizeof where, path, "particles");
    const int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > INITIAL_MAX_PARTICLES)
        return ripen_fail(RIPEN_EINVAL, "%s: must be a list of 1 to %d particles", where,
                          INITIAL_MAX_PARTICLES);
    for (int k = 0; k < n; ++k) {
        char item[1200];
        snprintf(item, sizeof item, "%s[%d]", where, k);
        const int status = parse_particle(cJSON_GetArrayItem(list, k), item, &l->particles[k]);
        if (status) return status;
    }
    l->nparticles = n;
    return RIPEN_OK;
}

static int parse_initial(const cJSON *obj, const char *path, system_spec *s) {
    int status;
    if ((status = json_require_object(obj, path)) ||
        (status = json_check_keys(obj, path, system_keys_initial)))
        return status;
    int64_t shell = s->shell_thickness, gap = s->layout.gap;
    if ((status = json_get_int(obj, "core_sites", path, 1, LATTICE_MAX_SITES, &s->core_sites)) ||
        (status =
             json_get_int(obj, "shell_thickness", path, 0, INITIAL_MAX_SHELL_THICKNESS, &shell)) ||
        (status = json_get_int(obj, "gap", path, 1, INITIAL_MAX_GAP, &gap)) ||
        (status = parse_defect_key(obj, path, &s->layout.defect)) ||
        (status = parse_particles(obj, path, &s->layout)))
        return status;
    s->shell_thickness = (int)shell;
    s->layout.gap = (int)gap;
    return RIPEN_OK;
}

/* Applies the system keys present in `obj` (lattice, model, dynamics, initial, shell_band,
 * reservoir and the shell_thickness shortcut) on top of `s`. */
int job_entry_system(const cJSON *obj, const char *path, system_spec *s) {
    char where[1024];
    int status = RIPEN_OK;
    const cJSON *item;
    json_path_join(where, sizeof where, path, "lattice");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "lattice")) &&
        (status = parse_lattice(item, where, s)))
        return status;
    json_path_join(where, sizeof where, path, "model");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "model")) &&
        (status = parse_model(item, where, &s->model)))
        return status;
    json_path_join(where, sizeof where, path, "initial");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "initial")) &&
        (status = parse_initial(item, where, s)))
        return status;
    int64_t shell = s->shell_thickness;
    if ((status =
             json_get_int(obj, "shell_thickness", path, 0, INITIAL_MAX_SHELL_THICKNESS, &shell)))
        return status;
    s->shell_thickness = (int)shell;
    json_path_join(where, sizeof where, path, "shell_band");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "shell_band")) &&
        (status = shell_band_parse(item, where, &s->shell_band)))
        return status;
    json_path_join(where, sizeof where, path, "reservoir");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "reservoir")) &&
        (status = reservoir_spec_parse(item, where, &s->reservoir)))
        return status;
    json_path_join(where, sizeof where, path, "dynamics");
    if ((item = cJSON_GetObjectItemCaseSensitive(obj, "dynamics"))) {
        if (!cJSON_IsString(item))
            return ripen_fail(RIPEN_EINVAL, "%s: must be a string naming a dynamics", where);
        if (!(s->dynamics = dynamics_find(item->valuestring, where))) return RIPEN_EINVAL;
    }
    int64_t threads = s->threads;
    if ((status = json_get_int(obj, "threads", path, 1, DYNAMICS_MAX_THREADS, &threads)))
        return status;
    s->threads = (int)threads;
    return RIPEN_OK;
}

/* The whole system must make sense together: extents, parameters, an initial particle that fits
 * (built on a bare geometry to find out), a shell band that holds it and a reservoir (both
 * resolved here, against that particle). */
static int check_system(system_spec *s, const char *path, initial_report *report) {
    int status = lattice_check_extents(s->lx, s->ly, s->lz);
    if (!status) status = model_params_validate(&s->model);
    if (status) return ripen_fail_context(status, "%s: ", path);
    status = initial_report_of(s->lx, s->ly, s->lz, s->core_sites, s->shell_thickness, &s->layout,
                               report);
    if (status) return ripen_fail_context(status, "%s.initial: ", path);
    const int64_t nsites = (int64_t)s->lx * s->ly * s->lz;
    status = shell_band_resolve(&s->shell_band, report->shell_sites, nsites, s->model.shell, path);
    if (status) return status;
    return reservoir_spec_resolve(&s->reservoir, report->core_sites, report->shell_sites, nsites,
                                  s->model.shell, path);
}

static int check_name(const char *name, const char *path) {
    if (!name[0]) return ripen_fail(RIPEN_EINVAL, "%s.name: must not be empty", path);
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return ripen_fail(RIPEN_EINVAL,
                          "%s.name = \"%s\": not a name HDF5 can give a group (\".\" and \"..\" "
                          "are paths)",
                          path, name);
    for (const char *c = name; *c; ++c)
        if (!isalnum((unsigned char)*c) && !strchr("_-+.,=@", *c))
            return ripen_fail(RIPEN_EINVAL,
                              "%s.name = \"%s\": use letters, digits and _-+.,=@ only (it names "
                              "an HDF5 group)",
                              path, name);
    return RIPEN_OK;
}

int job_entry_check_steps(const char *path, const char *key, uint64_t steps, const system_spec *s) {
    const uint64_t sites = (uint64_t)s->lx * (uint64_t)s->ly * (uint64_t)s->lz;
    const uint64_t most = (UINT64_C(1) << 63) / (sites + 1);
    if (steps <= most) return RIPEN_OK;
    return ripen_fail(RIPEN_EINVAL,
                      "%s.%s = %llu: on the %d x %d x %d lattice (%llu sites) the random numbers' "
                      "index, steps x (sites + 1), would pass 2^63 and repeat; at most %llu steps "
                      "here",
                      path, key, (unsigned long long)steps, s->lx, s->ly, s->lz,
                      (unsigned long long)sites, (unsigned long long)most);
}

int job_entry_name(const cJSON *obj, const char *path, char *name, size_t capacity) {
    const int status = json_get_string(obj, "name", path, name, capacity);
    return status ? status : check_name(name, path);
}

/* ---- sweeps: expanded on the JSON itself, so every point is parsed like a plain entry ---- */

/* Sets the value at dotted path `key` ("model.mu_shell") inside `obj`, creating objects. */
static int json_set_path(cJSON *obj, const char *key, const cJSON *value, const char *path) {
    char head[256];
    const char *dot = strchr(key, '.');
    const size_t n = dot ? (size_t)(dot - key) : strlen(key);
    if (n == 0 || n >= sizeof head)
        return ripen_fail(RIPEN_EINVAL, "%s.sweep: bad key \"%s\"", path, key);
    memcpy(head, key, n);
    head[n] = '\0';
    if (!dot) {
        cJSON *copy = cJSON_Duplicate(value, 1);
        if (!copy) return ripen_fail(RIPEN_ENOMEM, "out of memory expanding a sweep");
        if (cJSON_HasObjectItem(obj, head)) cJSON_DeleteItemFromObjectCaseSensitive(obj, head);
        cJSON_AddItemToObject(obj, head, copy);
        return RIPEN_OK;
    }
    cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, head);
    if (!child) child = cJSON_AddObjectToObject(obj, head);
    if (!cJSON_IsObject(child))
        return ripen_fail(RIPEN_EINVAL, "%s.sweep: \"%s\" does not lead into an object", path, key);
    return json_set_path(child, dot + 1, value, path);
}

static void format_value(const cJSON *v, char *out, size_t capacity) {
    if (cJSON_IsString(v))
        snprintf(out, capacity, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(out, capacity, "%.12g", v->valuedouble);
    else
        snprintf(out, capacity, "%s", cJSON_IsTrue(v) ? "true" : "false");
}

/* A sweep key may name several paths separated by commas ("model.eps_shell,model.eps_interface"),
 * all set to the same value: parameters the paper ties together move together. */
static int set_sweep_paths(cJSON *obj, const char *key, const cJSON *value, const char *path) {
    char paths[512];
    if (strlen(key) >= sizeof paths)
        return ripen_fail(RIPEN_EINVAL, "%s.sweep: key \"%.40s...\" too long", path, key);
    strcpy(paths, key);
    int status = RIPEN_OK;
    for (char *one = paths, *next; one && !status; one = next) {
        next = strchr(one, ',');
        if (next) *next++ = '\0';
        status = json_set_path(obj, one, value, path);
    }
    return status;
}

/* The last component of each path of a sweep key, joined by '+': "eps_shell+eps_interface". */
static void append_leaves(char *label, size_t capacity, const char *key) {
    const char *start = key;
    for (int first = 1; *start; first = 0) {
        const char *end = strchr(start, ',');
        const size_t length = end ? (size_t)(end - start) : strlen(start);
        const char *leaf = start;
        for (const char *c = start; c < start + length; ++c)
            if (*c == '.') leaf = c + 1;
        const size_t used = strlen(label);
        snprintf(label + used, capacity - used, "%s%.*s", first ? "" : "+",
                 (int)(length - (size_t)(leaf - start)), leaf);
        if (!end) break;
        start = end + 1;
    }
}

/* The paths one sweep key sets ("model.eps_shell,model.eps_interface" sets two). */
static int split_paths(const char *key, char paths[][256], int capacity) {
    int n = 0;
    for (const char *start = key; n < capacity;) {
        const char *end = strchr(start, ',');
        const size_t length = end ? (size_t)(end - start) : strlen(start);
        snprintf(paths[n++], 256, "%.*s", (int)(length < 255 ? length : 255), start);
        if (!end) break;
        start = end + 1;
    }
    return n;
}

/* Whether setting path a also sets (part of) b or the other way round: "model" and
 * "model.mu_core" overlap, "model.mu_core" and "model.mu_shell" do not. */
static int paths_overlap(const char *a, const char *b) {
    const size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
    return strncmp(a, b, n) == 0 && (la == lb || (la < lb ? b[la] : a[lb]) == '.');
}

/* Every point's label must say what its parameters are: no setting swept twice (directly or
 * through a tied key), and no sweep of the entry's name or of the sweep itself. */
static int check_sweep_paths(const cJSON *sweep, const char *where) {
    enum { MAX_PATHS = 64 };
    char paths[MAX_PATHS][256];
    const char *owner[MAX_PATHS];
    int n = 0;
    for (const cJSON *axis = sweep->child; axis; axis = axis->next) {
        const int added = split_paths(axis->string, paths + n, MAX_PATHS - n);
        for (int k = n; k < n + added; ++k) {
            owner[k] = axis->string;
            char head[256];
            snprintf(head, sizeof head, "%s", paths[k]);
            head[strcspn(head, ".")] = '\0';
            if (!strcmp(head, "name") || !strcmp(head, "sweep"))
                return ripen_fail(RIPEN_EINVAL,
                                  "%s.%s: \"%s\" cannot be swept (each point is named after "
                                  "its swept values)",
                                  where, axis->string, head);
            for (int e = 0; e < k; ++e)
                if (paths_overlap(paths[e], paths[k]))
                    return ripen_fail(RIPEN_EINVAL,
                                      "%s: %s is set twice (by \"%s\" and \"%s\"): a point's "
                                      "label would not say its value",
                                      where, paths[k], owner[e], axis->string);
        }
        n += added;
        if (n >= MAX_PATHS)
            return ripen_fail(RIPEN_EINVAL, "%s: more than %d swept settings", where, MAX_PATHS);
    }
    return RIPEN_OK;
}

/* Checks a sweep object and returns its grid size. */
static int sweep_size(const cJSON *sweep, const char *path, long *points) {
    char where[1024];
    json_path_join(where, sizeof where, path, "sweep");
    int status = json_require_object(sweep, where);
    if (status) return status;
    if (!sweep->child) return ripen_fail(RIPEN_EINVAL, "%s: must name at least one key", where);
    *points = 1;
    for (const cJSON *axis = sweep->child; axis; axis = axis->next) {
        char axis_path[1100];
        json_path_join(axis_path, sizeof axis_path, where, axis->string);
        if (!cJSON_IsArray(axis) || cJSON_GetArraySize(axis) == 0)
            return ripen_fail(RIPEN_EINVAL, "%s: must be a non-empty array of values", axis_path);
        for (const cJSON *v = axis->child; v; v = v->next)
            if (!cJSON_IsNumber(v) && !cJSON_IsString(v) && !cJSON_IsBool(v))
                return ripen_fail(RIPEN_EINVAL, "%s: values must be numbers, strings or booleans",
                                  axis_path);
        for (const cJSON *later = axis->next; later; later = later->next)
            if (strcmp(later->string, axis->string) == 0)
                return ripen_fail(RIPEN_EINVAL, "%s: key given twice", axis_path);
        *points *= cJSON_GetArraySize(axis);
        if (*points > JOB_MAX_SWEEP_POINTS)
            return ripen_fail(RIPEN_EINVAL, "%s: more than %d grid points", where,
                              JOB_MAX_SWEEP_POINTS);
    }
    return check_sweep_paths(sweep, where);
}

/* The entry for grid point `point`: a copy of `entry` without "sweep", the swept values set,
 * and "@key=value,..." appended to its name. */
static int sweep_point(const cJSON *entry, const cJSON *sweep, long point, const char *path,
                       const char *default_name, cJSON **out) {
    cJSON *copy = cJSON_Duplicate(entry, 1);
    if (!copy) return ripen_fail(RIPEN_ENOMEM, "out of memory expanding a sweep");
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "sweep");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
    char label[4 * JOB_NAME_CAPACITY];
    snprintf(label, sizeof label, "%.*s@", JOB_NAME_CAPACITY,
             cJSON_IsString(name) ? name->valuestring : default_name);
    long rest = point;
    int status = RIPEN_OK;
    for (const cJSON *axis = sweep->child; axis && !status; axis = axis->next) {
        const int n = cJSON_GetArraySize(axis);
        const cJSON *value = cJSON_GetArrayItem(axis, (int)(rest % n));
        rest /= n;
        status = set_sweep_paths(copy, axis->string, value, path);
        char text[64];
        format_value(value, text, sizeof text);
        const size_t used = strlen(label);
        snprintf(label + used, sizeof label - used, "%s", axis == sweep->child ? "" : ",");
        append_leaves(label, sizeof label, axis->string);
        const size_t after = strlen(label);
        snprintf(label + after, sizeof label - after, "=%s", text);
    }
    if (!status && strlen(label) >= JOB_NAME_CAPACITY)
        status = ripen_fail(RIPEN_EINVAL,
                            "%s.sweep: the point's name \"%s\" is longer than %d "
                            "characters: shorten the name",
                            path, label, JOB_NAME_CAPACITY - 1);
    if (!status) {
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "name");
        cJSON_AddStringToObject(copy, "name", label);
    }
    if (status) cJSON_Delete(copy);
    *out = status ? NULL : copy;
    return status;
}

/* Each expanded entry remembers where it came from, for error messages. */
#define PATH_KEY "\x01path"

/* Expands the array at `key` (one kind's entries) into a flat array of entries. */
static int expand_entries(const cJSON *array, const char *path, const char *default_name,
                          cJSON **expanded) {
    *expanded = cJSON_CreateArray();
    if (!*expanded) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    if (!cJSON_IsArray(array)) return ripen_fail(RIPEN_EINVAL, "%s: must be an array", path);
    int index = 0;
    for (const cJSON *entry = array->child; entry; entry = entry->next, ++index) {
        char where[1024], name[JOB_NAME_CAPACITY];
        snprintf(where, sizeof where, "%s[%d]", path, index);
        snprintf(name, sizeof name, "%s%d", default_name, index);
        int status = json_require_object(entry, where);
        if (status) return status;
        const cJSON *given = cJSON_GetObjectItemCaseSensitive(entry, "name");
        if (given && !cJSON_IsString(given))
            return ripen_fail(RIPEN_EINVAL, "%s.name: must be a string", where);
        if (cJSON_GetObjectItemCaseSensitive(entry, PATH_KEY))
            return ripen_fail(RIPEN_EINVAL, "%s: unknown key (a control character in a key)",
                              where);
        const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(entry, "sweep");
        if (!sweep) {
            cJSON *copy = cJSON_Duplicate(entry, 1);
            if (!copy) return ripen_fail(RIPEN_ENOMEM, "out of memory");
            if (!cJSON_HasObjectItem(copy, "name")) cJSON_AddStringToObject(copy, "name", name);
            cJSON_AddStringToObject(copy, PATH_KEY, where);
            cJSON_AddItemToArray(*expanded, copy);
            continue;
        }
        long points = 0;
        if ((status = sweep_size(sweep, where, &points))) return status;
        for (long p = 0; p < points; ++p) {
            cJSON *point = NULL;
            if ((status = sweep_point(entry, sweep, p, where, name, &point))) return status;
            char point_path[1200];
            const cJSON *label = cJSON_GetObjectItemCaseSensitive(point, "name");
            snprintf(point_path, sizeof point_path, "%s (sweep point %s)", where,
                     cJSON_IsString(label) && strchr(label->valuestring, '@')
                         ? strchr(label->valuestring, '@') + 1
                         : "?");
            cJSON_AddStringToObject(point, PATH_KEY, point_path);
            cJSON_AddItemToArray(*expanded, point);
        }
    }
    return RIPEN_OK;
}

/* ---- the job ---- */

static uint64_t fnv1a(const char *text) {
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *c = (const unsigned char *)text; *c; ++c)
        h = (h ^ *c) * 0x100000001b3u;
    return h;
}

/* Moves the recorded source path out of an expanded entry into `where`. */
static void take_path(cJSON *entry, char *where, size_t capacity) {
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(entry, PATH_KEY);
    snprintf(where, capacity, "%s", path->valuestring);
    cJSON_DeleteItemFromObjectCaseSensitive(entry, PATH_KEY);
}

static void free_sets(job *j) {
    for (int s = 0; s < j->nsets && j->sets; ++s)
        if (j->sets[s].spec) j->sets[s].kind->free_spec(j->sets[s].spec);
    free(j->sets);
    j->sets = NULL, j->nsets = 0;
}

/* Parses, checks and prepares one expanded entry of `kind`. */
static int parse_set(cJSON *entry, const task_kind *kind, int index, const system_spec *defaults,
                     task_set *set) {
    char where[1300];
    take_path(entry, where, sizeof where);
    *set = (task_set){.kind = kind, .index = index, .system = *defaults, .nstages = 1};
    int status;
    if ((status = json_require_object(entry, where)) ||
        (status = json_check_keys(entry, where, kind->keys)) ||
        (status = kind->parse(entry, where, set)))
        return status;
    if (set->system.layout.nparticles > 0 && !kind->particle_lists)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.initial.particles: only ensembles start from a list of particles "
                          "(a %s starts from one)",
                          where, kind->set_noun);
    initial_report report;
    if ((status = check_system(&set->system, where, &report))) return status;
    return kind->prepare(set, where, &report);
}

static int no_work(void) {
    char kinds[256] = "";
    for (int k = 0; k < task_kind_count; ++k) {
        const size_t used = strlen(kinds);
        snprintf(kinds + used, sizeof kinds - used, "%s\"%s\"",
                 k == 0                     ? ""
                 : k == task_kind_count - 1 ? " or "
                                            : ", ",
                 task_kinds[k]->key);
    }
    return ripen_fail(RIPEN_EINVAL, "job: no work: give at least one entry in %s", kinds);
}

static int parse_sets(job *j, const cJSON *root, const system_spec *defaults) {
    cJSON *expanded[16] = {0};
    int status = RIPEN_OK, total = 0;
    for (int k = 0; k < task_kind_count && !status; ++k) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, task_kinds[k]->key);
        if (item)
            status = expand_entries(item, task_kinds[k]->key, task_kinds[k]->entry, &expanded[k]);
        if (expanded[k]) total += cJSON_GetArraySize(expanded[k]);
    }
    if (!status && total == 0) status = no_work();
    if (!status && !(j->sets = calloc((size_t)total + 1, sizeof *j->sets)))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < task_kind_count && !status; ++k) {
        int index = 0;
        for (cJSON *e = expanded[k] ? expanded[k]->child : NULL; e && !status; e = e->next) {
            status = parse_set(e, task_kinds[k], index++, defaults, &j->sets[j->nsets]);
            ++j->nsets; /* freed with its spec, also when parsing failed half-way */
        }
    }
    for (int k = 0; k < task_kind_count; ++k) cJSON_Delete(expanded[k]);
    return status;
}

static int check_unique_names(const job *j) {
    for (int a = 0; a < j->nsets; ++a)
        for (int b = 0; b < a; ++b)
            if (j->sets[a].kind == j->sets[b].kind && !strcmp(j->sets[a].name, j->sets[b].name))
                return ripen_fail(RIPEN_EINVAL, "%s: name \"%s\" used twice", j->sets[a].kind->key,
                                  j->sets[a].name);
    return RIPEN_OK;
}

static int build_tasks(job *j) {
    int64_t n = 0;
    for (int s = 0; s < j->nsets; ++s) n += j->sets[s].ntasks;
    if (n > JOB_MAX_TASKS)
        return ripen_fail(RIPEN_EINVAL, "job: %lld tasks: at most %d allowed", (long long)n,
                          JOB_MAX_TASKS);
    j->tasks = malloc(sizeof *j->tasks * (size_t)(n + 1));
    if (!j->tasks) return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld tasks", (long long)n);
    j->ntasks = 0;
    for (int s = 0; s < j->nsets; ++s) {
        task_set *set = &j->sets[s];
        set->first_task = j->ntasks;
        for (int64_t m = 0; m < set->ntasks; ++m) {
            task_spec *t = &j->tasks[j->ntasks++];
            *t = (task_spec){.set = s, .member = m};
            set->kind->task(set, m, &t->stage, &t->cost);
        }
    }
    int64_t stream = j->ntasks;
    for (int s = 0; s < j->nsets; ++s) {
        j->sets[s].first_stream = stream;
        stream += j->sets[s].nstreams;
    }
    if (stream > (int64_t)UINT32_MAX)
        return ripen_fail(RIPEN_EINVAL,
                          "job: %lld random streams (tasks and trial shots): at most %lld; ask "
                          "for fewer trials or tasks",
                          (long long)stream, (long long)UINT32_MAX);
    return RIPEN_OK;
}

const task_set *job_set_of_kind(const job *j, const task_kind *kind, int index) {
    for (int s = 0; s < j->nsets; ++s)
        if (j->sets[s].kind == kind && j->sets[s].index == index) return &j->sets[s];
    return NULL;
}

int job_count_sets(const job *j, const task_kind *kind) {
    int n = 0;
    for (int s = 0; s < j->nsets; ++s) n += j->sets[s].kind == kind;
    return n;
}

int64_t job_shard_key(const job *j, int64_t id) {
    const task_set *set = job_task_set(j, id);
    return set->nstages > 1 ? set->first_task : id;
}

double job_output_bytes(const job *j) {
    double bytes = 0;
    for (int s = 0; s < j->nsets; ++s) bytes += j->sets[s].kind->output_bytes(&j->sets[s]);
    return bytes;
}

/* The job's keys: the common ones and one array per kind. */
static int check_root_keys(const cJSON *root) {
    const char *keys[ROOT_KEYS_COMMON + 16 + 1];
    int n = 0;
    for (int k = 0; k < ROOT_KEYS_COMMON - 2; ++k) keys[n++] = root_keys_common[k];
    for (int k = 0; k < task_kind_count; ++k) keys[n++] = task_kinds[k]->key;
    for (int k = ROOT_KEYS_COMMON - 2; k < ROOT_KEYS_COMMON; ++k) keys[n++] = root_keys_common[k];
    keys[n] = NULL;
    return json_check_keys(root, "", keys);
}

static int parse_root(job *j, const cJSON *root) {
    int status;
    if ((status = json_require_object(root, "job")) || (status = check_root_keys(root)))
        return status;
    system_spec defaults;
    system_default(&defaults);
    j->seed = 1;
    j->output_limit_gib = 64;
    if ((status = json_get_uint(root, "seed", "", 0, (uint64_t)9007199254740992.0, &j->seed)) ||
        (status = json_get_string(root, "output", "", j->output, sizeof j->output)) ||
        (status = json_get_double(root, "output_limit_gib", "", 0, 1e6, &j->output_limit_gib)) ||
        (status = job_entry_system(root, "", &defaults)) ||
        (status = parse_sets(j, root, &defaults)) || (status = check_unique_names(j)) ||
        (status = build_tasks(j)))
        return status;
    const double gib = job_output_bytes(j) / 1073741824.0;
    if (gib > j->output_limit_gib)
        return ripen_fail(RIPEN_EINVAL,
                          "job: the result file would hold about %.1f GiB, over output_limit_gib "
                          "= %g: raise sample_interval, cut replicas or raise the limit",
                          gib, j->output_limit_gib);
    return RIPEN_OK;
}

static void default_output(job *j) {
    const char *base = strrchr(j->path, '/');
    base = base ? base + 1 : j->path;
    snprintf(j->output, sizeof j->output, "%s", base);
    char *dot = strrchr(j->output, '.');
    if (dot && strcmp(dot, ".json") == 0) *dot = '\0';
    const size_t used = strlen(j->output);
    snprintf(j->output + used, sizeof j->output - used, ".h5");
}

int job_parse(job *j, const char *text, const char *path) {
    *j = (job){0};
    snprintf(j->path, sizeof j->path, "%s", path);
    const size_t length = strlen(text);
    const long bad = json_invalid_utf8(text, length);
    if (bad >= 0) {
        int line, column;
        json_line_column(text, (size_t)bad, &line, &column);
        return ripen_fail(RIPEN_EINVAL, "%s:%d:%d: not valid UTF-8 (byte 0x%02x)", path, line,
                          column, (unsigned char)text[bad]);
    }
    const long inexact = json_inexact_integer(text, length);
    if (inexact >= 0) {
        int line, column;
        json_line_column(text, (size_t)inexact, &line, &column);
        const int digits = (int)strspn(text + inexact + 1, "0123456789") + 1;
        return ripen_fail(RIPEN_EINVAL,
                          "%s:%d:%d: the integer %.*s%s is beyond 2^53 = 9007199254740992: "
                          "JSON numbers are doubles and would round it (two seeds would give "
                          "one run)",
                          path, line, column, digits < 24 ? digits : 24, text + inexact,
                          digits < 24 ? "" : "...");
    }
    const char *start = strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text; /* BOM */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(start, &end, 1);
    if (!root) {
        int line, column;
        const size_t offset = end ? (size_t)(end - text) : length;
        json_line_column(text, offset, &line, &column);
        return ripen_fail(RIPEN_EINVAL, "%s:%d:%d: malformed JSON near \"%.20s\"", path, line,
                          column, offset < length ? text + offset : "end of file");
    }
    const int finite = json_check_finite(root, "");
    if (finite) {
        cJSON_Delete(root);
        return ripen_fail_context(finite, "%s: ", path);
    }
    j->text = malloc(length + 1);
    if (j->text) memcpy(j->text, text, length + 1);
    j->normalized = cJSON_PrintUnformatted(root);
    int status = (!j->text || !j->normalized) ? ripen_fail(RIPEN_ENOMEM, "out of memory")
                                              : parse_root(j, root);
    cJSON_Delete(root);
    if (status) {
        ripen_fail_context(status, "%s: ", path);
        job_free(j);
        return status;
    }
    j->hash = fnv1a(j->normalized);
    if (!j->output[0]) default_output(j);
    return RIPEN_OK;
}

int job_load(job *j, const char *path) {
    *j = (job){0};
    FILE *f = fopen(path, "rb");
    if (!f) return ripen_fail(RIPEN_EINVAL, "cannot read job file %s: %s", path, strerror(errno));
    char *text = malloc((size_t)JOB_MAX_FILE_BYTES + 1);
    if (!text) {
        fclose(f);
        return ripen_fail(RIPEN_ENOMEM, "out of memory reading %s", path);
    }
    const size_t n = fread(text, 1, (size_t)JOB_MAX_FILE_BYTES + 1, f);
    const int read_error = ferror(f);
    fclose(f);
    int status;
    if (read_error)
        status = ripen_fail(RIPEN_EINVAL, "cannot read job file %s: %s", path, strerror(errno));
    else if (n >= 2 && (((unsigned char)text[0] == 0xFF && (unsigned char)text[1] == 0xFE) ||
                        ((unsigned char)text[0] == 0xFE && (unsigned char)text[1] == 0xFF)))
        status = ripen_fail(RIPEN_EINVAL, "job file %s is UTF-16 encoded: save it as UTF-8", path);
    else if (n > (size_t)JOB_MAX_FILE_BYTES)
        status = ripen_fail(RIPEN_EINVAL, "job file %s is larger than %d MiB", path,
                            JOB_MAX_FILE_BYTES >> 20);
    else if (memchr(text, '\0', n))
        status = ripen_fail(RIPEN_EINVAL, "job file %s contains a NUL byte: not a JSON text", path);
    else {
        text[n] = '\0';
        status = job_parse(j, text, path);
    }
    free(text);
    return status;
}

void job_free(job *j) {
    free(j->text);
    cJSON_free(j->normalized);
    free_sets(j);
    free(j->tasks);
    *j = (job){0};
}
