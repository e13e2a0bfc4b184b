/*
 * src/sshnpd/authz.c - who may use this daemon (noports-wire.md 9.2, 5.11).
 *
 * 1. a --managers atSign: authorized, client permit-open "*:*";
 * 2. else with --policy-manager: an auth_checks RPC to the policy atSign.
 *    One check per client atSign is kept for policy_cache_ms (15 s), pending
 *    or complete; requests that arrive meanwhile wait on it (at most
 *    SD_MAX_WAITERS). The policy answers "ack" then "success" with
 *    {"authorized":..,"permitOpen":[..]}; anything else, or no answer within
 *    policy_timeout_ms (10 s), means "not authorized";
 * 3. else not authorized.
 * (BASELINE also authorized the policy atSign itself; NEWER does not, nor
 * do we: the policy answers RPCs, it does not open sessions.)
 * Unauthorized senders never get an answer.
 */
#include "np/permit.h"
#include "np/policy.h"
#include "sshnpd_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <event2/event.h>
#include <string.h>
#include <strings.h>

enum { PC_PENDING = 0, PC_DONE = 1 };

struct sd_pcheck {
    struct sd_pcheck *next;
    struct sshnpd *d;
    char client[AT_ATSIGN_BUF];
    int64_t req_id;
    int state;
    int authorized;
    char *permit_csv; /* the policy's list for this client */
    int64_t created_ms;
    struct event *timer;
    struct sd_req *waiters;
    unsigned n_waiters;
};

int sd_is_manager(const struct sshnpd *d, const char *atsign)
{
    for (size_t i = 0; i < d->cfg.n_managers; i++)
        if (strcasecmp(d->cfg.managers[i], atsign) == 0)
            return 1;
    return 0;
}

static void pc_free(struct sd_pcheck *pc)
{
    struct sd_req *w;

    if (!pc)
        return;
    if (pc->timer)
        event_free(pc->timer);
    while ((w = pc->waiters) != NULL) {
        pc->waiters = w->wnext;
        sd_req_free(w);
    }
    np_free(pc->permit_csv);
    np_free(pc);
}

static void pc_unlink(struct sshnpd *d, struct sd_pcheck *pc)
{
    struct sd_pcheck **p;

    for (p = &d->pchecks; *p; p = &(*p)->next)
        if (*p == pc) {
            *p = pc->next;
            d->n_pchecks--;
            return;
        }
}

void sd_authz_free_all(struct sshnpd *d)
{
    while (d->pchecks) {
        struct sd_pcheck *pc = d->pchecks;
        pc_unlink(d, pc);
        pc_free(pc);
    }
}

void sd_authz_sweep(struct sshnpd *d)
{
    struct sd_pcheck **p = &d->pchecks;
    int64_t now = np_mono_ms();

    while (*p) {
        struct sd_pcheck *pc = *p;
        if (pc->state == PC_DONE && now - pc->created_ms >= d->cfg.policy_cache_ms) {
            *p = pc->next;
            d->n_pchecks--;
            pc_free(pc);
        } else {
            p = &pc->next;
        }
    }
}

/* Give r the client permit list of a completed, positive check. */
static int grant(struct sd_req *r, const struct sd_pcheck *pc)
{
    char err[128];
    int rc;

    r->by_policy = 1;
    np_permit_free(r->client_permit);
    r->client_permit = NULL;
    rc = np_permit_parse(pc->permit_csv ? pc->permit_csv : "", &r->client_permit, err, sizeof(err));
    if (rc != 0)
        np_warn("sshnpd: policy permit-open list for %s is not usable (%s): not authorized",
                pc->client, err);
    return rc;
}

/* A check is complete: release its waiters. */
static void pc_complete(struct sd_pcheck *pc)
{
    struct sd_req *w;

    pc->state = PC_DONE;
    if (pc->timer) {
        event_free(pc->timer);
        pc->timer = NULL;
    }
    while ((w = pc->waiters) != NULL) {
        pc->waiters = w->wnext;
        w->wnext = NULL;
        pc->n_waiters--;
        if (pc->authorized && grant(w, pc) == 0) {
            pc->d->st.authorized++;
            sd_req_run(w);
        } else {
            pc->d->st.unauthorized++;
            np_debug("sshnpd: %s from %s: not authorized by the policy", w->type_name, w->from);
            sd_req_free(w);
        }
    }
}

static void pc_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct sd_pcheck *pc = arg;
    (void)fd;
    (void)what;

    np_warn("sshnpd: policy %s did not answer the auth check for %s within %d ms: not "
            "authorized",
            pc->d->cfg.policy, pc->client, pc->d->cfg.policy_timeout_ms);
    pc->authorized = 0;
    pc_complete(pc);
}

static int64_t next_req_id(struct sshnpd *d)
{
    int64_t id = np_wall_ms() * 1000; /* microseconds since the epoch, as Dart */

    if (id <= d->last_req_id)
        id = d->last_req_id + 1;
    d->last_req_id = id;
    return id;
}

