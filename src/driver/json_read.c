#include "json_read.h"

#include "ripen/engine/error.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Integers travel as JSON numbers (doubles): beyond 2^53 they are no longer exact. */
#define JSON_MAX_EXACT_INTEGER 9007199254740992.0

void json_path_join(char *out, size_t capacity, const char *base, const char *key) {
    if (key[0] == '[' || base[0] == '\0')
        snprintf(out, capacity, "%s%s", base, key);
    else
        snprintf(out, capacity, "%s.%s", base, key);
}

int json_check_finite(const cJSON *item, const char *path) {
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
        return ripen_fail(RIPEN_EINVAL, "%s: must be a finite number", path[0] ? path : "job");
    int index = 0;
    for (const cJSON *child = item->child; child; child = child->next, ++index) {
        char where[1024], key[32];
        if (cJSON_IsObject(item))
            json_path_join(where, sizeof where, path, child->string);
        else {
            snprintf(key, sizeof key, "[%d]", index);
            json_path_join(where, sizeof where, path, key);
        }
        const int status = json_check_finite(child, where);
        if (status) return status;
    }
    return RIPEN_OK;
}

static const char *type_name(const cJSON *item) {
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsObject(item)) return "an object";
    return "invalid";
}

int json_require_object(const cJSON *item, const char *path) {
    if (!cJSON_IsObject(item))
        return ripen_fail(RIPEN_EINVAL, "%s: must be an object, got %s", path, type_name(item));
    return RIPEN_OK;
}

int json_check_keys(const cJSON *object, const char *path, const char *const *allowed) {
    for (const cJSON *item = object->child; item; item = item->next) {
        int known = 0;
        for (const char *const *key = allowed; *key && !known; ++key)
            known = strcmp(*key, item->string) == 0;
        char where[1024];
        json_path_join(where, sizeof where, path, item->string);
        if (!known) {
            char list[512] = "";
            for (const char *const *key = allowed; *key; ++key) {
                strncat(list, key == allowed ? "" : ", ", sizeof list - strlen(list) - 1);
                strncat(list, *key, sizeof list - strlen(list) - 1);
            }
            return ripen_fail(RIPEN_EINVAL, "%s: unknown key (allowed here: %s)", where, list);
        }
        for (const cJSON *later = item->next; later; later = later->next)
            if (strcmp(later->string, item->string) == 0)
                return ripen_fail(RIPEN_EINVAL, "%s: key given twice", where);
    }
    return RIPEN_OK;
}

/* The number at `key`, or NULL (not an error) if absent; error if present but not a number. */
static int get_number(const cJSON *object, const char *key, const char *path, const cJSON **out,
                      char *where, size_t capacity) {
    json_path_join(where, capacity, path, key);
    *out = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!*out) return RIPEN_OK;
    if (!cJSON_IsNumber(*out))
        return ripen_fail(RIPEN_EINVAL, "%s: must be a number, got %s", where, type_name(*out));
    if (!isfinite((*out)->valuedouble))
        return ripen_fail(RIPEN_EINVAL, "%s: must be a finite number", where);
    return RIPEN_OK;
}

int json_get_int(const cJSON *object, const char *key, const char *path, int64_t min, int64_t max,
                 int64_t *out) {
    const cJSON *item;
    char where[1024];
    const int status = get_number(object, key, path, &item, where, sizeof where);
    if (status || !item) return status;
    const double v = item->valuedouble;
    if (v != floor(v) || fabs(v) > JSON_MAX_EXACT_INTEGER || v < (double)min || v > (double)max)
        return ripen_fail(RIPEN_EINVAL, "%s = %.17g: must be an integer in [%lld, %lld]", where, v,
                          (long long)min, (long long)max);
    *out = (int64_t)v;
    return RIPEN_OK;
}

