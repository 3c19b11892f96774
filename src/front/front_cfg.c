/* front_cfg.c -- [front] configuration table (owned by the front module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item front_cfg[] = {
    { "front", "listen", MF_CFG_STR, "0.0.0.0", 0, 0, NULL, "address terminals connect to" },
    { "front", "port", MF_CFG_INT, "9300", 1, 65535, NULL, "TCP port terminals connect to" },
    { "front", "max_frame_bytes", MF_CFG_INT, "16391", 20, 16391, NULL,
      "largest 376.1 frame accepted (L1 + 8)" },
    MF_CFG_END,
};
