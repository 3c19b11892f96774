/* modcfg.h -- the config table each module declares (see config.h). Each table lives in its
 * module (src/<module>/<module>_cfg.c) and is listed once in src/app/app_config.c.
 * Thread: constant tables, read from any thread. */
#ifndef MF_MODCFG_H
#define MF_MODCFG_H

#include "meterflow/config.h"

extern const struct mf_cfg_item front_cfg[];  /* [front]  src/front/front_cfg.c */
extern const struct mf_cfg_item queue_cfg[];  /* [queue]  src/queue/queue_cfg.c */
extern const struct mf_cfg_item store_cfg[];  /* [store]  src/store/store_cfg.c */
extern const struct mf_cfg_item worker_cfg[]; /* [worker] [analytics] src/worker/worker_cfg.c */
extern const struct mf_cfg_item web_cfg[];    /* [web]    src/web/web_cfg.c */
extern const struct mf_cfg_item metrics_cfg[]; /* [metrics] src/web/web_cfg.c */
extern const struct mf_cfg_item sec_cfg[];    /* [security] src/sec/sec_cfg.c */

#endif
