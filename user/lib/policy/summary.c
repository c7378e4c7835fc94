// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The human summary of a compiled policy, for `wfguard policy check`. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct sbuf {
	char *p;
	size_t len, off;
};

__attribute__((format(printf, 2, 3))) static void out(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->off >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->off, b->len - b->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->off += (size_t)n;
	if (b->off >= b->len) {
		b->off = b->len;
		if (b->len > 4)
			strcpy(b->p + b->len - 5, "...\n");
	}
}

static void out_prefix(struct sbuf *b, const char *name, __u8 fam, const __u8 *a, __u8 plen)
{
	char buf[INET6_ADDRSTRLEN];

	if (!fam || (!plen && !a[0])) {
		out(b, " %s any", name);
		return;
	}
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
	out(b, " %s %s/%u", name, buf, plen);
}

static void out_ports(struct sbuf *b, __u16 lo, __u16 hi)
{
	if (lo == 0 && hi == 65535)
		out(b, " port any");
	else if (lo == hi)
		out(b, " port %u", lo);
	else
		out(b, " ports %u-%u", lo, hi);
}

/* "no limit", "at most 50%", "none" */
static void out_frac(struct sbuf *b, __u32 q16)
{
	if (!q16)
		out(b, "no limit");
	else if (q16 == 1)
		out(b, "none");
	else
		out(b, "at most %.3g%%", q16 * 100.0 / 65536.0);
}

static void summarize_side(struct sbuf *b, const struct wfg_side_cfg *cfg)
{
	const struct wfg_shape_cfg *sh = &cfg->shape;
	int any = cfg->front.max_covers || cfg->pace.mode != WFG_PACE_NONE || cfg->nmachines;
	__u32 i;

	out(b, "    shape: %s", shape_modes[sh->mode < NF(shape_modes) ? sh->mode : 0]);
	if (sh->mode == WFG_SHAPE_PAD_TO || sh->mode == WFG_SHAPE_MULTIPLE)
		out(b, " %u", sh->size);
	if (sh->mode == WFG_SHAPE_BUCKETS)
		for (i = 0; i < sh->nbuckets; i++)
			out(b, "%s%u", i ? "/" : " ", sh->buckets[i]);
	if (sh->mode == WFG_SHAPE_RANDOM)
		out(b, " %u..%u", sh->lo, sh->hi);
	if (sh->max)
		out(b, ", never beyond %u", sh->max);
	if (!any)
		out(b, "\n");
	else if (cfg->cover_size)
		out(b, "; covers %u bytes before shaping\n", cfg->cover_size);
	else
		out(b, "; covers as small as the shim allows, then shaped\n");
	if (cfg->front.max_covers) {
		out(b, "    front: up to %u covers in a %.3g..%.3g s window\n",
		    cfg->front.max_covers, cfg->front.window_min_ns / 1e9,
		    cfg->front.window_max_ns / 1e9);
	}
	if (cfg->pace.mode == WFG_PACE_CONSTANT) {
		out(b, "    pacing: one packet every %.3g ms", cfg->pace.interval_ns / 1e6);
		if (cfg->pace.pad_multiple > 1)
			out(b, ", packet count padded to %s multiple of %u at the page's end",
			    cfg->pace.flags & WFG_PACE_F_PAD_GEOMETRIC ? "a random (geometric)"
								       : "a",
			    cfg->pace.pad_multiple);
		if (cfg->pace.min_active_ns)
			out(b, ", at least %.3g s", cfg->pace.min_active_ns / 1e9);
		out(b, "\n");
	} else if (cfg->pace.mode == WFG_PACE_DECAY) {
		out(b,
		    "    pacing: decaying rate from %.4g packets/s, surge at %.3g s of queue, "
		    "%s%u covers per page load\n",
		    cfg->pace.interval_at[0] ? 1e9 / (double)cfg->pace.interval_at[0] : 0.0,
		    cfg->pace.surge_queue_ns / 1e9,
		    cfg->pace.flags & WFG_PACE_F_BUDGET_UNIFORM ? "a budget of 0.." : "",
		    cfg->pace.flags & WFG_PACE_F_BUDGET_UNIFORM && cfg->pace.cover_budget
			    ? cfg->pace.cover_budget - 1
			    : cfg->pace.cover_budget);
	} else if (cfg->pace.mode == WFG_PACE_FOLLOW) {
		out(b,
		    "    pacing: one packet per %.3g received, real ones held for a slot at most "
		    "%.3g s\n",
		    cfg->pace.follow_ratio_q16 / (double)WFG_FRAC_ONE,
		    cfg->pace.delay_cap_ns / 1e9);
	}
	if (cfg->pace.mode != WFG_PACE_NONE && cfg->pace.start_packets &&
	    cfg->pace.start_interval_ns)
		out(b, "    start phase: %.3g covers/s until %u packets %s\n",
		    1e9 / (double)cfg->pace.start_interval_ns, cfg->pace.start_packets,
		    cfg->pace.flags & WFG_PACE_F_START_ON_RECV ? "received" : "sent");
	if (cfg->pace.mode != WFG_PACE_NONE) {
		if (cfg->pace.idle_stop_ns)
			out(b, "    page load ends after %.3g s without real packets\n",
			    cfg->pace.idle_stop_ns / 1e9);
		else
			out(b, "    page load ends with the episode\n");
	}
	for (i = 0; i < cfg->nmachines; i++) {
		const struct wfg_machine_cfg *mc = &cfg->machines[i];

		out(b, "    machine %u: %u state%s; padding ", i + 1, mc->state_count,
		    mc->state_count == 1 ? "" : "s");
		if (mc->allowed_padding_packets == ~0ULL) {
			out(b, "unlimited");
		} else {
			if (mc->allowed_padding_packets)
				out(b, "%llu packets free, then ",
				    (unsigned long long)mc->allowed_padding_packets);
			out_frac(b, mc->max_padding_frac);
		}
		out(b, "; blocking ");
		if (mc->allowed_blocked_us)
			out(b, "%llu us free, then ", (unsigned long long)mc->allowed_blocked_us);
		out_frac(b, mc->max_blocking_frac);
		out(b, "\n");
	}
	if (cfg->nmachines) {
		out(b, "    side limits for machines: padding ");
		out_frac(b, cfg->max_padding_frac);
		out(b, ", blocking ");
		out_frac(b, cfg->max_blocking_frac);
		out(b, "\n");
	}
	if (!any && sh->mode == WFG_SHAPE_NONE)
		out(b, "    (no defence: only strips the peer's padding)\n");
}

