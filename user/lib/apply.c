// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "apply.h"
#include "err.h"
#include "keys.h"

/* How many orphaned flows a refusal names (the count says how many in all). */
#define NAMED_FLOWS 4

/* The first rule that takes a flow key read from the map (the data path's test), or -1. */
int wfg_policy_rule_for(const struct wfg_policy *pol, const struct wfg_flow_key *k)
{
	__u16 lport = ntohs(k->lport), rport = ntohs(k->rport);
	__u32 i;

	for (i = 0; i < pol->nrules && i < WFG_MAX_RULES; i++)
		if (wfg_rule_matches(&pol->rules[i], k, lport, rport))
			return (int)i;
	return -1;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* "10.0.0.1:5555 -> 10.0.0.2:4433 (live rule 1: IPv4, ...)" appended to msg. */
static void name_flow(char *msg, size_t msglen, const struct wfg_flow_key *k,
		      const struct wfg_policy *cur, int rule)
{
	int af = k->family == 4 ? AF_INET : AF_INET6;
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], desc[160];
	size_t off = strlen(msg);

	inet_ntop(af, k->laddr, la, sizeof(la));
	inet_ntop(af, k->raddr, ra, sizeof(ra));
	wfg_rule_describe(&cur->rules[rule], desc, sizeof(desc));
	snprintf(msg + off, msglen - off, "%s%s:%u -> %s:%u (live rule %d: %s)", off ? "; " : "",
		 la, ntohs(k->lport), ra, ntohs(k->rport), rule + 1, desc);
}

static int read_active(const struct wfg_dp *dp, struct wfg_ctl *ctl, struct wfg_policy *cur,
		       char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->ctl_fd, &zero, ctl) ||
	    bpf_map_lookup_elem(dp->policy_fd, &ctl->active, cur))
		return wfg_err(err, errlen, errno, "%s: cannot read the live policy: %s",
			       dp->ifname, strerror(errno));
	return 0;
}

/* Count (and name the first few of) the live flows cur matches and next does not. */
static int orphans(const struct wfg_dp *dp, const struct wfg_policy *cur,
		   const struct wfg_policy *next, struct wfg_flow *f, char *msg, size_t msglen)
{
	struct wfg_flow_key key, nkey, *prev = NULL;
	__u64 now = monotonic_ns();
	int n = 0, rule;

	while (bpf_map_get_next_key(dp->flows_fd, prev, &nkey) == 0) {
		key = nkey;
		prev = &key;
		if (bpf_map_lookup_elem(dp->flows_fd, &key, f) ||
		    f->st.last_ns + WFG_LIVE_FLOW_NS < now)
			continue;
		rule = wfg_policy_rule_for(cur, &key);
		if (rule < 0 || wfg_policy_rule_for(next, &key) >= 0)
			continue;
		if (n++ < NAMED_FLOWS)
			name_flow(msg, msglen, &key, cur, rule);
	}
	return n;
}

int wfg_dp_flows_orphaned(const struct wfg_dp *dp, const struct wfg_policy *next, char *msg,
			  size_t msglen)
{
	struct wfg_policy *cur = malloc(sizeof(*cur));
	struct wfg_flow *f = malloc(sizeof(*f));
	struct wfg_ctl ctl;
	int rc;

	msg[0] = 0;
	rc = cur && f ? read_active(dp, &ctl, cur, msg, msglen)
		      : wfg_err(msg, msglen, ENOMEM, "out of memory");
	/* Tunnel mode: a stock peer strips nothing, so a peer the rules stop
	 * matching is only undefended. Another mode: wfg_dp_apply() refuses. */
	if (!rc && cur->mode == WFG_MODE_SHIM && next->mode == WFG_MODE_SHIM)
		rc = orphans(dp, cur, next, f, msg, msglen);
	free(cur);
	free(f);
	return rc;
}

/* The key file's keys against the live ones: 0 to go on (*fit says how), or a refusal. */
static int check_keys(const struct wfg_dp *dp, const struct wfg_compiled_policy *cp, int force,
		      struct wfg_shim_key file[2], enum wfg_keys_fit *fit, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	char why[256];
	int rc;

	*fit = WFG_KEYS_SAME;
	if (!cp->keys_path[0] || cp->dp.mode == WFG_MODE_TUNNEL)
		return 0; /* no file named: the live keys stay; tunnel mode has no shim */
	rc = wfg_keys_load(cp->keys_path, file, err, errlen);
	if (!rc)
		rc = wfg_dp_keys_read(dp, &ctl, err, errlen);
	if (rc)
		return rc;
	*fit = wfg_keys_fit(&ctl, file, why, sizeof(why));
	if (force || *fit == WFG_KEYS_SAME || *fit == WFG_KEYS_ADDS_SPARE)
		return 0;
	return wfg_err(err, errlen, EINVAL,
		       "%s: %s: %s; loading it now breaks the shim until the peer loads it too. "
		       "Rotate live instead (`wfguard keys rotate %s --keys FILE`, then `keys "
		       "switch`, `keys retire`, docs/policy.md), or --force to load it now",
		       dp->ifname, cp->keys_path, why, dp->ifname);
}

static int check_flows(const struct wfg_dp *dp, const struct wfg_compiled_policy *cp, char *err,
		       size_t errlen)
{
	char named[1024];
	int n;

	n = wfg_dp_flows_orphaned(dp, &cp->dp, named, sizeof(named));
	if (n < 0)
		return wfg_err(err, errlen, -n, "%s", named);
	if (!n)
		return 0;
	return wfg_err(err, errlen, EINVAL,
		       "%s: the new policy's rules match %d live defended flow%s no longer: %s%s. "
		       "This end would stop stripping the padding and covers their peers still "
		       "send; --force to apply anyway",
		       dp->ifname, n, n == 1 ? "" : "s", named, n > NAMED_FLOWS ? "; ..." : "");
}

int wfg_dp_apply_checked(struct wfg_dp *dp, const struct wfg_compiled_policy *cp, int force,
			 char *note, size_t notelen, char *err, size_t errlen)
{
	struct wfg_shim_key file[2];
	enum wfg_keys_fit fit;
	int rc;

	note[0] = 0;
	rc = force ? 0 : check_flows(dp, cp, err, errlen);
	if (!rc)
		rc = check_keys(dp, cp, force, file, &fit, err, errlen);
	if (!rc) {
		struct wfg_dp_pool pool = { cp->pool, cp->pool_n, (int)cp->role };

		rc = wfg_dp_apply(dp, &cp->dp, &pool, err, errlen);
	}
	if (rc)
		return rc;
	rc = wfg_dp_keys_install(dp, file, fit, err, errlen);
	if (rc)
		return rc;
	if (fit == WFG_KEYS_ADDS_SPARE)
		snprintf(note, notelen, "spare key slot loaded from %s (key %08x)", cp->keys_path,
			 wfg_key_id(&file[1]));
	else if (fit != WFG_KEYS_SAME)
		snprintf(note, notelen,
			 "keys replaced from %s (forced): sending with key %08x; the peer "
			 "verifies nothing until it loads them too",
			 cp->keys_path, wfg_key_id(&file[0]));
	return 0;
}
