/* app.h -- subcommands of the `meterflow` binary and the shared start-up helpers.
 * src/app is the only place that knows every module (STYLE.md "Layout").
 * Thread: main thread. */
#ifndef MF_APP_H
#define MF_APP_H

#include <stdio.h>

#include "meterflow/config.h"

#define MF_VERSION "0.1.0"

/* Each subcommand gets argv with argv[0] = its own name. Returns the process exit status. */
int cmd_run(int argc, char **argv);
int cmd_front(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_web(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_config_doc(int argc, char **argv);

/* Every module's config table, NULL-terminated; and the pass-through sections. */
extern const struct mf_cfg_item *const app_cfg_tables[];
extern const char *const app_cfg_passthrough[];

/* Common options of the server subcommands: -c FILE, --set section.key=value (repeatable),
 * -h/--help. Parses them from argv[1..], stops at the first other argument and stores its
 * index in *next. Applies defaults < file < environment < --set. On error prints the message
 * (naming file, key and reason) to stderr and returns NULL. *want_help is set on -h. */
struct mf_config *app_config_from_args(int argc, char **argv, int *next, int *want_help);

/* The prelude every server subcommand shares (front, worker, run): the config from argv
 * (app_config_from_args); -h prints usage(cfg) on stdout; an argument left over (other than
 * the `extra` options the caller parses itself, NULL for none: each takes one value) is
 * an error naming the subcommand. Returns the config (gives: mf_config_free) with *next at
 * the first argument not parsed, or NULL with *status = the exit status (0 after -h, 2). */
struct mf_config *app_cmd_config(int argc, char **argv, void (*usage)(const struct mf_config *),
                                 const char *const *extra, int *next, int *status);

/* Apply the [meterflow] section: log level, zone, data directory (created). 0 or -1 after
 * printing why. */
int app_config_apply_common(const struct mf_config *cfg);

struct front;
struct mq;
struct worker;
struct mf_buf;
/* Prometheus lines for the front's, the worker's and the queue's counters (app_metrics.c). */
void app_metrics_front(struct front *f, struct mf_buf *out);
void app_metrics_worker(struct worker *w, struct mf_buf *out);
void app_metrics_queue(struct mq *q, struct mf_buf *out);
/* The registry cache of `meterflow run` (app_metrics.c). */
struct front_regcache;
void app_metrics_regcache(struct front_regcache *rg, struct mf_buf *out);

/* Install SIGINT/SIGTERM handlers that set mf_stop_requested; ignore SIGPIPE. */
void app_signals_install(void);

struct sec_pw;
/* The [security] PW provider (app_sec.c): built from cfg and installed on f (before
 * front_start); *out = NULL for pw_mode = zero. 0, or -1 after printing the config error
 * (naming the key) prefixed with "meterflow <cmd>". Gives *out: sec_pw_free after front_free. */
int app_pw_setup(const struct mf_config *cfg, struct front *f, struct sec_pw **out,
                 const char *cmd);
/* SIGHUP sets a flag (app_hup_install); app_pw_poll, from the main loop, re-reads the key
 * file when it is set and logs the outcome (never key material). p may be NULL. */
void app_hup_install(void);
void app_pw_poll(struct sec_pw *p);

#endif
