/* web_routes.c -- THE route table: every endpoint with its method, path pattern, minimum role,
 * body rules and handler. web_auth_check enforces min_role for every row before the handler
 * runs, so an endpoint cannot forget its role check; a path absent from this table is a 404
 * (or a panel file), a known path with another method a 405.
 *
 * Roles: viewer reads; operator also commands terminals and acknowledges anomalies; admin
 * also manages users and master data and reads the audit log.
 *
 * Thread: the table is constant; web_route_find is pure. */
#include <string.h>

#include "meterflow/common.h"
#include "web/web_int.h"

#define V WEB_ROLE_VIEWER
#define O WEB_ROLE_OPERATOR
#define A WEB_ROLE_ADMIN
#define S WEB_R_STORE
#define J (WEB_R_STORE | WEB_R_JSON)
#define KB (64u * 1024u)
/* max_body 0 = "use [web] max_body_bytes" / "max_import_bytes" (resolved by web_route_cap). */
#define IMPORT_BODY ((size_t)-1)

const struct web_route web_routes[] = {
    { "GET", "/api/health", WEB_ROLE_NONE, 0, 0, web_h_health, "health" },
    { "GET", "/metrics", WEB_ROLE_NONE, S, 0, web_h_metrics, "metrics" },
    { "POST", "/api/login", WEB_ROLE_NONE, J | WEB_R_NOCSRF, 4 * 1024, web_h_login, "login" },
    { "POST", "/api/logout", V, S, 0, web_h_logout, "logout" },
    { "GET", "/api/me", V, S, 0, web_h_me, "me" },

    { "GET", "/api/users", A, S, 0, web_h_users_list, "users" },
    { "POST", "/api/users", A, J, 4 * 1024, web_h_user_create, "user_create" },
    { "PATCH", "/api/users/{name}", A, J, 4 * 1024, web_h_user_update, "user_update" },
    { "DELETE", "/api/users/{name}", A, S, 0, web_h_user_delete, "user_delete" },

    { "GET", "/api/terminals", V, S, 0, web_h_terminals, "terminals" },
    { "GET", "/api/terminals/{tid}", V, S, 0, web_h_terminal, "terminal" },
    { "PUT", "/api/terminals/{tid}", A, J, 16 * 1024, web_h_terminal_put, "terminal_put" },
    { "DELETE", "/api/terminals/{tid}", A, S, 0, web_h_terminal_delete, "terminal_delete" },
    { "GET", "/api/terminals/{tid}/points/{pn}/energy", V, S, 0, web_h_point_energy, "energy" },
    { "GET", "/api/terminals/{tid}/points/{pn}/daily", V, S, 0, web_h_point_daily, "daily" },
    { "GET", "/api/terminals/{tid}/points/{pn}/curve", V, S, 0, web_h_point_curve, "curve" },
    { "GET", "/api/terminals/{tid}/points/{pn}/instant", V, S, 0, web_h_point_instant,
      "instant" },

    { "GET", "/api/events", V, S, 0, web_h_events, "events" },
    { "GET", "/api/anomalies", V, S, 0, web_h_anomalies, "anomalies" },
    { "POST", "/api/anomalies/{id}/state", O, J, 4 * 1024, web_h_anomaly_state, "anomaly_state" },
    { "GET", "/api/kpi/summary", V, S, 0, web_h_kpi_summary, "kpi_summary" },
    { "GET", "/api/kpi/online", V, S, 0, web_h_kpi_online, "kpi_online" },
    { "GET", "/api/kpi/collection", V, S, 0, web_h_kpi_collection, "kpi_collection" },
    { "GET", "/api/kpi/lineloss", V, S, 0, web_h_kpi_lineloss, "kpi_lineloss" },
    { "GET", "/api/recollect", V, S, 0, web_h_recollect, "recollect" },

    { "GET", "/api/commands", V, S, 0, web_h_commands, "commands" },
    { "POST", "/api/commands", O, J, 16 * 1024, web_h_command_create, "command_create" },

    { "GET", "/api/commands/{id}", V, S, 0, web_h_command, "command" },

    { "GET", "/api/areas", V, S, 0, web_h_areas, "areas" },
    { "GET", "/api/areas/{id}", V, S, 0, web_h_area, "area" },
    { "PUT", "/api/areas/{id}", A, J, 16 * 1024, web_h_area_put, "area_put" },
    { "DELETE", "/api/areas/{id}", A, S, 0, web_h_area_delete, "area_delete" },
    { "GET", "/api/meters", V, S, 0, web_h_meters, "meters" },
    { "PUT", "/api/meters/{tid}/{pn}", A, J, 16 * 1024, web_h_meter_put, "meter_put" },
    { "DELETE", "/api/meters/{tid}/{pn}", A, S, 0, web_h_meter_delete, "meter_delete" },
    { "POST", "/api/import/{kind}", A, WEB_R_STORE | WEB_R_CSV, IMPORT_BODY, web_h_import,
      "import" },
    { "GET", "/api/audit", A, S, 0, web_h_audit, "audit" },
};
const size_t web_nroutes = MF_ARRAY_LEN(web_routes);

size_t web_route_cap(const struct web *web, const struct web_route *r)
{
    if (r->max_body == IMPORT_BODY)
        return web->max_import_bytes;
    if (r->max_body == 0)
        return 1024; /* GET/DELETE and body-less POSTs: nothing legitimate to send */
    return MF_MIN(r->max_body, web->max_body_bytes);
}

int web_route_find(const char *method, const char *path, struct web_req *req,
                   const struct web_route **out)
{
    int path_known = 0;
    size_t alen = 0;

    req->allow[0] = '\0';
    for (size_t i = 0; i < web_nroutes; i++) {
        const struct web_route *r = &web_routes[i];
        if (!web_path_match(r->pattern, path, req->params, &req->nparams))
            continue;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
            *out = r;
            return 0;
        }
        path_known = 1;
        size_t ml = strlen(r->method);
        if (alen + ml + 3 < sizeof(req->allow)) {
            if (alen)
                req->allow[alen++] = ',', req->allow[alen++] = ' ';
            memcpy(req->allow + alen, r->method, ml + 1);
            alen += ml;
        }
    }
    return path_known ? MF_EDENIED : MF_ENOTFOUND;
}
