/* mock-vector storage and exact search; see collection.h. */
#include "collection.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_alloc.h"

/* Payload strings live in big blocks (allocated outside the small-object heap), so that the
 * request parse trees freed between them leave no fragmentation; deleted and replaced strings
 * are garbage until a compaction copies the live ones into fresh blocks. */
#define ARENA_BLOCK (1u << 20)

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    char data[];
} arena_block_t;

typedef struct arena {
    arena_block_t *head;
    size_t live, garbage;
} arena_t;

static char *arena_strdup(arena_t *a, const char *s)
{
    size_t len = strlen(s) + 1;
    if (!a->head || a->head->size - a->head->used < len) {
        size_t size = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        arena_block_t *b = mv_malloc(sizeof(*b) + size);
        b->next = a->head;
        b->used = 0;
        b->size = size;
        a->head = b;
    }
    char *p = a->head->data + a->head->used;
    memcpy(p, s, len);
    a->head->used += len;
    a->live += len;
    return p;
}

static void arena_release(arena_t *a, const char *s)
{
    if (s) {
        size_t len = strlen(s) + 1;
        a->live -= len;
        a->garbage += len;
    }
}

static void arena_free(arena_t *a)
{
    while (a->head) {
        arena_block_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->live = a->garbage = 0;
}

struct collection {
    char *name;
    size_t dim;
    distance_t distance;
    size_t count, cap;
    float *vectors; /* cap * dim, contiguous */
    point_id_t *ids;
    char **payloads; /* compact JSON in the arena, or NULL */
    arena_t arena;
    uint64_t *versions;
    uint32_t *index;  /* open addressing, linear probing: slot + 1, 0 = empty */
    size_t index_cap; /* power of two */
    uint64_t next_operation;
};

static const char *const distance_names[] = {"Cosine", "Dot", "Euclid", "Manhattan"};

const char *distance_name(distance_t d)
{
    return distance_names[d];
}

int distance_parse(const char *name, distance_t *out)
{
    for (size_t i = 0; i < sizeof(distance_names) / sizeof(distance_names[0]); i++) {
        if (strcmp(name, distance_names[i]) == 0) {
            *out = (distance_t)i;
            return 0;
        }
    }
    return -1;
}

/* ---- point ids ------------------------------------------------------------------------------ */

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int point_id_parse_uuid(const char *s, point_id_t *out)
{
    size_t len = strlen(s);
    if (strncasecmp(s, "urn:uuid:", 9) == 0) {
        s += 9;
        len -= 9;
    } else if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
        s++;
        len -= 2;
    }
    if (len != 32 && len != 36)
        return -1;
    memset(out, 0, sizeof(*out));
    out->is_uuid = true;
    size_t nibble = 0;
    for (size_t i = 0; i < len; i++) {
        if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        int v = hex_value(s[i]);
        if (v < 0)
            return -1;
        out->uuid[nibble / 2] |= (uint8_t)(nibble % 2 ? v : v << 4);
        nibble++;
    }
    return 0;
}

void point_id_format_uuid(const point_id_t *id, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[id->uuid[i] >> 4];
        buf[o++] = hex[id->uuid[i] & 15];
    }
    buf[o] = '\0';
}

int point_id_compare(const point_id_t *a, const point_id_t *b)
{
    if (a->is_uuid != b->is_uuid)
        return a->is_uuid ? 1 : -1;
    if (a->is_uuid)
        return memcmp(a->uuid, b->uuid, 16);
    return a->num < b->num ? -1 : a->num > b->num;
}

bool point_id_equal(const point_id_t *a, const point_id_t *b)
{
    return point_id_compare(a, b) == 0;
}

