/* web_cfg.c -- [web] configuration table (owned by the web module); drives parsing, --help and
 * docs/CONFIG.md. Read once by web_new (src/web/web_http.c). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item web_cfg[] = {
    { "web", "listen", MF_CFG_STR, "127.0.0.1", 0, 0, NULL, "HTTP listen address (IPv4)" },
    { "web", "port", MF_CFG_INT, "8080", 0, 65535, NULL,
      "HTTP port (0: any free port, printed at start-up)" },
    { "web", "threads", MF_CFG_INT, "4", 1, 64, NULL, "HTTP thread pool size" },
    { "web", "max_connections", MF_CFG_INT, "512", 8, 100000, NULL,
      "concurrent HTTP connections accepted" },
    { "web", "connection_timeout_s", MF_CFG_INT, "60", 1, 3600, NULL,
      "idle HTTP connection timeout, seconds" },
    { "web", "max_body_bytes", MF_CFG_INT, "65536", 1024, 1048576, NULL,
      "largest JSON request body (413 above)" },
    { "web", "max_import_bytes", MF_CFG_INT, "8388608", 4096, 268435456, NULL,
      "largest CSV upload to /api/import/* (413 above)" },
    { "web", "page_size_max", MF_CFG_INT, "500", 10, 10000, NULL,
      "cap of page_size on list endpoints" },
    { "web", "static_dir", MF_CFG_STR, "web/dist", 0, 0, NULL,
      "directory of the built panel (scripts/web-build.sh)" },
    { "web", "session_ttl_s", MF_CFG_INT, "28800", 60, 2592000, NULL,
      "session token lifetime, seconds" },
    { "web", "login_max_failures", MF_CFG_INT, "5", 1, 1000, NULL,
      "failed logins per address and per user within login_window_s before 429" },
    { "web", "login_window_s", MF_CFG_INT, "300", 1, 86400, NULL,
      "window of the login rate limit, seconds" },
    { "web", "hash_concurrency", MF_CFG_INT, "2", 1, 64, NULL,
      "concurrent Argon2id password hashes (64 MiB each)" },
    { "web", "store_handles", MF_CFG_INT, "4", 1, 64, NULL,
      "store handles the web opens (requests borrow one each)" },
    { "web", "cmd_timeout_ms", MF_CFG_INT, "30000", 1000, 600000, NULL,
      "answer timeout the front applies to a command" },
    { "web", "cmd_retries", MF_CFG_INT, "3", 0, 3, NULL,
      "command retransmissions by the front (376.1 allows at most 3)" },
    { "web", "cmd_expire_s", MF_CFG_INT, "600", 0, 604800, NULL,
      "a command still queued or sent this long after its creation ends 'expired' (its front"
      " died, or none holds the terminal); must exceed (cmd_retries + 1) * cmd_timeout_ms;"
      " 0: never" },
    { "web", "metrics_token", MF_CFG_STR, "", 0, 0, NULL,
      "if set (16..256 printable characters, no spaces), GET /metrics needs "
      "`Authorization: Bearer <token>` (Prometheus: authorization.credentials); empty: "
      "/metrics is public (docs/SECURITY.md)" },
    { "web", "tls", MF_CFG_BOOL, "false", 0, 0, NULL,
      "serve HTTPS (tls_cert/tls_key); cookies become Secure" },
    { "web", "tls_cert", MF_CFG_STR, "", 0, 0, NULL, "PEM certificate file (tls=true)" },
    { "web", "tls_key", MF_CFG_STR, "", 0, 0, NULL, "PEM private key file (tls=true)" },
    MF_CFG_END,
};

/* [metrics]: the Prometheus endpoint of `meterflow front` and `meterflow worker` (web_msrv.c);
 * `meterflow run` and `meterflow web` serve /metrics on the web's own port instead. */
const struct mf_cfg_item metrics_cfg[] = {
    { "metrics", "listen", MF_CFG_STR, "127.0.0.1", 0, 0, NULL,
      "address of the /metrics endpoint of meterflow front / worker (IPv4)" },
    { "metrics", "port", MF_CFG_INT, "-1", -1, 65535, NULL,
      "port of that endpoint; -1: none (the default: fronts and workers share hosts, give each"
      " process its own), 0: any free port (logged)" },
    MF_CFG_END,
};