void wfg_rule_describe(const struct wfg_rule *r, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };

	buf[0] = 0;
	out(&b, "%s,", r->family == 4 ? "IPv4" : r->family == 6 ? "IPv6" : "IPv4/6");
	out_prefix(&b, "local", r->family, r->local, r->local_prefix);
	out_ports(&b, r->lport_lo, r->lport_hi);
	out(&b, ",");
	out_prefix(&b, "remote", r->family, r->remote, r->remote_prefix);
	out_ports(&b, r->rport_lo, r->rport_hi);
}

/* The pool, what it varies, and what the data path's map costs for it. */
static void summarize_pool(struct pctx *c, struct sbuf *b)
{
	const struct ir_pool *pl = &c->ir->pool;
	int i;

	if (!c->cp->pool_n)
		return;
	out(b, "pool: %u defences (seed %llu), each side draws one per episode; varies", pl->size,
	    (unsigned long long)pl->seed);
	for (i = 0; i < pl->nvary; i++)
		out(b, "%s %s %s %g..%g", i ? "," : "", preset_names[pl->vary[i].preset],
		    preset_param_name(pl->vary[i].preset, pl->vary[i].param), pl->vary[i].lo,
		    pl->vary[i].hi);
	out(b, "\n    data path map: %u entries of %zu bytes (%.1f MB, two policy slots)\n",
	    WFG_POLICY_SLOTS * (pl->size - 1), sizeof(struct wfg_side_cfg),
	    WFG_POLICY_SLOTS * (pl->size - 1) * (double)sizeof(struct wfg_side_cfg) / 1e6);
}

void summarize(struct pctx *c)
{
	struct wfg_compiled_policy *cp = c->cp;
	struct sbuf b = { cp->summary, sizeof(cp->summary), 0 };
	__u32 i;
	int s;

	out(&b, "role: %s\n", side_names[cp->role]);
	out(&b, "match: %u rule%s\n", cp->dp.nrules, cp->dp.nrules == 1 ? "" : "s");
	for (i = 0; i < cp->dp.nrules; i++) {
		char rule[160];

		wfg_rule_describe(&cp->dp.rules[i], rule, sizeof(rule));
		out(&b, "  %u: %s\n", i + 1, rule);
	}
	out(&b, "shim: %s", profile_names[cp->dp.profile]);
	if (cp->dp.profile == WFG_PROFILE_QUIC)
		out(&b, " (connection id lengths learnt per flow; %u bytes until then)",
		    cp->dp.quic_dcid_len);
	out(&b, ", keys %s\n", cp->keys_path[0] ? cp->keys_path : "(none given)");
	out(&b, "flows: at most %u\n", cp->max_flows);
	out(&b, "mode: %s\n",
	    cp->dp.mode == WFG_MODE_TUNNEL
		    ? (cp->dp.unit == WFG_UNIT_DEVICE ? "tunnel, one unit per device"
						      : "tunnel, one unit per peer")
		    : "shim");
	if (cp->dp.side.episode_idle_ns)
		out(&b, "episodes: a new one after %llu ms without real traffic\n",
		    (unsigned long long)(cp->dp.side.episode_idle_ns / 1000000));
	else
		out(&b, "episodes: off (each flow is one episode)\n");
	summarize_pool(c, &b);
	for (s = 0; s < 2; s++) {
		out(&b, "%s side%s%s:\n", side_names[s], s == (int)cp->role ? " (this host)" : "",
		    cp->pool_n ? ", pool entry 0" : "");
		summarize_side(&b, wfg_policy_side(cp, (enum wfg_role)s));
	}
}