static uint64_t point_id_hash(const point_id_t *id)
{
    uint64_t h;
    if (id->is_uuid) {
        uint64_t lo, hi;
        memcpy(&lo, id->uuid, 8);
        memcpy(&hi, id->uuid + 8, 8);
        h = lo ^ (hi * 0x9e3779b97f4a7c15ULL) ^ 0x5bd1e995ULL;
    } else {
        h = id->num;
    }
    /* splitmix64 finaliser */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* ---- collection ----------------------------------------------------------------------------- */

collection_t *collection_new(const char *name, size_t dim, distance_t distance)
{
    collection_t *c = mv_calloc(1, sizeof(*c));
    c->name = mv_strdup(name);
    c->dim = dim;
    c->distance = distance;
    c->index_cap = 16;
    c->index = mv_calloc(c->index_cap, sizeof(*c->index));
    return c;
}

void collection_free(collection_t *c)
{
    if (!c)
        return;
    arena_free(&c->arena);
    free(c->payloads);
    free(c->vectors);
    free(c->ids);
    free(c->versions);
    free(c->index);
    free(c->name);
    free(c);
}

const char *collection_name(const collection_t *c)
{
    return c->name;
}

size_t collection_dim(const collection_t *c)
{
    return c->dim;
}

distance_t collection_distance(const collection_t *c)
{
    return c->distance;
}

size_t collection_count(const collection_t *c)
{
    return c->count;
}

uint64_t collection_next_operation(collection_t *c)
{
    return c->next_operation++;
}

const point_id_t *collection_slot_id(const collection_t *c, size_t slot)
{
    return &c->ids[slot];
}

const float *collection_slot_vector(const collection_t *c, size_t slot)
{
    return c->vectors + slot * c->dim;
}

const char *collection_slot_payload(const collection_t *c, size_t slot)
{
    return c->payloads[slot];
}

uint64_t collection_slot_version(const collection_t *c, size_t slot)
{
    return c->versions[slot];
}

/* Copies the live payloads into fresh blocks once garbage outweighs them. */
static void arena_maybe_compact(collection_t *c)
{
    if (c->arena.garbage < ARENA_BLOCK || c->arena.garbage < c->arena.live)
        return;
    arena_t fresh = {0};
    for (size_t i = 0; i < c->count; i++) {
        if (c->payloads[i])
            c->payloads[i] = arena_strdup(&fresh, c->payloads[i]);
    }
    arena_free(&c->arena);
    c->arena = fresh;
}

static void payload_store(collection_t *c, size_t slot, const char *payload)
{
    c->payloads[slot] = payload ? arena_strdup(&c->arena, payload) : NULL;
}

void collection_slot_set_payload(collection_t *c, size_t slot, const char *payload)
{
    arena_release(&c->arena, c->payloads[slot]);
    payload_store(c, slot, payload);
    arena_maybe_compact(c);
}

size_t collection_memory(const collection_t *c)
{
    return c->cap *
               (c->dim * sizeof(float) + sizeof(point_id_t) + sizeof(char *) + sizeof(uint64_t)) +
           c->index_cap * sizeof(uint32_t) + c->arena.live + c->arena.garbage;
}

/* Index position holding id, or of the empty bucket where it would go. */
static size_t index_probe(const collection_t *c, const point_id_t *id)
{
    size_t mask = c->index_cap - 1;
    size_t pos = point_id_hash(id) & mask;
    while (c->index[pos] && !point_id_equal(&c->ids[c->index[pos] - 1], id))
        pos = (pos + 1) & mask;
    return pos;
}

static void index_grow(collection_t *c)
{
    uint32_t *old = c->index;
    size_t old_cap = c->index_cap;
    c->index_cap *= 2;
    c->index = mv_calloc(c->index_cap, sizeof(*c->index));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i])
            c->index[index_probe(c, &c->ids[old[i] - 1])] = old[i];
    }
    free(old);
}

/* Removes the bucket at pos, shifting later entries of the probe run back (no tombstones). */
static void index_remove_at(collection_t *c, size_t pos)
{
    size_t mask = c->index_cap - 1;
    size_t hole = pos;
    c->index[hole] = 0;
    for (size_t next = (hole + 1) & mask; c->index[next]; next = (next + 1) & mask) {
        size_t home = point_id_hash(&c->ids[c->index[next] - 1]) & mask;
        /* move the entry into the hole if its home is not cyclically in (hole, next] */
        bool in_range =
            hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
        if (!in_range) {
            c->index[hole] = c->index[next];
            c->index[next] = 0;
            hole = next;
        }
    }
}

long collection_find(const collection_t *c, const point_id_t *id)
{
    uint32_t v = c->index[index_probe(c, id)];
    return v ? (long)v - 1 : -1;
}

void vector_normalize(float *v, size_t dim)
{
    double sum = 0;
    for (size_t i = 0; i < dim; i++)
        sum += (double)v[i] * v[i];
    /* Already of unit length (within float rounding): left as it is, so that normalising is
     * idempotent and points read back (scroll) and upserted again keep their exact values, as a
     * restored repro bundle must. The score changes by less than 1e-5. */
    if (sum <= 0 || fabs(sum - 1.0) < 1e-5)
        return;
    float inv = (float)(1.0 / sqrt(sum));
    for (size_t i = 0; i < dim; i++)
        v[i] *= inv;
}

static void storage_grow(collection_t *c)
{
    size_t cap = c->cap < 64 ? 64 : c->cap + c->cap / 2;
    c->vectors = mv_realloc(c->vectors, cap * c->dim * sizeof(float));
    c->ids = mv_realloc(c->ids, cap * sizeof(*c->ids));
    c->payloads = mv_realloc(c->payloads, cap * sizeof(*c->payloads));
    c->versions = mv_realloc(c->versions, cap * sizeof(*c->versions));
    c->cap = cap;
}