/* Unsigned values share the integer checks; every range ripen uses lies within 2^53. */
int json_get_uint(const cJSON *object, const char *key, const char *path, uint64_t min,
                  uint64_t max, uint64_t *out) {
    int64_t value = 0;
    const int64_t top = max > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)max;
    const int status = json_get_int(object, key, path, (int64_t)min, top, &value);
    if (!status && cJSON_GetObjectItemCaseSensitive(object, key)) *out = (uint64_t)value;
    return status;
}

int json_get_double(const cJSON *object, const char *key, const char *path, double min, double max,
                    double *out) {
    const cJSON *item;
    char where[1024];
    const int status = get_number(object, key, path, &item, where, sizeof where);
    if (status || !item) return status;
    const double v = item->valuedouble;
    if (v < min || v > max)
        return ripen_fail(RIPEN_EINVAL, "%s = %g: must be in [%g, %g]", where, v, min, max);
    *out = v;
    return RIPEN_OK;
}

int json_get_bool(const cJSON *object, const char *key, const char *path, int *out) {
    char where[1024];
    json_path_join(where, sizeof where, path, key);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!item) return RIPEN_OK;
    if (!cJSON_IsBool(item))
        return ripen_fail(RIPEN_EINVAL, "%s: must be true or false, got %s", where,
                          type_name(item));
    *out = cJSON_IsTrue(item);
    return RIPEN_OK;
}

int json_get_string(const cJSON *object, const char *key, const char *path, char *out,
                    size_t capacity) {
    char where[1024];
    json_path_join(where, sizeof where, path, key);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!item) return RIPEN_OK;
    if (!cJSON_IsString(item))
        return ripen_fail(RIPEN_EINVAL, "%s: must be a string, got %s", where, type_name(item));
    if (strlen(item->valuestring) >= capacity)
        return ripen_fail(RIPEN_EINVAL, "%s: longer than %zu characters", where, capacity - 1);
    strcpy(out, item->valuestring);
    return RIPEN_OK;
}

void json_line_column(const char *text, size_t offset, int *line, int *column) {
    *line = 1, *column = 1;
    for (size_t k = 0; k < offset && text[k]; ++k) {
        if (text[k] == '\n')
            ++*line, *column = 1;
        else
            ++*column;
    }
}

long json_invalid_utf8(const char *text, size_t length) {
    const unsigned char *s = (const unsigned char *)text;
    size_t k = 0;
    while (k < length) {
        const unsigned char c = s[k];
        int extra;
        uint32_t code;
        if (c < 0x80) {
            ++k;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, code = c & 0x07;
        } else {
            return (long)k;
        }
        if (k + (size_t)extra >= length) return (long)k; /* truncated sequence */
        for (int e = 1; e <= extra; ++e) {
            if ((s[k + (size_t)e] & 0xC0) != 0x80) return (long)k;
            code = (code << 6) | (s[k + (size_t)e] & 0x3F);
        }
        /* Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8. */
        const uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
        if (code < smallest[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
            return (long)k;
        k += (size_t)extra + 1;
    }
    return -1;
}

/* An integer literal's digits (no sign, no leading zeros) beyond 2^53? */
static int beyond_2_53(const char *digits, size_t n) {
    static const char limit[] = "9007199254740992";
    while (n > 1 && *digits == '0') ++digits, --n;
    if (n != sizeof limit - 1) return n > sizeof limit - 1;
    return strncmp(digits, limit, n) > 0;
}

long json_inexact_integer(const char *text, size_t length) {
    int in_string = 0;
    for (size_t k = 0; k < length; ++k) {
        const char c = text[k];
        if (in_string) {
            if (c == '\\')
                ++k;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
            continue;
        }
        if (c != '-' && !isdigit((unsigned char)c)) continue;
        const size_t start = k, first = c == '-' ? k + 1 : k;
        size_t end = first;
        while (end < length && isdigit((unsigned char)text[end])) ++end;
        const int fraction = end < length && strchr(".eE", text[end]) && text[end];
        if (!fraction && beyond_2_53(text + first, end - first)) return (long)start;
        while (end < length && (isdigit((unsigned char)text[end]) || strchr(".eE+-", text[end])))
            ++end;
        k = end - 1;
    }
    return -1;
}