static int pc_start(struct sshnpd *d, const char *client, struct sd_pcheck **out)
{
    struct sd_pcheck *pc = NULL;
    char key[128];
    char *value = NULL;
    struct timeval tv;
    int r;

    *out = NULL;
    if (d->n_pchecks >= SD_MAX_PCHECKS) {
        sd_authz_sweep(d);
        if (d->n_pchecks >= SD_MAX_PCHECKS)
            return NP_ERR_LIMIT;
    }
    if ((pc = np_calloc(1, sizeof(*pc))) == NULL)
        return NP_ERR_NOMEM;
    pc->d = d;
    snprintf(pc->client, sizeof(pc->client), "%s", client);
    pc->req_id = next_req_id(d);
    pc->created_ms = np_mono_ms();
    r = NP_ERR_NOMEM;
    if ((pc->timer = evtimer_new(d->base, pc_timeout, pc)) == NULL)
        goto out;
    tv.tv_sec = d->cfg.policy_timeout_ms / 1000;
    tv.tv_usec = (d->cfg.policy_timeout_ms % 1000) * 1000;
    if (evtimer_add(pc->timer, &tv) != 0) {
        r = NP_ERR_INTERNAL;
        goto out;
    }
    if ((r = np_policy_request_key(pc->req_id, key, sizeof(key))) != 0 ||
        (r = np_policy_request_build(pc->req_id, d->cfg.atsign, d->cfg.device, d->cfg.device_group,
                                     client, &value)) != 0)
        goto out;
    /* AtRpc: ttln 30 s. A send failure is not retried here: the check then
     * times out (not authorized) and the next request after the cache
     * lifetime asks again. */
    d->st.policy_checks++;
    np_debug("sshnpd: asking policy %s about %s (reqId %lld)", d->cfg.policy, client,
             (long long)pc->req_id);
    sd_notify(d, d->cfg.policy, key, value, 0, 30000);
    pc->next = d->pchecks;
    d->pchecks = pc;
    d->n_pchecks++;
    *out = pc;
    pc = NULL;
    r = 0;
out:
    np_free(value);
    pc_free(pc);
    return r;
}

int sd_authz_check(struct sshnpd *d, struct sd_req *r)
{
    struct sd_pcheck *pc;
    int rc;

    if (sd_is_manager(d, r->from)) {
        r->client_permit = NULL; /* "*:*" */
        r->by_policy = 0;
        return 0;
    }
    if (!d->cfg.policy)
        return NP_ERR_PERM;
    sd_authz_sweep(d);
    for (pc = d->pchecks; pc; pc = pc->next)
        if (strcasecmp(pc->client, r->from) == 0)
            break;
    if (pc && pc->state == PC_DONE) {
        if (!pc->authorized)
            return NP_ERR_PERM;
        return grant(r, pc) == 0 ? 0 : NP_ERR_PERM;
    }
    if (!pc && (rc = pc_start(d, r->from, &pc)) != 0)
        return rc;
    if (pc->n_waiters >= SD_MAX_WAITERS)
        return NP_ERR_LIMIT;
    /* FIFO order of waiters */
    {
        struct sd_req **p = &pc->waiters;
        while (*p)
            p = &(*p)->wnext;
        *p = r;
        r->wnext = NULL;
    }
    pc->n_waiters++;
    return NP_AGAIN;
}

int sd_authz_policy_response(struct sshnpd *d, const char *key, const char *value, size_t len)
{
    struct np_policy_answer *a = NULL;
    struct sd_pcheck *pc;
    int64_t req_id;
    int kind, r;

    if (np_policy_key_parse(key, &kind, &req_id) != 0)
        return NP_ERR_NOTFOUND;
    for (pc = d->pchecks; pc; pc = pc->next)
        if (pc->req_id == req_id)
            break;
    if (!pc || pc->state != PC_PENDING) {
        np_debug("sshnpd: policy response for unknown or finished reqId %lld ignored",
                 (long long)req_id);
        return 0;
    }
    if ((r = np_policy_response_parse(value, len, &a)) != 0 || a->req_id != req_id) {
        np_warn("sshnpd: malformed policy response for %s (reqId %lld): not authorized", pc->client,
                (long long)req_id);
        pc->authorized = 0;
        pc_complete(pc);
        goto out;
    }
    switch (a->type) {
    case NP_POLICY_ACK:
        np_debug("sshnpd: policy acknowledged the check for %s", pc->client);
        break;
    case NP_POLICY_SUCCESS:
        pc->authorized = a->authorized;
        if (a->authorized && (r = np_policy_answer_permit_csv(a, &pc->permit_csv)) != 0)
            pc->authorized = 0;
        {
            char esc[256] = "";
            if (a->message)
                np_log_escape(esc, sizeof(esc), a->message, strlen(a->message));
            np_info("sshnpd: policy: %s is %sauthorized%s%s", pc->client,
                    pc->authorized ? "" : "not ", a->message ? ": " : "", esc);
        }
        pc_complete(pc);
        break;
    default:
        np_warn("sshnpd: policy refused the check for %s (%s): not authorized", pc->client,
                a->type == NP_POLICY_NACK ? "nack" : "error");
        pc->authorized = 0;
        pc_complete(pc);
        break;
    }
out:
    np_policy_answer_free(a);
    return 0;
}
