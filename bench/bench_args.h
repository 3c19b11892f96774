/* bench_args.h -- "--name value" options of the bench programs (bench_web_fixture.c,
 * bench_web_bigfix.c): the value after the first argument equal to name. Benchmarks are our
 * own tools run by our scripts, so a value that is not a number reads as 0 (strtol), as
 * before; nothing here checks input from outside. Header-only: each bench is one .c file.
 * Thread: main, at start-up. */
#ifndef MF_BENCH_ARGS_H
#define MF_BENCH_ARGS_H

#include <stdlib.h>
#include <string.h>

/* The value of option name (borrowed from argv), or NULL when it is not given. */
static inline const char *bench_arg_str(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* The value of option name as a decimal int, or def when it is not given. */
static inline int bench_arg_int(int argc, char **argv, const char *name, int def)
{
    const char *v = bench_arg_str(argc, argv, name);
    return v ? (int)strtol(v, NULL, 10) : def;
}

#endif
