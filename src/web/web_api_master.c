/* web_api_master.c -- master data: transformer areas, terminals' registration, metering
 * points (meters), CSV import; and the per-area collection figures the KPI page shows.
 * Writes need the admin role (route table) and are audited with what was set.
 *
 * CSV import: the body (capped by [web] max_import_bytes) is written to a private temporary
 * file under [meterflow] data_dir and handed to store_import_csv, which imports all rows or
 * none and names the bad line.
 *
 * Thread: HTTP pool threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "meterflow/log.h"
#include "meterflow/store.h"
#include "web/web_int.h"

/* Tell the process (the front's registry cache in `run`) that terminals changed. */
static void master_changed(struct web_req *req, uint32_t term, int all)
{
    if (req->web->master_fn)
        req->web->master_fn(req->web->master_opaque, term, all);
}

static int term_key(const char *tid, uint32_t *key)
{
    uint16_t a1, a2;
    if (gw_terminal_parse(tid, &a1, &a2) != 0)
        return MF_EINVAL;
    *key = gw_terminal_key(a1, a2);
    return 0;
}

int web_h_areas(struct web_req *req)
{
    json_t *out = NULL;
    int rc = store_areas_json(req->st, &out);
    if (rc != 0)
        return web_store_error(req, rc, "areas");
    return web_reply(req, 200, json_pack("{s:o}", "items", out));
}

int web_h_area(struct web_req *req)
{
    json_t *out = NULL;
    int rc = store_area_json(req->st, req->params[0], &out);
    if (rc != 0)
        return web_store_error(req, rc, "area");
    return web_reply(req, 200, out);
}

static int body_object(struct web_req *req, json_t **out)
{
    char err[128];
    *out = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    return *out ? 0 : web_error(req, 400, "%s", err);
}

/* Optional number field (integer or real) in [min, max]. */
static int json_num_opt(json_t *o, const char *key, double min, double max, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
        return MF_EINVAL;
    *out = json_number_value(v);
    return 0;
}

int web_h_area_put(struct web_req *req)
{
    struct store_area a = { .id = req->params[0], .loss_threshold = 0.10 };
    const char *st_text = NULL;
    int64_t pn = 0;
    json_t *b;
    int rc;

    if ((rc = body_object(req, &b)) != 0)
        return rc;
    if (web_json_str_opt(b, "name", 128, &a.name) || web_json_str_opt(b, "supply_terminal", 9, &st_text) ||
        web_json_int_opt(b, "supply_pn", 0, 2040, &pn) ||
        json_num_opt(b, "loss_threshold", 0, 1, &a.loss_threshold) ||
        (st_text && term_key(st_text, &a.supply_term) != 0)) {
        json_decref(b);
        return web_error(req, 400, "fields: name, supply_terminal (RRRR-TTTT), supply_pn "
                                   "(0..2040), loss_threshold (0..1)");
    }
    a.has_supply = st_text != NULL;
    a.supply_pn = (uint16_t)pn;
    rc = store_area_put(req->st, &a);
    if (rc == 0)
        web_audit(req, "area.put", a.id, json_incref(b));
    json_decref(b);
    if (rc != 0)
        return web_store_error(req, rc, "area");
    return web_h_area(req);
}

int web_h_area_delete(struct web_req *req)
{
    int rc = store_area_delete(req->st, req->params[0]);
    if (rc != 0)
        return web_store_error(req, rc, "area");
    web_audit(req, "area.delete", req->params[0], NULL);
    return web_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

int web_h_terminal_put(struct web_req *req)
{
    struct store_terminal t = { .registered = 1, .login_answer = 1 };
    char tid[10];
    int64_t reg = 1, pw_len = 0, ans = 1;
    json_t *b;
    int rc;

    if (web_terminal_parse(req->params[0], tid) != 0 || term_key(tid, &t.term) != 0)
        return web_error(req, 400, "terminal id RRRR-TTTT expected in the path");
    if ((rc = body_object(req, &b)) != 0)
        return rc;
    if (web_json_str_opt(b, "name", 128, &t.name) || web_json_str_opt(b, "area", 64, &t.area) ||
        web_json_str_opt(b, "vendor", 64, &t.vendor) ||
        (json_object_get(b, "registered") && !json_is_boolean(json_object_get(b, "registered"))) ||
        web_json_int_opt(b, "pw_len", 0, 16, &pw_len) ||
        web_json_int_opt(b, "login_answer", 1, 3, &ans) || (ans != 1 && ans != 3)) {
        json_decref(b);
        return web_error(req, 400, "fields: name, area, vendor, registered (bool), pw_len "
                                   "(0..16), login_answer (1|3)");
    }
    if (json_object_get(b, "registered"))
        reg = json_is_true(json_object_get(b, "registered"));
    t.registered = (int)reg;
    t.pw_len = (int)pw_len;
    t.login_answer = (int)ans;
    rc = store_terminal_put(req->st, &t);
    if (rc == 0) {
        master_changed(req, t.term, 0);
        web_audit(req, "terminal.put", tid, json_incref(b));
    }
    json_decref(b);
    if (rc != 0)
        return web_store_error(req, rc, "terminal");
    return web_reply(req, 200, json_pack("{s:s, s:b}", "id", tid, "registered", t.registered));
}

int web_h_terminal_delete(struct web_req *req)
{
    char tid[10];
    uint32_t key;
    if (web_terminal_parse(req->params[0], tid) != 0 || term_key(tid, &key) != 0)
        return web_error(req, 400, "terminal id RRRR-TTTT expected in the path");
    int rc = store_terminal_delete(req->st, key);
    if (rc != 0)
        return web_store_error(req, rc, "terminal");
    master_changed(req, key, 0);
    web_audit(req, "terminal.delete", tid, NULL);
    return web_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

int web_h_meters(struct web_req *req)
{
    char tbuf[10];
    const char *term = NULL, *area = web_arg(req, "area");
    const char *t = web_arg(req, "terminal");
    struct store_page pg;
    int64_t page, size;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) != 0)
        return rc;
    if (t && *t) {
        if (web_terminal_parse(t, tbuf) != 0)
            return web_error(req, 400, "terminal: RRRR-TTTT expected");
        term = tbuf;
    }
    if (area && (!*area || strlen(area) > 64))
        area = NULL;
    pg.page = (int)page;
    pg.page_size = (int)size;
    rc = store_meters_json(req->st, term, area, &pg, &out);
    if (rc != 0)
        return web_store_error(req, rc, "meters");
    return web_reply(req, 200, out);
}

