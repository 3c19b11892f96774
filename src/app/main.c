/* main.c -- the `meterflow` binary: dispatch to a subcommand.
 * Thread: main. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"

struct app_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct app_cmd cmds[] = {
    { "run", cmd_run, "everything in one process: front, embedded queue, worker, web, SQLite" },
    { "front", cmd_front, "terminal front-end (TCP 376.1 sessions) for the distributed setup" },
    { "worker", cmd_worker, "queue consumer: decode, normalise, store, analytics" },
    { "web", cmd_web, "HTTP API and panel" },
    { "sim", cmd_sim, "terminal simulator (load, demo, ledger and --verify)" },
    { "decode", cmd_decode, "decode 376.1 hex frames to JSON (arguments or stdin)" },
    { "user", cmd_user, "manage panel users: add NAME --role ROLE | del NAME | passwd NAME" },
    { "import", cmd_import, "import master data from CSV (areas, terminals, meters)" },
    { "config-doc", cmd_config_doc, "print the configuration reference (Markdown)" },
    { "version", cmd_version, "print the version" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: meterflow <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(out, "  %-11s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(out, "\n'meterflow <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "meterflow: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
