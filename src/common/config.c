/* config.c -- table-driven configuration over libinih.
 *
 * Values are kept as validated text plus, for INT/BOOL, the parsed number, in one slot per
 * table item. Pass-through sections keep (key, value) pairs in order of appearance.
 * Invariant: every slot holds a value that passed its item's validation.
 * Thread: main thread during start-up; read-only afterwards. */
#include "meterflow/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meterflow/common.h"

struct cfg_slot {
    const struct mf_cfg_item *item;
    char *text;
    int64_t num;
};

struct cfg_pairs {
    char *section;
    size_t n, cap;
    char **keys;
    char **vals;
};

struct mf_config {
    struct cfg_slot *slots;
    size_t nslots;
    struct cfg_pairs *pairs;
    size_t npairs;
};

static struct cfg_slot *cfg_find(const struct mf_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->nslots; i++) {
        const struct mf_cfg_item *it = cfg->slots[i].item;
        if (strcmp(it->section, section) == 0 && strcmp(it->key, key) == 0)
            return &cfg->slots[i];
    }
    return NULL;
}

static struct cfg_pairs *cfg_find_pairs(const struct mf_config *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->npairs; i++)
        if (strcmp(cfg->pairs[i].section, section) == 0)
            return &cfg->pairs[i];
    return NULL;
}

static int cfg_section_known(const struct mf_config *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->nslots; i++)
        if (strcmp(cfg->slots[i].item->section, section) == 0)
            return 1;
    return 0;
}

/* Validate `value` against the item; on success store it. */
static int cfg_slot_set(struct cfg_slot *s, const char *value, const char *origin, char *errbuf,
                        size_t errlen)
{
    const struct mf_cfg_item *it = s->item;
    int64_t num = 0;

    switch (it->type) {
    case MF_CFG_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 0);
        if (errno != 0 || end == value || *end != '\0') {
            snprintf(errbuf, errlen, "%s: [%s] %s: '%s' is not an integer", origin, it->section,
                     it->key, value);
            return MF_EINVAL;
        }
        if (v < it->min || v > it->max) {
            snprintf(errbuf, errlen, "%s: [%s] %s: %lld is out of range %lld..%lld", origin,
                     it->section, it->key, v, (long long)it->min, (long long)it->max);
            return MF_ERANGE;
        }
        num = v;
        break;
    }
    case MF_CFG_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1") ||
            !strcasecmp(value, "on")) {
            num = 1;
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
                   !strcmp(value, "0") || !strcasecmp(value, "off")) {
            num = 0;
        } else {
            snprintf(errbuf, errlen, "%s: [%s] %s: '%s' is not a boolean (true/false)", origin,
                     it->section, it->key, value);
            return MF_EINVAL;
        }
        break;
    case MF_CFG_ENUM: {
        const char *p = it->choices;
        size_t vl = strlen(value);
        int found = 0;
        while (p && *p) {
            const char *bar = strchr(p, '|');
            size_t l = bar ? (size_t)(bar - p) : strlen(p);
            if (l == vl && strncmp(p, value, l) == 0) {
                found = 1;
                break;
            }
            p = bar ? bar + 1 : NULL;
        }
        if (!found) {
            snprintf(errbuf, errlen, "%s: [%s] %s: '%s' is not one of %s", origin, it->section,
                     it->key, value, it->choices);
            return MF_EINVAL;
        }
        break;
    }
    case MF_CFG_STR:
        break;
    }
    free(s->text);
    s->text = mf_strdup(value);
    s->num = num;
    return 0;
}

struct mf_config *mf_config_new(const struct mf_cfg_item *const *tables,
                                const char *const *passthrough)
{
    struct mf_config *cfg = mf_calloc(1, sizeof(*cfg));
    size_t n = 0;
    char errbuf[256];

    for (size_t t = 0; tables[t]; t++)
        for (const struct mf_cfg_item *it = tables[t]; it->section; it++)
            n++;
    cfg->slots = mf_calloc(n ? n : 1, sizeof(*cfg->slots));
    for (size_t t = 0; tables[t]; t++) {
        for (const struct mf_cfg_item *it = tables[t]; it->section; it++) {
            struct cfg_slot *s = &cfg->slots[cfg->nslots++];
            s->item = it;
            if (cfg_slot_set(s, it->def ? it->def : "", "default", errbuf, sizeof(errbuf)) != 0) {
                /* A bad default is a programming error caught by the first test run. */
                fprintf(stderr, "meterflow: bad built-in default: %s\n", errbuf);
                abort();
            }
        }
    }
    for (size_t i = 0; passthrough && passthrough[i]; i++) {
        cfg->pairs = mf_realloc(cfg->pairs, (cfg->npairs + 1) * sizeof(*cfg->pairs));
        memset(&cfg->pairs[cfg->npairs], 0, sizeof(cfg->pairs[0]));
        cfg->pairs[cfg->npairs++].section = mf_strdup(passthrough[i]);
    }
    return cfg;
}