int web_h_meter_put(struct web_req *req)
{
    struct store_meter m = { .multiplier = 1 };
    char tid[10];
    int64_t pn;
    json_t *b, *am;
    int rc;

    if (web_terminal_parse(req->params[0], tid) != 0 || term_key(tid, &m.term) != 0 ||
        web_int_parse(req->params[1], 1, 2040, &pn) != 0)
        return web_error(req, 400, "/api/meters/RRRR-TTTT/PN (1..2040) expected");
    m.pn = (uint16_t)pn;
    if ((rc = body_object(req, &b)) != 0)
        return rc;
    am = json_object_get(b, "is_area_meter");
    if (web_json_str_opt(b, "addr", 12, &m.addr) || web_json_str_opt(b, "area", 64, &m.area) ||
        web_json_str_opt(b, "customer_class", 32, &m.customer_class) ||
        (am && !json_is_boolean(am)) || json_num_opt(b, "multiplier", 0, 1e6, &m.multiplier)) {
        json_decref(b);
        return web_error(req, 400, "fields: addr (<= 12 digits), area, customer_class, "
                                   "is_area_meter (bool), multiplier");
    }
    m.is_area_meter = json_is_true(am);
    rc = store_meter_put(req->st, &m);
    if (rc == 0)
        web_audit(req, "meter.put", tid, json_incref(b));
    json_decref(b);
    if (rc != 0)
        return web_store_error(req, rc, "meter");
    return web_reply(req, 200, json_pack("{s:s, s:i}", "terminal", tid, "pn", (int)pn));
}

int web_h_meter_delete(struct web_req *req)
{
    char tid[10];
    uint32_t key;
    int64_t pn;
    if (web_terminal_parse(req->params[0], tid) != 0 || term_key(tid, &key) != 0 ||
        web_int_parse(req->params[1], 1, 2040, &pn) != 0)
        return web_error(req, 400, "/api/meters/RRRR-TTTT/PN (1..2040) expected");
    int rc = store_meter_delete(req->st, key, (uint16_t)pn);
    if (rc != 0)
        return web_store_error(req, rc, "meter");
    web_audit(req, "meter.delete", tid, json_pack("{s:i}", "pn", (int)pn));
    return web_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

int web_h_import(struct web_req *req)
{
    char path[600], err[256];
    size_t rows = 0;
    int kind = store_import_kind_parse(req->params[0]);
    int fd, rc;

    if (kind < 0)
        return web_error(req, 404, "import kinds: areas, terminals, meters");
    if (req->body.len == 0)
        return web_error(req, 400, "empty CSV body");
    snprintf(path, sizeof(path), "%s/import-XXXXXX",
             mf_config_str(req->web->cfg, "meterflow", "data_dir"));
    fd = mkstemp(path);
    if (fd < 0)
        return web_error(req, 500, "cannot create a temporary file");
    size_t off = 0;
    while (off < req->body.len) {
        ssize_t n = write(fd, req->body.data + off, req->body.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    if (off != req->body.len) {
        unlink(path);
        return web_error(req, 500, "cannot write a temporary file");
    }
    err[0] = '\0';
    rc = store_import_csv(req->st, kind, path, &rows, err, sizeof(err));
    unlink(path);
    if (kind == STORE_IMPORT_TERMINALS) /* whatever rc says: a reload is cheap */
        master_changed(req, 0, 1);
    if (rc == MF_EINVAL) {
        /* The store names the temporary file; the client knows it as "line N". */
        const char *line = strstr(err, path);
        return web_error(req, 400, "CSV rejected, nothing imported: %s",
                         line ? line + strlen(path) + (line[strlen(path)] == ':') : err);
    }
    if (rc != 0)
        return web_store_error(req, rc, "import");
    web_audit(req, "import", req->params[0], json_pack("{s:I}", "rows", (json_int_t)rows));
    return web_reply(req, 200, json_pack("{s:s, s:I}", "kind", req->params[0], "rows",
                                         (json_int_t)rows));
}

/* Per-area collection rows of one date: [{"area","expected","collected","rate"}...]. */
int web_collect_by_area(struct web_req *req, int32_t date, json_t **out)
{
    /* One range scan of collect_day (date, area) joined to areas, first 1,000 areas: the
     * cost no longer grows with a per-area query (docs/PERFORMANCE.md "API"). */
    return store_kpi_collect_areas_json(req->st, date, 1000, out);
}
