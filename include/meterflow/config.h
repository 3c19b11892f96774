/* config.h -- table-driven configuration: INI file, environment, command-line overrides.
 *
 * Each module declares one table of items (section, key, type, default, min, max, help).
 * The same tables drive parsing, validation, `--help` and docs/CONFIG.md
 * (`meterflow config-doc`). Unknown sections/keys and out-of-range values are start-up
 * errors that name the file, line, section and key.
 *
 * Sources, later wins: defaults < INI file (-c FILE) < environment MF_<SECTION>_<KEY>
 * (upper case, e.g. MF_FRONT_PORT=9301) < command-line `--set section.key=value`.
 * Pass-through sections (e.g. [kafka]) accept any key; their pairs are handed verbatim to
 * the backend (librdkafka validates them itself).
 *
 * Thread: build and load on the main thread at start-up; afterwards read-only from any. */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <stdint.h>
#include <stdio.h>

enum mf_cfg_type { MF_CFG_INT, MF_CFG_BOOL, MF_CFG_STR, MF_CFG_ENUM };

struct mf_cfg_item {
    const char *section;
    const char *key;
    enum mf_cfg_type type;
    const char *def;     /* default as text ("9300", "true", "embedded") */
    int64_t min;         /* MF_CFG_INT only */
    int64_t max;
    const char *choices; /* MF_CFG_ENUM: "embedded|kafka" */
    const char *help;
};

/* A table ends with an item whose section is NULL. */
#define MF_CFG_END { NULL, NULL, MF_CFG_INT, NULL, 0, 0, NULL, NULL }

struct mf_config;

/* tables: borrowed, kept for the config's lifetime (static tables). passthrough: section
 * names whose keys are free-form (NULL-terminated list, kept). Gives a config with every
 * item at its default. */
struct mf_config *mf_config_new(const struct mf_cfg_item *const *tables,
                                const char *const *passthrough);
void mf_config_free(struct mf_config *cfg);

/* 0, or MF_EINVAL with errbuf naming file:line, [section] key and the reason. */
int mf_config_load_file(struct mf_config *cfg, const char *path, char *errbuf, size_t errlen);
/* The same from text in memory (len bytes, need not be NUL-terminated); `name` labels errors.
 * Used by tests and the config fuzz target. */
int mf_config_load_text(struct mf_config *cfg, const char *name, const char *text, size_t len,
                        char *errbuf, size_t errlen);
/* Apply MF_<SECTION>_<KEY> variables found in the environment. */
int mf_config_load_env(struct mf_config *cfg, char *errbuf, size_t errlen);
/* "section.key=value" (from --set) or separate pieces. */
int mf_config_set_arg(struct mf_config *cfg, const char *assignment, char *errbuf, size_t errlen);
int mf_config_set(struct mf_config *cfg, const char *section, const char *key, const char *value,
                  const char *origin, char *errbuf, size_t errlen);

/* Getters abort on a (section, key) that no table declares: that is a programming error. */
int64_t mf_config_int(const struct mf_config *cfg, const char *section, const char *key);
int mf_config_bool(const struct mf_config *cfg, const char *section, const char *key);
/* Borrowed; valid until the config is freed or the item is set again. */
const char *mf_config_str(const struct mf_config *cfg, const char *section, const char *key);

/* Iterate the pairs of a pass-through section: returns the number of pairs; keys and vals
 * are borrowed arrays. */
size_t mf_config_pairs(const struct mf_config *cfg, const char *section, const char *const **keys,
                       const char *const **vals);

/* Human help (one line per key) and the Markdown reference for docs/CONFIG.md. */
void mf_config_print_help(const struct mf_config *cfg, FILE *out);
void mf_config_print_markdown(const struct mf_config *cfg, FILE *out);

#endif
