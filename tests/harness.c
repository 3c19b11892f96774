/* harness.c -- registration, failure reporting and the main() of every unit test binary. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 1024

static struct {
    const char *name;
    mf_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int cur_failed;

void mf_test_register(const char *name, mf_test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void mf_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "#   %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    cur_failed = 1;
}

const char *mf_test_shared_dir(void)
{
    const char *s = getenv("MF_SHARED");
    if (s && *s)
        return s;
    if (access("../shared/vectors/public-3761.json", R_OK) == 0)
        return "../shared";
    return "../shared";
}

char *mf_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, ran = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1) {
            int want = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], tests[i].name) == 0)
                    want = 1;
            if (!want)
                continue;
        }
        cur_failed = 0;
        tests[i].fn();
        ran++;
        if (cur_failed) {
            failed++;
            printf("not ok %d - %s\n", ran, tests[i].name);
        } else {
            passed++;
            printf("ok %d - %s\n", ran, tests[i].name);
        }
    }
    printf("# %d passed, %d failed\n", passed, failed);
    if (ran == 0) {
        printf("# no test matched\n");
        return 1;
    }
    return failed ? 1 : 0;
}
