/* sca-api: the in-process cache of analyses and searches: text values with an expiry, a mutex,
 * hit and miss counters. Small (a linked list per bucket); cleared by DELETE /api/v1/cache, a
 * settings change and an ETL load. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sca.h"

#define BUCKETS 1024
#define ENTRIES_MAX 10000

typedef struct entry {
    char *key, *value;
    double expires; /* monotonic seconds */
    struct entry *next;
} entry_t;

struct sca_cache {
    pthread_mutex_t lock;
    entry_t *buckets[BUCKETS];
    size_t entries;
    uint64_t hits, misses;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned bucket_of(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (unsigned)(h % BUCKETS);
}

sca_cache_t *sca_cache_new(void)
{
    sca_cache_t *c = mock_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static size_t clear_locked(sca_cache_t *c)
{
    size_t n = 0;
    double now = now_s();
    for (int i = 0; i < BUCKETS; i++) {
        entry_t *e = c->buckets[i];
        while (e) {
            entry_t *next = e->next;
            n += e->expires > now;
            free(e->key);
            free(e->value);
            free(e);
            e = next;
        }
        c->buckets[i] = NULL;
    }
    c->entries = 0;
    return n;
}

void sca_cache_free(sca_cache_t *c)
{
    if (!c)
        return;
    clear_locked(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

char *sca_cache_get(sca_cache_t *c, const char *key)
{
    char *v = NULL;
    double now = now_s();
    pthread_mutex_lock(&c->lock);
    for (entry_t *e = c->buckets[bucket_of(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0 && e->expires > now) {
            v = mock_xstrdup(e->value);
            break;
        }
    if (v)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return v;
}

void sca_cache_put(sca_cache_t *c, const char *key, const char *value, int ttl_s)
{
    if (ttl_s <= 0)
        return;
    unsigned b = bucket_of(key);
    pthread_mutex_lock(&c->lock);
    if (c->entries >= ENTRIES_MAX)
        clear_locked(c); /* crude but bounded */
    entry_t **pp = &c->buckets[b];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    entry_t *e = *pp;
    if (!e) {
        e = mock_xcalloc(1, sizeof(*e));
        e->key = mock_xstrdup(key);
        *pp = e;
        c->entries++;
    } else {
        free(e->value);
    }
    e->value = mock_xstrdup(value);
    e->expires = now_s() + ttl_s;
    pthread_mutex_unlock(&c->lock);
}

size_t sca_cache_clear(sca_cache_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = clear_locked(c);
    pthread_mutex_unlock(&c->lock);
    return n;
}

void sca_cache_stats(sca_cache_t *c, size_t *entries, uint64_t *hits, uint64_t *misses)
{
    double now = now_s();
    pthread_mutex_lock(&c->lock);
    size_t live = 0;
    for (int i = 0; i < BUCKETS; i++)
        for (entry_t *e = c->buckets[i]; e; e = e->next)
            live += e->expires > now;
    *entries = live;
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
