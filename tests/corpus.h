/* The committed fuzz corpora (tests/fuzz/corpus/NAME), replayed by the unit tests. */
#ifndef TESTS_CORPUS_H
#define TESTS_CORPUS_H

/* Calls fn with each file's path and name. Returns how many files, -1 when the directory cannot be
 * opened, -2 when ENVTEST_SOURCE_DIR is unset (CTest sets it: the caller skips). */
long corpus_each(const char *name, void (*fn)(void *ud, const char *path, const char *file),
                 void *ud);

#endif