void collection_upsert(collection_t *c, const point_id_t *id, const float *vector,
                       const char *payload, uint64_t version)
{
    size_t pos = index_probe(c, id);
    size_t slot;
    if (c->index[pos]) {
        slot = c->index[pos] - 1;
        arena_release(&c->arena, c->payloads[slot]);
    } else {
        if (c->count == c->cap)
            storage_grow(c);
        slot = c->count++;
        c->ids[slot] = *id;
        c->index[pos] = (uint32_t)slot + 1;
        if (c->count * 2 > c->index_cap)
            index_grow(c);
    }
    float *dst = c->vectors + slot * c->dim;
    memcpy(dst, vector, c->dim * sizeof(float));
    if (c->distance == DISTANCE_COSINE)
        vector_normalize(dst, c->dim);
    payload_store(c, slot, payload);
    c->versions[slot] = version;
    arena_maybe_compact(c);
}

bool collection_delete(collection_t *c, const point_id_t *id)
{
    size_t pos = index_probe(c, id);
    if (!c->index[pos])
        return false;
    size_t slot = c->index[pos] - 1;
    index_remove_at(c, pos);
    arena_release(&c->arena, c->payloads[slot]);
    size_t last = c->count - 1;
    if (slot != last) {
        /* move the last point into the freed slot */
        c->index[index_probe(c, &c->ids[last])] = (uint32_t)slot + 1;
        memcpy(c->vectors + slot * c->dim, c->vectors + last * c->dim, c->dim * sizeof(float));
        c->ids[slot] = c->ids[last];
        c->payloads[slot] = c->payloads[last];
        c->versions[slot] = c->versions[last];
    }
    c->count--;
    arena_maybe_compact(c);
    return true;
}

/* ---- search --------------------------------------------------------------------------------- */

/* Eight independent partial sums so that the compiler vectorises without -ffast-math. */
static float dot_product(const float *a, const float *b, size_t n)
{
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (size_t j = 0; j < 8; j++)
            s[j] += a[i + j] * b[i + j];
    }
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static float squared_distance(const float *a, const float *b, size_t n)
{
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (size_t j = 0; j < 8; j++) {
            float d = a[i + j] - b[i + j];
            s[j] += d * d;
        }
    }
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++)
        sum += (a[i] - b[i]) * (a[i] - b[i]);
    return sum;
}

static float manhattan_distance(const float *a, const float *b, size_t n)
{
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (size_t j = 0; j < 8; j++)
            s[j] += fabsf(a[i + j] - b[i + j]);
    }
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++)
        sum += fabsf(a[i] - b[i]);
    return sum;
}

/* Ranking key: higher is better for every distance. */
static float rank_key(const collection_t *c, const float *query, size_t slot)
{
    const float *v = c->vectors + slot * c->dim;
    switch (c->distance) {
    case DISTANCE_COSINE:
    case DISTANCE_DOT:
        return dot_product(query, v, c->dim);
    case DISTANCE_EUCLID:
        return -squared_distance(query, v, c->dim);
    case DISTANCE_MANHATTAN:
        return -manhattan_distance(query, v, c->dim);
    }
    return 0;
}

static float key_to_score(distance_t d, float key)
{
    if (d == DISTANCE_EUCLID)
        return sqrtf(-key);
    if (d == DISTANCE_MANHATTAN)
        return -key;
    return key;
}

typedef struct heap_entry {
    float key;
    uint32_t slot;
} heap_entry_t;

/* a ranks before b */
static bool ranks_before(const collection_t *c, const heap_entry_t *a, const heap_entry_t *b)
{
    if (a->key != b->key)
        return a->key > b->key;
    return point_id_compare(&c->ids[a->slot], &c->ids[b->slot]) < 0;
}

/* Min-heap by rank: the root is the worst entry kept. */
static void heap_sift_down(const collection_t *c, heap_entry_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < n && ranks_before(c, &h[worst], &h[l]))
            worst = l;
        if (r < n && ranks_before(c, &h[worst], &h[r]))
            worst = r;
        if (worst == i)
            return;
        heap_entry_t t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

static void heap_sift_up(const collection_t *c, heap_entry_t *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ranks_before(c, &h[parent], &h[i]))
            return;
        heap_entry_t t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static float threshold_key(distance_t d, float threshold)
{
    if (d == DISTANCE_EUCLID)
        return threshold < 0 ? -INFINITY : -(threshold * threshold);
    if (d == DISTANCE_MANHATTAN)
        return -threshold;
    return threshold;
}