void mf_config_free(struct mf_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nslots; i++)
        free(cfg->slots[i].text);
    for (size_t i = 0; i < cfg->npairs; i++) {
        for (size_t j = 0; j < cfg->pairs[i].n; j++) {
            free(cfg->pairs[i].keys[j]);
            free(cfg->pairs[i].vals[j]);
        }
        free(cfg->pairs[i].keys);
        free(cfg->pairs[i].vals);
        free(cfg->pairs[i].section);
    }
    free(cfg->pairs);
    free(cfg->slots);
    free(cfg);
}

static void pairs_set(struct cfg_pairs *p, const char *key, const char *value)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->keys[i], key) == 0) {
            free(p->vals[i]);
            p->vals[i] = mf_strdup(value);
            return;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->keys = mf_realloc(p->keys, p->cap * sizeof(char *));
        p->vals = mf_realloc(p->vals, p->cap * sizeof(char *));
    }
    p->keys[p->n] = mf_strdup(key);
    p->vals[p->n] = mf_strdup(value);
    p->n++;
}

int mf_config_set(struct mf_config *cfg, const char *section, const char *key, const char *value,
                  const char *origin, char *errbuf, size_t errlen)
{
    struct cfg_pairs *p = cfg_find_pairs(cfg, section);
    if (p) {
        pairs_set(p, key, value);
        return 0;
    }
    struct cfg_slot *s = cfg_find(cfg, section, key);
    if (!s) {
        if (cfg_section_known(cfg, section))
            snprintf(errbuf, errlen, "%s: [%s] unknown key '%s'", origin, section, key);
        else
            snprintf(errbuf, errlen, "%s: unknown section [%s] (key '%s')", origin, section, key);
        return MF_EINVAL;
    }
    return cfg_slot_set(s, value, origin, errbuf, errlen);
}

struct ini_ctx {
    struct mf_config *cfg;
    const char *path;
    char *errbuf;
    size_t errlen;
    int rc;
    FILE *f;          /* file source, or NULL for text */
    const char *text; /* text source: remaining bytes */
    size_t text_left;
    int lineno; /* Debian's inih has no line numbers in callbacks: the reader counts them */
};

/* fgets-like reader over a file or a memory buffer; counts lines for error messages. */
static char *cfg_ini_read(char *str, int num, void *stream)
{
    struct ini_ctx *ctx = stream;
    char *r;
    if (ctx->f) {
        r = fgets(str, num, ctx->f);
    } else {
        size_t n = 0;
        if (ctx->text_left == 0 || num < 2)
            return NULL;
        while (n + 1 < (size_t)num && n < ctx->text_left) {
            char c = ctx->text[n];
            str[n++] = c;
            if (c == '\n')
                break;
        }
        str[n] = '\0';
        ctx->text += n;
        ctx->text_left -= n;
        r = str;
    }
    if (r)
        ctx->lineno++;
    return r;
}

static int cfg_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    char origin[512];
    int lineno = ctx->lineno;

    if (ctx->rc != 0)
        return 0;
    snprintf(origin, sizeof(origin), "%s:%d", ctx->path, lineno);
    if (!section[0]) {
        snprintf(ctx->errbuf, ctx->errlen, "%s: key '%s' outside any [section]", origin, name);
        ctx->rc = MF_EINVAL;
        return 0;
    }
    ctx->rc = mf_config_set(ctx->cfg, section, name, value, origin, ctx->errbuf, ctx->errlen);
    return ctx->rc == 0;
}

