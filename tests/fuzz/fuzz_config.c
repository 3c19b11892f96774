/* fuzz_config.c -- the INI configuration parser on arbitrary bytes: every input either loads
 * or is refused with a message; a refused input leaves the config usable; a loaded input's
 * values pass their validation (read back through the typed getters). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meterflow/config.h"
#include "meterflow/modcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mf_cfg_item fz_cfg[] = {
    { "front", "port", MF_CFG_INT, "9300", 1, 65535, NULL, "port" },
    { "front", "accept_unknown", MF_CFG_BOOL, "true", 0, 0, NULL, "policy" },
    { "queue", "backend", MF_CFG_ENUM, "embedded", 0, 0, "embedded|kafka", "backend" },
    { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL, "dir" },
    MF_CFG_END,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mf_cfg_item *const tables[] = { fz_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    char err[512];
    struct mf_config *cfg = mf_config_new(tables, pass);

    err[0] = '\0';
    int rc = mf_config_load_text(cfg, "fuzz.ini", (const char *)data, size, err, sizeof(err));
    if (rc != 0 && err[0] == '\0')
        __builtin_trap(); /* every refusal must say why */
    int64_t port = mf_config_int(cfg, "front", "port");
    if (port < 1 || port > 65535)
        __builtin_trap(); /* validation must hold whatever was loaded */
    const char *b = mf_config_str(cfg, "queue", "backend");
    if (strcmp(b, "embedded") != 0 && strcmp(b, "kafka") != 0)
        __builtin_trap();
    const char *const *k, *const *v;
    size_t n = mf_config_pairs(cfg, "kafka", &k, &v);
    for (size_t i = 0; i < n; i++)
        if (!k[i] || !v[i])
            __builtin_trap();
    mf_config_free(cfg);
    return 0;
}
