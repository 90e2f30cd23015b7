/* sockshim: growing arrays, copies and the index by hash of the command's
 * tables (vec.h). */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "say.h"

void *ss_grow(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        ss_die("out of memory");
    void *q = realloc(p, n * size > 0 ? n * size : 1);
    if (q == NULL)
        ss_die("out of memory");
    return q;
}

void *ss_room_for_one(void *p, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    return ss_grow(p, *cap, size);
}

char *ss_copy_of(const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        ss_die("out of memory");
    return c;
}

uint64_t ss_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t ss_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    h ^= 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return ss_mix64(h);
}

static size_t *index_probe(size_t *slot, size_t cap, uint64_t hash, const void *table,
                           ss_item_eq_fn *eq, const void *key)
{
    for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
        if (slot[i] == 0 || (eq != NULL && eq(table, slot[i] - 1, key)))
            return &slot[i];
}

/* Keeps the index at most half full, so a probe stays short. */
static void index_reserve(struct ss_index *ix, const void *table, ss_item_hash_fn *hash_of)
{
    if ((ix->used + 1) * 2 <= ix->cap)
        return;
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    size_t *slot = calloc(cap, sizeof *slot);
    if (slot == NULL)
        ss_die("out of memory");
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slot[i] != 0)
            *index_probe(slot, cap, hash_of(table, ix->slot[i] - 1), table, NULL, NULL) =
                ix->slot[i];
    free(ix->slot);
    ix->slot = slot;
    ix->cap = cap;
}

size_t ss_index_get(struct ss_index *ix, const void *table, ss_item_hash_fn *hash_of,
                    ss_item_eq_fn *eq, const void *key, uint64_t hash, size_t **at)
{
    index_reserve(ix, table, hash_of);
    *at = index_probe(ix->slot, ix->cap, hash, table, eq, key);
    return **at != 0 ? **at - 1 : SIZE_MAX;
}

void ss_index_put(struct ss_index *ix, size_t *at, size_t item)
{
    *at = item + 1;
    ix->used++;
}
