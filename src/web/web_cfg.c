/* web_cfg.c -- [web] configuration table (owned by the web module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item web_cfg[] = {
    { "web", "listen", MF_CFG_STR, "127.0.0.1", 0, 0, NULL, "HTTP listen address" },
    { "web", "port", MF_CFG_INT, "8080", 1, 65535, NULL, "HTTP port" },
    MF_CFG_END,
};
