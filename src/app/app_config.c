/* app_config.c -- the list of every module's config table, the [meterflow] section, and the
 * start-up option parsing shared by the server subcommands.
 * Thread: main, before any other thread starts. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/modcfg.h"

static const struct mf_cfg_item meterflow_cfg[] = {
    { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL,
      "directory for the SQLite database and other state" },
    { "meterflow", "log_level", MF_CFG_ENUM, "info", 0, 0, "error|warn|info|debug",
      "log verbosity" },
    { "meterflow", "zone", MF_CFG_STR, "Asia/Shanghai", 0, 0, NULL,
      "time zone of terminal clocks (IANA name); storage is UTC" },
    { "meterflow", "node_id", MF_CFG_INT, "1", 1, 65535, NULL,
      "id of this process among fronts/workers (front id in envelopes)" },
    MF_CFG_END,
};

const struct mf_cfg_item *const app_cfg_tables[] = {
    meterflow_cfg, front_cfg, queue_cfg, store_cfg, worker_cfg, web_cfg, metrics_cfg, sec_cfg,
    NULL,
};

const char *const app_cfg_passthrough[] = { "kafka", NULL };

struct mf_config *app_config_from_args(int argc, char **argv, int *next, int *want_help)
{
    char errbuf[512];
    struct mf_config *cfg = mf_config_new(app_cfg_tables, app_cfg_passthrough);
    const char *file = NULL;
    int i = 1;

    *want_help = 0;
    /* The file is loaded before the environment and --set, whatever the argument order. */
    for (int j = 1; j < argc; j++)
        if ((strcmp(argv[j], "-c") == 0 || strcmp(argv[j], "--config") == 0) && j + 1 < argc)
            file = argv[j + 1];
    if (file && mf_config_load_file(cfg, file, errbuf, sizeof(errbuf)) != 0)
        goto fail;
    if (mf_config_load_env(cfg, errbuf, sizeof(errbuf)) != 0)
        goto fail;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(errbuf, sizeof(errbuf), "%s needs a file name", argv[i]);
                goto fail;
            }
            i++;
        } else if (strcmp(argv[i], "--set") == 0) {
            if (i + 1 >= argc) {
                snprintf(errbuf, sizeof(errbuf), "--set needs section.key=value");
                goto fail;
            }
            if (mf_config_set_arg(cfg, argv[++i], errbuf, sizeof(errbuf)) != 0)
                goto fail;
        } else if (strncmp(argv[i], "--set=", 6) == 0) {
            if (mf_config_set_arg(cfg, argv[i] + 6, errbuf, sizeof(errbuf)) != 0)
                goto fail;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            *want_help = 1;
        } else {
            break;
        }
    }
    *next = i;
    return cfg;
fail:
    fprintf(stderr, "meterflow %s: config error: %s\n", argv[0], errbuf);
    mf_config_free(cfg);
    return NULL;
}

struct mf_config *app_cmd_config(int argc, char **argv, void (*usage)(const struct mf_config *),
                                 const char *const *extra, int *next, int *status)
{
    int help = 0;
    struct mf_config *cfg = app_config_from_args(argc, argv, next, &help);

    *status = 2;
    if (!cfg)
        return NULL;
    if (help) {
        usage(cfg);
        *status = 0;
        goto fail;
    }
    for (int i = *next; i < argc; i++) {
        int known = 0;
        for (size_t k = 0; extra && extra[k] && !known; k++)
            known = strcmp(argv[i], extra[k]) == 0 && i + 1 < argc;
        if (!known) {
            fprintf(stderr, "meterflow %s: unexpected argument '%s'\n", argv[0], argv[i]);
            goto fail;
        }
        i++; /* its value */
    }
    return cfg;
fail:
    mf_config_free(cfg);
    return NULL;
}

int app_config_apply_common(const struct mf_config *cfg)
{
    const char *zone = mf_config_str(cfg, "meterflow", "zone");
    const char *dir = mf_config_str(cfg, "meterflow", "data_dir");

    mf_log_set_level(mf_log_level_parse(mf_config_str(cfg, "meterflow", "log_level")));
    if (mf_clock_set_zone(zone) != 0) {
        fprintf(stderr, "meterflow: config error: [meterflow] zone: unknown time zone '%s'\n",
                zone);
        return -1;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        char eb[128];
        fprintf(stderr, "meterflow: config error: [meterflow] data_dir: cannot create '%s': %s\n",
                dir, mf_strerror(errno, eb, sizeof(eb)));
        return -1;
    }
    return 0;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    mf_stop_requested = 1;
}

void app_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cmd_config_doc(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct mf_config *cfg = mf_config_new(app_cfg_tables, app_cfg_passthrough);
    mf_config_print_markdown(cfg, stdout);
    mf_config_free(cfg);
    return 0;
}
