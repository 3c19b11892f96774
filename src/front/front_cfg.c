/* front_cfg.c -- [front] configuration table (owned by the front module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item front_cfg[] = {
    { "front", "listen", MF_CFG_STR, "0.0.0.0", 0, 0, NULL, "address terminals connect to" },
    { "front", "port", MF_CFG_INT, "9300", 0, 65535, NULL,
      "TCP port terminals connect to (0: any free port, for tests)" },
    { "front", "threads", MF_CFG_INT, "2", 1, 64, NULL,
      "I/O threads, each with its own event loop and SO_REUSEPORT listener" },
    { "front", "single", MF_CFG_BOOL, "false", 0, 0, NULL,
      "this is the only front: commands for terminals it does not hold fail at once as "
      "offline; otherwise another front may hold them and they are ignored. Always on with "
      "the embedded queue (one process, one front)" },
    { "front", "max_connections", MF_CFG_INT, "100000", 1, 10000000, NULL,
      "connections over this are accepted and closed at once (clamped below the fd limit)" },
    { "front", "admit_per_sec", MF_CFG_INT, "0", 0, 10000000, NULL,
      "admission control against reconnect storms: new connections admitted per second "
      "(all I/O threads together). Each is accepted at once but read -- its login answered, "
      "its session opened -- only when admitted, oldest first, so the sessions already "
      "online keep the CPU; login_timeout_s counts from the admission. A front holding N "
      "terminals readmits them all in N / admit_per_sec s (terminals whose login times out "
      "meanwhile reconnect behind the queue). 5000 on the 2-core test machine kept the "
      "group's confirms within 2 x normal + 10 ms in a 19,000-terminal storm "
      "(docs/RELIABILITY.md); 0 = every connection at once" },
    { "front", "admit_burst", MF_CFG_INT, "64", 1, 10000000, NULL,
      "with admit_per_sec: connections admitted at once after a quiet spell (all I/O "
      "threads together)" },
    { "front", "max_frame_bytes", MF_CFG_INT, "16391", 20, 16391, NULL,
      "largest 376.1 frame accepted (L1 + 8)" },
    { "front", "max_buffered_bytes", MF_CFG_INT, "65536", 64, 16777216, NULL,
      "bytes held per connection (partial frame, or input held back by backpressure); "
      "over it the connection is closed" },
    { "front", "max_garbage_bytes", MF_CFG_INT, "4096", 16, 16777216, NULL,
      "bytes without a valid frame before the connection is closed (resync gives up)" },
    { "front", "partial_timeout_ms", MF_CFG_INT, "30000", 10, 3600000, NULL,
      "a partial frame older than this closes the connection (slow senders)" },
    { "front", "login_timeout_s", MF_CFG_INT, "120", 1, 86400, NULL,
      "a connection without a login (or after a logout) is closed after this" },
    { "front", "heartbeat_period_s", MF_CFG_INT, "900", 1, 86400, NULL,
      "terminals' heartbeat period (AFN=04 F1; the powerstation master uses 15 min)" },
    { "front", "liveness_misses", MF_CFG_INT, "3", 1, 100, NULL,
      "missed heartbeat periods (plus liveness_slack_s) before a session is declared dead" },
    { "front", "liveness_slack_s", MF_CFG_INT, "60", 0, 86400, NULL,
      "slack added to the liveness window" },
    { "front", "max_inflight", MF_CFG_INT, "64", 1, 65535, NULL,
      "frames of one connection handed to the queue and not yet durable; then stop reading" },
    { "front", "frames_per_sec", MF_CFG_INT, "50", 0, 1000000, NULL,
      "data frames per second per terminal (burst 2 s); over it frames are dropped "
      "unconfirmed; 0 = unlimited" },
    { "front", "login_per_min", MF_CFG_INT, "600", 0, 10000000, NULL,
      "logins per source IP address per minute (hashed counters; carrier NAT puts many "
      "terminals behind one address: set it above their number, since after a mass drop -- "
      "a stuck store, a restart -- each logs in again; list such gateways in "
      "login_trusted_nets); 0 = unlimited" },
    { "front", "login_trusted_nets", MF_CFG_STR, "", 0, 0, NULL,
      "source networks held to login_trusted_per_min instead of login_per_min: CIDR "
      "(a.b.c.d/n, IPv6/n, or one address) separated by commas or spaces, e.g. the APN "
      "gateways' NAT addresses '10.20.0.0/16, 192.0.2.7', whose thousands of terminals behind "
      "one address log in again together after every outage. A bad item stops start-up. "
      "Everything else still applies to them (max_connections, frames_per_sec, "
      "max_buffered_bytes, accept_unknown / allow-list, the PW hook); empty: none" },
    { "front", "login_trusted_per_min", MF_CFG_INT, "0", 0, 10000000, NULL,
      "logins per source address per minute inside login_trusted_nets (own counters, apart "
      "from login_per_min's); 0 = unlimited" },
    { "front", "accept_unknown", MF_CFG_BOOL, "true", 0, 0, NULL,
      "accept logins of terminals not registered (flagged known=0); false: deny (AFN=00 F2) "
      "and close" },
    { "front", "allow_file", MF_CFG_STR, "", 0, 0, NULL,
      "file of registered terminals, one RRRR-TTTT per line (standalone front without a "
      "store); empty: every terminal counts as registered unless a registry hook says otherwise" },
    { "front", "f3_terminals", MF_CFG_STR, "", 0, 0, NULL,
      "comma-separated RRRR-TTTT answered with AFN=00 F3 (per-item) instead of F1, or '*' "
      "for all" },
    { "front", "pw2_terminals", MF_CFG_STR, "", 0, 0, NULL,
      "comma-separated RRRR-TTTT whose PW is 2 bytes (dialect) instead of pw_len" },
    { "front", "pw_len", MF_CFG_INT, "16", 2, 16, NULL, "PW length in downlink frames" },
    { "front", "msa", MF_CFG_INT, "1", 1, 127, NULL,
      "master station address in our requests (answers are routed by it)" },
    { "front", "event_read", MF_CFG_BOOL, "true", 0, 0, NULL,
      "read new important events (AFN=0E F1) when a frame shows ACD=1 with a new EC1" },
    { "front", "event_read_max", MF_CFG_INT, "16", 1, 255, NULL,
      "records read at most when the last processed EC1 is unknown" },
    { "front", "max_queued_cmds", MF_CFG_INT, "16", 1, 255, NULL,
      "commands waiting per terminal behind the active one; more fail" },
    { "front", "completions_on_io", MF_CFG_BOOL, "true", 0, 0, NULL,
      "Kafka: the I/O threads serve the producer's delivery reports themselves (woken by "
      "librdkafka; a frame's message is allocated and freed on one thread, its confirm needs "
      "no hand-off); false: the queue's poller thread serves them and hands each over" },
    { "front", "tick_ms", MF_CFG_INT, "50", 1, 10000, NULL,
      "sweep period: request deadlines, backpressure retries" },
    { "front", "clock_publish_delta_s", MF_CFG_INT, "10", 0, 86400, NULL,
      "publish a terminal's clock offset again when it moved by this much" },
    { "front", "registry_cache", MF_CFG_BOOL, "true", 0, 0, NULL,
      "`meterflow run`: answer logins from an in-memory copy of the terminals' registration "
      "and last event counter (loaded at start, reloaded every registry_reload_ms, updated "
      "by this process's own master-data writes and event commits); false: 1 store query per "
      "login on the I/O thread" },
    { "front", "registry_cache_max", MF_CFG_INT, "262144", 1, 16777216, NULL,
      "terminals the registry cache holds at most (24-48 bytes each); past it the rest are "
      "looked up in the store at each login" },
    { "front", "registry_reload_ms", MF_CFG_INT, "10000", 0, 86400000, NULL,
      "full reload period of the registry cache: the bound on how long a change of master "
      "data made outside this process (meterflow import, another process, SQL) takes to "
      "reach logins; 0: only after this process's own CSV imports" },
    MF_CFG_END,
};
