/* sockshim: growing arrays and copies for the command's tables (report,
 * its timeline), where running out of memory ends the command with a
 * message (say.h) rather than a half-made report; and the index by hash
 * their tables are looked up through. */
#ifndef SOCKSHIM_VEC_H
#define SOCKSHIM_VEC_H

#include <stddef.h>
#include <stdint.h>

/* p resized to n elements of size bytes (never 0 bytes). */
void *ss_grow(void *p, size_t n, size_t size);
/* Room for one more in a vector of *cap elements holding n: p, or p
 * grown (doubling, from 64) with *cap updated. */
void *ss_room_for_one(void *p, size_t n, size_t *cap, size_t size);
/* A copy of s. */
char *ss_copy_of(const char *s);

/* An index by hash over the positions of a table's items: open
 * addressing (slot = position + 1, 0 = empty), kept at most half full.
 * The caller says how to hash an item and how to compare one with a key,
 * so one index serves every table. */
struct ss_index {
    size_t *slot;
    size_t cap, used;
};
typedef uint64_t ss_item_hash_fn(const void *table, size_t item);
typedef int ss_item_eq_fn(const void *table, size_t item, const void *key);

/* The position of the item matching key (whose hash is hash), or
 * SIZE_MAX after making room for it: *at is then the slot to fill with
 * ss_index_put() before the index is used again. */
size_t ss_index_get(struct ss_index *ix, const void *table, ss_item_hash_fn *hash_of,
                    ss_item_eq_fn *eq, const void *key, uint64_t hash, size_t **at);
void ss_index_put(struct ss_index *ix, size_t *at, size_t item);

/* A 64-bit finalizer, and FNV-1a of n bytes mixed by it (h: a seed). */
uint64_t ss_mix64(uint64_t x);
uint64_t ss_hash_bytes(uint64_t h, const void *p, size_t n);

#endif
