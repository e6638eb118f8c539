#include "ripen/driver/codec.h"

#include "ripen/engine/error.h"

#include <stdlib.h>
#include <string.h>

int byte_buffer_put(byte_buffer *b, const void *data, size_t size) {
    if (size == 0) return RIPEN_OK; /* empty arrays may have no storage at all */
    if (b->size + size > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->size + size) capacity *= 2;
        uint8_t *grown = realloc(b->data, capacity);
        if (!grown) return ripen_fail(RIPEN_ENOMEM, "out of memory encoding a record");
        b->data = grown, b->capacity = capacity;
    }
    memcpy(b->data + b->size, data, size);
    b->size += size;
    return RIPEN_OK;
}

void byte_buffer_get(byte_buffer *b, void *data, size_t size) {
    if (size == 0) return;
    if (b->read_at + size > b->size) {
        b->overrun = 1;
        memset(data, 0, size);
        return;
    }
    memcpy(data, b->data + b->read_at, size);
    b->read_at += size;
}

void byte_buffer_free(byte_buffer *b) {
    free(b->data);
    *b = (byte_buffer){0};
}

void codec_scalar(codec *c, void *field, size_t size) {
    if (c->status) return;
    if (c->writing)
        c->status = byte_buffer_put(c->b, field, size);
    else
        byte_buffer_get(c->b, field, size);
}

void codec_array(codec *c, void **data, size_t element, int64_t count, int64_t *capacity,
                 int64_t limit) {
    if (c->status) return;
    if (count < 0 || count > limit || (c->writing && count > 0 && !*data)) {
        c->status = RIPEN_EINVAL;
        return;
    }
    if (!c->writing && count > *capacity) {
        void *grown = realloc(*data, element * (size_t)count);
        if (!grown) {
            c->status = RIPEN_ENOMEM;
            return;
        }
        *data = grown, *capacity = count;
    }
    codec_scalar(c, *data, element * (size_t)count);
}

int codec_complete(const codec *c) {
    return !c->status && !c->b->overrun && c->b->read_at == c->b->size;
}

uint64_t fnv1a_bytes(const uint8_t *data, size_t size) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t k = 0; k < size; ++k) h = (h ^ data[k]) * 0x100000001b3u;
    return h;
}