/* One pass over slots [begin, end) keeping the best k in heap; returns how many are kept. */
static size_t search_range(const collection_t *c, const search_params_t *p, size_t k, size_t begin,
                           size_t end, heap_entry_t *heap)
{
    size_t n = 0;
    float min_key = p->has_threshold ? threshold_key(c->distance, p->threshold) : -INFINITY;
    for (size_t slot = begin; slot < end; slot++) {
        heap_entry_t e = {rank_key(c, p->query, slot), (uint32_t)slot};
        if (e.key < min_key || (long)slot == p->exclude_slot)
            continue;
        if (n == k && !ranks_before(c, &e, &heap[0]))
            continue;
        if (p->accept && !p->accept(p->accept_ctx, c, slot))
            continue;
        if (n < k) {
            heap[n] = e;
            heap_sift_up(c, heap, n++);
        } else {
            heap[0] = e;
            heap_sift_down(c, heap, n, 0);
        }
    }
    return n;
}

typedef struct search_part {
    const collection_t *c;
    const search_params_t *p;
    size_t k, begin, end, n;
    heap_entry_t *heap;
} search_part_t;

static void *search_part_run(void *arg)
{
    search_part_t *part = arg;
    part->n = search_range(part->c, part->p, part->k, part->begin, part->end, part->heap);
    return NULL;
}

/* Splits the scan over threads (no filter: the accept callback may not be thread-safe); the
 * parts' heaps are merged into heap. Returns how many entries heap holds, or 0 when it did not
 * run in parallel (*ran false). */
static size_t search_parallel(const collection_t *c, const search_params_t *p, size_t k,
                              heap_entry_t *heap, bool *ran)
{
    size_t threads = p->threads > SEARCH_MAX_THREADS ? SEARCH_MAX_THREADS : p->threads;
    *ran = false;
    if (p->accept || threads < 2 || p->min_points_per_thread == 0 ||
        c->count / p->min_points_per_thread < 2)
        return 0;
    if (threads > c->count / p->min_points_per_thread)
        threads = c->count / p->min_points_per_thread;
    search_part_t parts[SEARCH_MAX_THREADS];
    pthread_t ids[SEARCH_MAX_THREADS];
    size_t started = 0;
    for (size_t t = 0; t < threads; t++) {
        parts[t] = (search_part_t){c,
                                   p,
                                   k,
                                   c->count * t / threads,
                                   c->count * (t + 1) / threads,
                                   0,
                                   mv_malloc(k * sizeof(heap_entry_t))};
        if (t > 0 && pthread_create(&ids[t], NULL, search_part_run, &parts[t]) != 0)
            search_part_run(&parts[t]); /* no thread: do the part here */
        else if (t > 0)
            started |= (size_t)1 << t;
    }
    search_part_run(&parts[0]);
    size_t n = 0;
    for (size_t t = 0; t < threads; t++) {
        if (started & ((size_t)1 << t))
            pthread_join(ids[t], NULL);
        for (size_t i = 0; i < parts[t].n; i++) {
            heap_entry_t e = parts[t].heap[i];
            if (n < k) {
                heap[n] = e;
                heap_sift_up(c, heap, n++);
            } else if (ranks_before(c, &e, &heap[0])) {
                heap[0] = e;
                heap_sift_down(c, heap, n, 0);
            }
        }
        free(parts[t].heap);
    }
    *ran = true;
    return n;
}

size_t collection_search(const collection_t *c, const search_params_t *p, scored_t *out)
{
    if (p->k == 0 || c->count == 0)
        return 0;
    size_t k = p->k < c->count ? p->k : c->count;
    heap_entry_t *heap = mv_malloc(k * sizeof(*heap));
    bool parallel;
    size_t n = search_parallel(c, p, k, heap, &parallel);
    if (!parallel)
        n = search_range(c, p, k, 0, c->count, heap);
    /* pop worst first into the back of out */
    size_t written = n;
    while (n > 0) {
        out[n - 1].slot = heap[0].slot;
        out[n - 1].score = key_to_score(c->distance, heap[0].key);
        heap[0] = heap[--n];
        heap_sift_down(c, heap, n, 0);
    }
    free(heap);
    return written;
}

static const collection_t *sort_collection; /* qsort has no context argument in C11 */

static int slot_id_compare(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return point_id_compare(&sort_collection->ids[*x], &sort_collection->ids[*y]);
}

uint32_t *collection_sorted_slots(const collection_t *c)
{
    uint32_t *slots = mv_malloc(c->count * sizeof(*slots));
    for (size_t i = 0; i < c->count; i++)
        slots[i] = (uint32_t)i;
    sort_collection = c;
    if (c->count > 1) /* an empty collection: slots may be NULL */
        qsort(slots, c->count, sizeof(*slots), slot_id_compare);
    sort_collection = NULL;
    return slots;
}
