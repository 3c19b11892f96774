/* cmd_import.c -- `meterflow import areas|terminals|meters FILE.csv`: load master data from
 * CSV into the configured store ([store] backend). One transaction per file: a bad line is
 * reported as FILE:LINE: reason and nothing is imported. Columns: docs/SCHEMA.md.
 * Thread: main. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "meterflow/store.h"

static void import_usage(FILE *out)
{
    fprintf(out, "usage: meterflow import [-c FILE] [--set section.key=value] "
                 "areas|terminals|meters FILE.csv\n"
                 "  Imports master data (header row; columns in docs/SCHEMA.md). All or "
                 "nothing:\n  a bad line is reported as FILE:LINE and nothing is imported.\n");
}

int cmd_import(int argc, char **argv)
{
    int next = 0, help = 0, rc;
    char err[1024];
    size_t rows = 0;
    struct mf_config *cfg = app_config_from_args(argc, argv, &next, &help);

    if (!cfg)
        return 2;
    if (help) {
        import_usage(stdout);
        mf_config_free(cfg);
        return 0;
    }
    if (argc - next != 2 || store_import_kind_parse(argv[next]) < 0) {
        import_usage(stderr);
        mf_config_free(cfg);
        return 2;
    }
    if (app_config_apply_common(cfg) != 0) {
        mf_config_free(cfg);
        return 2;
    }
    struct store *st = store_open(cfg, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "meterflow import: %s\n", err);
        mf_config_free(cfg);
        return 1;
    }
    rc = store_import_csv(st, store_import_kind_parse(argv[next]), argv[next + 1], &rows, err,
                          sizeof(err));
    if (rc == 0)
        printf("imported %zu %s from %s\n", rows, argv[next], argv[next + 1]);
    else
        fprintf(stderr, "meterflow import: %s\n", err);
    store_close(st);
    mf_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
