/* A byte buffer and one description of fields for both directions.
 *
 * Journal records, checkpoints and the results a set's analysis broadcasts to every rank are
 * byte strings. A task kind describes its fields once, with codec_scalar() and codec_array(),
 * and the same description writes and reads them, so the two directions cannot drift apart.
 * Native byte order: records never leave the machines of one run (the HDF5 file is the portable
 * format).
 */
#ifndef RIPEN_CODEC_H
#define RIPEN_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t size, capacity, read_at;
    int overrun; /* a read went past the end */
} byte_buffer;

int byte_buffer_put(byte_buffer *b, const void *data, size_t size);
/* Copies the next `size` bytes; past the end it zero-fills and sets `overrun`. */
void byte_buffer_get(byte_buffer *b, void *data, size_t size);
void byte_buffer_free(byte_buffer *b);

typedef struct {
    byte_buffer *b;
    int writing; /* 1: fields -> buffer; 0: buffer -> fields */
    int status;  /* the first error; later calls do nothing */
} codec;

/* A fixed-size field. */
void codec_scalar(codec *c, void *field, size_t size);
/* An array of `count` (already coded) elements of `element` bytes. Reading checks count against
 * [0, limit] and, if *data holds fewer than count elements (*capacity), reallocates it. */
void codec_array(codec *c, void **data, size_t element, int64_t count, int64_t *capacity,
                 int64_t limit);
/* Reading: the next field would be past the end, or bytes are left over after the last one. */
int codec_complete(const codec *c);

uint64_t fnv1a_bytes(const uint8_t *data, size_t size);

#endif