int mf_config_load_file(struct mf_config *cfg, const char *path, char *errbuf, size_t errlen)
{
    struct ini_ctx ctx = { cfg, path, errbuf, errlen, 0, NULL, NULL, 0, 0 };
    FILE *f = fopen(path, "r");
    if (!f) {
        char eb[128];
        snprintf(errbuf, errlen, "%s: cannot open config file: %s", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_EINVAL;
    }
    ctx.f = f;
    int line = ini_parse_stream(cfg_ini_read, &ctx, cfg_ini_entry, &ctx);
    fclose(f);
    if (ctx.rc != 0)
        return ctx.rc;
    if (line != 0) {
        snprintf(errbuf, errlen, "%s:%d: syntax error", path, line);
        return MF_EINVAL;
    }
    return 0;
}

int mf_config_load_text(struct mf_config *cfg, const char *name, const char *text, size_t len,
                        char *errbuf, size_t errlen)
{
    struct ini_ctx ctx = { cfg, name, errbuf, errlen, 0, NULL, text, len, 0 };
    int line = ini_parse_stream(cfg_ini_read, &ctx, cfg_ini_entry, &ctx);
    if (ctx.rc != 0)
        return ctx.rc;
    if (line != 0) {
        snprintf(errbuf, errlen, "%s:%d: syntax error", name, line);
        return MF_EINVAL;
    }
    return 0;
}

static void upper_copy(char *dst, size_t dstlen, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < dstlen; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

int mf_config_load_env(struct mf_config *cfg, char *errbuf, size_t errlen)
{
    char name[192], sec[64], key[96];
    for (size_t i = 0; i < cfg->nslots; i++) {
        const struct mf_cfg_item *it = cfg->slots[i].item;
        upper_copy(sec, sizeof(sec), it->section);
        upper_copy(key, sizeof(key), it->key);
        snprintf(name, sizeof(name), "MF_%s_%s", sec, key);
        const char *v = getenv(name);
        if (v) {
            int rc = cfg_slot_set(&cfg->slots[i], v, name, errbuf, errlen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int mf_config_set_arg(struct mf_config *cfg, const char *assignment, char *errbuf, size_t errlen)
{
    char section[64], key[128];
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq || (size_t)(dot - assignment) >= sizeof(section) ||
        (size_t)(eq - dot - 1) >= sizeof(key) || dot == assignment || eq == dot + 1) {
        snprintf(errbuf, errlen, "--set '%s': expected section.key=value", assignment);
        return MF_EINVAL;
    }
    memcpy(section, assignment, (size_t)(dot - assignment));
    section[dot - assignment] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    return mf_config_set(cfg, section, key, eq + 1, "--set", errbuf, errlen);
}

static const struct cfg_slot *cfg_must(const struct mf_config *cfg, const char *section,
                                       const char *key)
{
    const struct cfg_slot *s = cfg_find(cfg, section, key);
    if (!s) {
        fprintf(stderr, "meterflow: internal error: config [%s] %s is not declared\n", section,
                key);
        abort();
    }
    return s;
}

int64_t mf_config_int(const struct mf_config *cfg, const char *section, const char *key)
{
    return cfg_must(cfg, section, key)->num;
}

int mf_config_bool(const struct mf_config *cfg, const char *section, const char *key)
{
    return (int)cfg_must(cfg, section, key)->num;
}

const char *mf_config_str(const struct mf_config *cfg, const char *section, const char *key)
{
    return cfg_must(cfg, section, key)->text;
}

size_t mf_config_pairs(const struct mf_config *cfg, const char *section, const char *const **keys,
                       const char *const **vals)
{
    struct cfg_pairs *p = cfg_find_pairs(cfg, section);
    if (!p || p->n == 0) {
        *keys = NULL;
        *vals = NULL;
        return 0;
    }
    *keys = (const char *const *)p->keys;
    *vals = (const char *const *)p->vals;
    return p->n;
}

static const char *type_name(const struct mf_cfg_item *it)
{
    switch (it->type) {
    case MF_CFG_INT:
        return "int";
    case MF_CFG_BOOL:
        return "bool";
    case MF_CFG_STR:
        return "string";
    case MF_CFG_ENUM:
        return it->choices;
    }
    return "?";
}

void mf_config_print_help(const struct mf_config *cfg, FILE *out)
{
    const char *last = "";
    for (size_t i = 0; i < cfg->nslots; i++) {
        const struct mf_cfg_item *it = cfg->slots[i].item;
        if (strcmp(last, it->section) != 0) {
            fprintf(out, "\n[%s]\n", it->section);
            last = it->section;
        }
        fprintf(out, "  %-26s %-10s default %-14s %s\n", it->key, type_name(it),
                it->def && it->def[0] ? it->def : "\"\"", it->help);
    }
    for (size_t i = 0; i < cfg->npairs; i++)
        fprintf(out, "\n[%s]\n  (any key: passed through verbatim)\n", cfg->pairs[i].section);
}

void mf_config_print_markdown(const struct mf_config *cfg, FILE *out)
{
    const char *last = "";
    fprintf(out, "# Configuration reference\n\n"
                 "Generated by `meterflow config-doc` from the modules' config tables; do not "
                 "edit by hand.\n\nSources, later wins: defaults, the INI file (`-c FILE`), "
                 "environment `MF_<SECTION>_<KEY>`, `--set section.key=value`. Unknown keys and "
                 "out-of-range values stop start-up with a message naming them.\n");
    for (size_t i = 0; i < cfg->nslots; i++) {
        const struct mf_cfg_item *it = cfg->slots[i].item;
        if (strcmp(last, it->section) != 0) {
            fprintf(out, "\n## [%s]\n\n| key | type | default | range | meaning |\n"
                         "|---|---|---|---|---|\n",
                    it->section);
            last = it->section;
        }
        char range[64] = "";
        if (it->type == MF_CFG_INT)
            snprintf(range, sizeof(range), "%lld..%lld", (long long)it->min, (long long)it->max);
        fprintf(out, "| `%s` | %s | `%s` | %s | %s |\n", it->key, type_name(it),
                it->def ? it->def : "", range, it->help);
    }
    for (size_t i = 0; i < cfg->npairs; i++)
        fprintf(out, "\n## [%s]\n\nAny key; passed verbatim to the backend library.\n",
                cfg->pairs[i].section);
}
