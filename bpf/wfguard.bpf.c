// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard's data path: TC egress shapes what this host sends, XDP ingress
 * removes what the peer's wfguard added. Both run the defence core
 * (include/wfguard/core) on per-flow state; a bpf_timer per flow runs it at
 * the deadlines the core asks for and posts cover requests for the pump.
 *
 * Fail open everywhere: a real packet that cannot be handled leaves as it
 * came, and a counter says why (enum wfg_stat).
 *
 * This file holds the programs; each concern they share has its header in
 * bpf/lib/: maps.h (maps, scratch, test clock), stats.h, parse.h, match.h
 * (port index, rules), flow.h (flow table, lock, core run, timer), pad.h
 * (padding pool, grow + trailer + checksums), profile.h (cover mimicry),
 * csum.h, strip.h (ingress trailer check and strip), capture.h, tunnel.h
 * (tunnel mode: padding past the IP length, covers a stock peer discards).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/capture.h"
#include "lib/flow.h"
#include "lib/match.h"
#include "lib/maps.h"
#include "lib/mimic.h"
#include "lib/pad.h"
#include "lib/profile.h"
#include "lib/stats.h"
#include "lib/strip.h"
#include "lib/tunnel.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ------------------------------------------------------------ egress */

/*
 * A contended packet's sequence number: its flow's, though the flow is locked
 * elsewhere (the counter moves by atomic add). Returns 0, or -1 when the flow
 * is gone: then the packet cannot be sealed.
 */
static __always_inline int contended_seq(const struct wfg_flow_key *k, struct pad_req *req)
{
	struct wfg_flow *f = bpf_map_lookup_elem(&wfg_flows, k);

	if (!f)
		return -1;
	req->seq = flow_next_seq(&f->st);
	return 0;
}

SEC("tc")
int wfg_egress(struct __sk_buff *skb)
{
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_decision *d;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct pad_req *req;
	struct wfg_flow *f;
	struct wfg_pkt *p;
	__u32 slot, wire, zero = 0;
	int carrier, rc, pass;
	__u64 now;

	carrier = (skb->mark & WFG_MARK_CARRIER_MASK) == WFG_MARK_CARRIER;
	/* A carrier is only a request for a cover: it never leaves as itself. */
	pass = carrier ? TC_ACT_SHOT : TC_ACT_OK;
	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr || bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128))
		return pass;
	d = &scr->d;
	k = &scr->key;
	req = &scr->req;
	p = &req->p;
	rc = wfg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p);
	if (rc == WFG_PARSE_NOT_UDP)
		return pass; /* the fast path: not even counted */
	if (rc != WFG_PARSE_OK || p->pay_off + p->pay_len > skb->len) {
		stat_add(WFG_STAT_ERR_PARSE, 1);
		return pass;
	}
	if (!ports_may_match(bpf_ntohs(p->sport), bpf_ntohs(p->dport)))
		return pass; /* UDP that is none of ours: about as cheap as TCP, not counted */
	ctl = get_ctl();
	if (!ctl)
		return pass;
	slot = ctl->active & (WFG_POLICY_SLOTS - 1);
	pol = get_policy(slot);
	if (!pol || !pol->nrules)
		return pass;
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, skb->len);
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = p->sport;
	k->rport = p->dport;
	__builtin_memcpy(k->laddr, p->saddr, 16);
	__builtin_memcpy(k->raddr, p->daddr, 16);
	if (!policy_matches(pol, k))
		return pass;
	stat_add(WFG_STAT_MATCHED, 1);

	now = wfg_now();
	f = flow_acquire(k, ctl, slot, pol, now);
	if (!f) {
		if (carrier)
			return pass; /* a cover request lost, never a carrier sent */
		if (skb->gso_size) {
			stat_unshaped(WFG_STAT_UNSHAPED_GSO);
		} else if (shape_contended(scr, ctl, pol, now) && contended_seq(k, req) == 0 &&
			   pad_datagram(skb, ctl, &scr->fallback, req) == 0) {
			stat_add(WFG_STAT_SHAPED, 1);
			stat_add(WFG_STAT_PADDED_BYTES, req->new_pay - p->pay_len);
		} else if (pol->side.shape.mode != WFG_SHAPE_NONE) {
			stat_unshaped(WFG_STAT_UNSHAPED_CONTENDED);
		}
		if (ctl->capture_pid)
			capture_emit(k, now, skb->len,
				     CAP_INFO(skb->len > p->pay_off ? skb->len - p->pay_off : 0,
					      WFG_CAP_EGRESS, WFG_CAP_REAL));
		return pass;
	}
	if (carrier && !profile_ready(pol, &f->st)) {
		flow_unlock(f);
		stat_add(WFG_STAT_COVERS_UNREADY, 1);
		return TC_ACT_SHOT;
	}
	/* Shaping targets the payload on the wire, trailer included (core/wire.h). */
	if (carrier) {
		core_decide(pol, &f->st, d, now,
			    CORE_ARG(WFG_OP_SEND_COVER, skb->mark & 0xff,
				     wfg_wire_core_len(WFG_MODE_SHIM, &pol->side, WFG_OP_SEND_COVER,
						       0)));
	} else {
		learn_profile(skb, pol, f, p, scr);
		mimic_learn(skb, &f->st, p);
		core_decide(pol, &f->st, d, now,
			    CORE_ARG(WFG_OP_SEND_REAL, 0,
				     wfg_wire_core_len(WFG_MODE_SHIM, &pol->side, WFG_OP_SEND_REAL,
						       p->pay_len)));
	}
	after_core(f, k, &pol->side, d, now);
	req->profile = pol->profile;
	req->cover_dcid = quic_cover_dcid_len(&f->st, pol);
	f->st.pkts_out++;
	f->st.last_ns = now;

	if (carrier) {
		/* The carrier becomes a cover: whole payload replaced-> */
		skb->mark = 0;
		req->keep = 0;
		req->new_pay = wfg_wire_len(WFG_MODE_SHIM, &pol->side, WFG_OP_SEND_COVER, 0, d);
		req->orig_len_field = WFG_SHIM_COVER_LEN;
		req->seq = flow_next_seq(&f->st);
		if (mimic_cover(skb, &f->st, p) < 0 || pad_datagram(skb, ctl, &f->st, req) < 0) {
			flow_unlock(f);
			return TC_ACT_SHOT; /* a carrier must never leave as itself */
		}
		f->st.covers_sent++;
		stat_add(WFG_STAT_COVERS_SENT, 1);
	} else if (skb->gso_size) {
		/* A UDP GSO super-packet becomes many datagrams after this hook:
		 * one trailer at its end would be wrong for all of them. */
		stat_unshaped(WFG_STAT_UNSHAPED_GSO);
	} else if ((wire = wfg_wire_len(WFG_MODE_SHIM, &pol->side, WFG_OP_SEND_REAL, p->pay_len,
					d)) > p->pay_len) {
		req->keep = p->pay_len;
		req->new_pay = wire;
		req->orig_len_field = p->pay_len;
		req->seq = flow_next_seq(&f->st);
		if (pad_datagram(skb, ctl, &f->st, req) == 0) {
			stat_add(WFG_STAT_SHAPED, 1);
			stat_add(WFG_STAT_PADDED_BYTES, wire - p->pay_len);
		}
	} else if (pol->side.shape.mode != WFG_SHAPE_NONE) {
		/* Beyond the size limit, or no room left for the trailer. */
		stat_unshaped(WFG_STAT_UNSHAPED_TOO_BIG);
	}
	f->st.bytes_out += skb->len;
	if (d->depart_ns > now) {
		skb->tstamp = d->depart_ns;
		stat_add(WFG_STAT_DELAYED, 1);
	}
	flow_unlock(f);
	if (ctl->capture_pid) /* after shaping: what leaves, when it leaves */
		capture_emit(k, d->depart_ns > now ? d->depart_ns : now, skb->len,
			     CAP_INFO(skb->len > p->pay_off ? skb->len - p->pay_off : 0,
				      WFG_CAP_EGRESS, carrier ? WFG_CAP_COVER : WFG_CAP_REAL));
	return TC_ACT_OK;
}

/* ------------------------------------------------------------ ingress */

SEC("xdp")
int wfg_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct wfg_pkt *p;
	__u32 slot, zero = 0;
	int verified, cover;
	__u64 now;

	/* Parsed on the stack: traffic that is none of ours leaves before the
	 * scratch is looked up (XDP has no pull to hide that cost behind). The
	 * block ends the copy's life, so that its slot serves the rest: the
	 * combined stack of the deepest call chain must stay within 512 bytes
	 * as 6.1's verifier counts it (each frame rounded up to 32). */
	{
		struct wfg_pkt pk;
		int rc = wfg_parse(data, data_end, &pk);

		if (rc == WFG_PARSE_NOT_UDP)
			return XDP_PASS; /* the fast path: not even counted */
		/* malformed, truncated, or in frags we do not read */
		if (rc != WFG_PARSE_OK || data + pk.pay_off + pk.pay_len > data_end) {
			stat_add(WFG_STAT_ERR_PARSE, 1);
			return XDP_PASS;
		}
		if (!ports_may_match(bpf_ntohs(pk.dport), bpf_ntohs(pk.sport)))
			return XDP_PASS;
		scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
		if (!scr)
			return XDP_PASS;
		scr->req.p = pk;
	}
	p = &scr->req.p;
	k = &scr->key;
	ctl = get_ctl();
	if (!ctl)
		return XDP_PASS;
	slot = ctl->active & (WFG_POLICY_SLOTS - 1);
	pol = get_policy(slot);
	if (!pol || !pol->nrules)
		return XDP_PASS;
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, data_end - data);
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = p->dport;
	k->rport = p->sport;
	__builtin_memcpy(k->laddr, p->daddr, 16);
	__builtin_memcpy(k->raddr, p->saddr, 16);
	if (!policy_matches(pol, k))
		return XDP_PASS;
	stat_add(WFG_STAT_MATCHED, 1);

	/* (what the trailer carries stays in scr->req: the stack is full) */
	verified = shim_check(ctx, ctl, &scr->req);
	if (verified == WFG_SHIM_TAMPERED) {
		/* the peer's trailer on bytes it did not send: neither stripped
		 * nor passed on, and the core hears nothing */
		stat_add(WFG_STAT_TAMPERED, 1);
		return XDP_DROP;
	}
	cover = verified && (__u16)scr->req.orig_len_field == WFG_SHIM_COVER_LEN;
	if (verified && !cover && (__u16)scr->req.orig_len_field > p->pay_len - WFG_SHIM_LEN)
		verified = 0; /* a valid tag on impossible content: leave it alone */
	if (!verified)
		stat_add(WFG_STAT_PASSED_UNVERIFIED, 1);

	now = wfg_now();
	if (ctl->capture_pid) /* before stripping: what arrived */
		capture_emit(k, now, (__u32)(data_end - data),
			     CAP_INFO(p->pay_len, WFG_CAP_INGRESS,
				      cover	 ? WFG_CAP_COVER
				      : verified ? WFG_CAP_REAL
						 : WFG_CAP_UNVERIFIED));
	if (pol->profile == WFG_PROFILE_QUIC && !cover)
		quic_seen_ingress(ctx, scr, p->pay_off, p->pay_len);
	/* A replay, or a datagram whose window could not be checked, is dropped
	 * before the core hears of it: only the window knows it is no news. */
	switch (flow_recv(k, ctl, slot, pol, &scr->d, now, cover, data_end - data,
			  pol->profile == WFG_PROFILE_QUIC && !cover ? &scr->cid : NULL,
			  verified ? &scr->req : NULL)) {
	case 0:
		break;
	case WFG_REPLAY_UNCHECKED:
		stat_add(WFG_STAT_ERR_REPLAY_WINDOW, 1);
		return XDP_DROP;
	default:
		stat_add(WFG_STAT_REPLAYED, 1);
		return XDP_DROP;
	}
	if (cover) {
		stat_add(WFG_STAT_COVERS_RECEIVED, 1);
		return XDP_DROP;
	}
	if (verified) {
		if (strip(ctx, p, (__u16)scr->req.orig_len_field, (__u16)scr->req.orig_csum)) {
			stat_add(WFG_STAT_ERR_RESIZE, 1);
			return XDP_PASS;
		}
		stat_add(WFG_STAT_STRIPPED, 1);
	}
	return XDP_PASS;
}

/* ------------------------------------------------------------ tunnel mode */

/* The policy in force for tunnel-mode programs, or NULL (pass). */
static __always_inline struct wfg_policy *tun_policy(struct wfg_ctl *ctl, __u32 *slot)
{
	struct wfg_policy *pol;

	if (!ctl)
		return NULL;
	*slot = ctl->active & (WFG_POLICY_SLOTS - 1);
	pol = get_policy(*slot);
	if (!pol || !pol->nrules || pol->mode != WFG_MODE_TUNNEL)
		return NULL;
	return pol;
}

/* A real inner packet whose flow is busy elsewhere: sized by the policy alone. */
static __always_inline void tun_shape_contended(struct __sk_buff *skb, struct wfg_scratch *scr,
						const struct wfg_ctl *ctl,
						const struct wfg_policy *pol, __u32 len, __u64 now)
{
	__u32 target;

	if (pol->side.shape.mode == WFG_SHAPE_NONE)
		return;
	if (skb->gso_size) {
		stat_unshaped(WFG_STAT_UNSHAPED_GSO);
		return;
	}
	scr->req.p.pay_len = len; /* shape_contended sizes it as the policy's mode does */
	target = shape_contended(scr, ctl, pol, now);
	if (target > len && tun_pad(skb, target) == 0) {
		stat_add(WFG_STAT_SHAPED, 1);
		stat_add(WFG_STAT_PADDED_BYTES, target - len);
	} else if (target <= len) {
		stat_unshaped(WFG_STAT_UNSHAPED_CONTENDED);
	}
}

SEC("tc")
int wfg_tun_egress(struct __sk_buff *skb)
{
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_decision *d;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct wfg_flow *f;
	struct wfg_pkt *p;
	__u32 slot = 0, zero = 0, len, wire;
	int carrier, pass;
	__u64 now;

	carrier = (skb->mark & WFG_MARK_CARRIER_MASK) == WFG_MARK_CARRIER;
	pass = carrier ? TC_ACT_SHOT : TC_ACT_OK;
	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr || bpf_skb_pull_data(skb, skb->len < 64 ? skb->len : 64))
		return pass;
	ctl = get_ctl();
	pol = tun_policy(ctl, &slot);
	if (!pol)
		return pass;
	d = &scr->d;
	k = &scr->key;
	p = &scr->req.p;
	if (wfg_parse_l3((void *)(long)skb->data, (void *)(long)skb->data_end, p) != WFG_PARSE_OK ||
	    p->pay_len > skb->len) {
		stat_add(WFG_STAT_ERR_PARSE, 1);
		return pass;
	}
	len = p->pay_len;
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, skb->len);
	if (!carrier && tun_is_multicast(p)) {
		stat_add(WFG_STAT_TUN_MULTICAST, 1);
		return pass;
	}
	if (!carrier) {
		/* Rules see the inner packet from this host: local = source. */
		__builtin_memset(k, 0, sizeof(*k));
		k->family = p->family;
		__builtin_memcpy(k->laddr, p->saddr, 16);
		__builtin_memcpy(k->raddr, p->daddr, 16);
		if (!policy_matches(pol, k))
			return pass;
		stat_add(WFG_STAT_MATCHED, 1);
	}
	/* A carrier names its flow by its destination (the pump writes the key's
	 * remote address there). */
	tun_flow_key(k, pol, p->family, p->daddr);
	now = wfg_now();
	f = flow_acquire(k, ctl, slot, pol, now);
	if (!f) {
		if (!carrier)
			tun_shape_contended(skb, scr, ctl, pol, len, now);
		return pass;
	}
	if (carrier) {
		core_decide(pol, &f->st, d, now,
			    CORE_ARG(WFG_OP_SEND_COVER, skb->mark & 0xff,
				     wfg_wire_core_len(WFG_MODE_TUNNEL, &pol->side,
						       WFG_OP_SEND_COVER, 0)));
	} else {
		tun_learn(&f->st, p);
		core_decide(pol, &f->st, d, now,
			    CORE_ARG(WFG_OP_SEND_REAL, 0,
				     wfg_wire_core_len(WFG_MODE_TUNNEL, &pol->side,
						       WFG_OP_SEND_REAL, len)));
	}
	after_core(f, k, &pol->side, d, now);
	f->st.pkts_out++;
	f->st.last_ns = now;
	if (carrier) {
		skb->mark = 0;
		if (!f->st.tun_family ||
		    tun_make_cover(skb, &f->st, scr, f->st.tun_family,
				   wfg_wire_len(WFG_MODE_TUNNEL, &pol->side, WFG_OP_SEND_COVER, 0,
						d)) < 0) {
			flow_unlock(f);
			return TC_ACT_SHOT; /* a carrier never leaves as itself */
		}
		f->st.covers_sent++;
		stat_add(WFG_STAT_COVERS_SENT, 1);
	} else if (skb->gso_size) {
		/* segmented after this hook: every segment would keep its size */
		stat_unshaped(WFG_STAT_UNSHAPED_GSO);
	} else if (d->flags & WFG_DEC_UNSHAPED) {
		stat_unshaped(WFG_STAT_UNSHAPED_TOO_BIG);
	} else if ((wire = wfg_wire_len(WFG_MODE_TUNNEL, &pol->side, WFG_OP_SEND_REAL, len, d)) >
			   skb->len &&
		   tun_pad(skb, wire) == 0) {
		stat_add(WFG_STAT_SHAPED, 1);
		stat_add(WFG_STAT_PADDED_BYTES, wire - len);
	}
	f->st.bytes_out += skb->len;
	if (d->depart_ns > now) {
		skb->tstamp = d->depart_ns;
		stat_add(WFG_STAT_DELAYED, 1);
	}
	flow_unlock(f);
	if (ctl->capture_pid)
		capture_emit(
			k, d->depart_ns > now ? d->depart_ns : now, skb->len,
			CAP_INFO(skb->len, WFG_CAP_EGRESS, carrier ? WFG_CAP_COVER : WFG_CAP_REAL));
	return TC_ACT_OK;
}

SEC("tc")
int wfg_tun_ingress(struct __sk_buff *skb)
{
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct wfg_pkt *p;
	__u32 slot = 0, zero = 0;
	void *data, *data_end;
	int cover;
	__u64 now;

	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr || bpf_skb_pull_data(skb, skb->len < 64 ? skb->len : 64))
		return TC_ACT_OK;
	ctl = get_ctl();
	pol = tun_policy(ctl, &slot);
	if (!pol)
		return TC_ACT_OK;
	k = &scr->key;
	p = &scr->req.p;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (wfg_parse_l3(data, data_end, p) != WFG_PARSE_OK) {
		stat_add(WFG_STAT_ERR_PARSE, 1);
		return TC_ACT_OK;
	}
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, skb->len);
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	__builtin_memcpy(k->laddr, p->daddr, 16);
	__builtin_memcpy(k->raddr, p->saddr, 16);
	if (!policy_matches(pol, k))
		return TC_ACT_OK;
	stat_add(WFG_STAT_MATCHED, 1);
	cover = tun_is_cover(data, data_end, p, skb->len);
	tun_flow_key(k, pol, p->family, p->saddr);
	now = wfg_now();
	if (ctl->capture_pid)
		capture_emit(
			k, now, skb->len,
			CAP_INFO(skb->len, WFG_CAP_INGRESS, cover ? WFG_CAP_COVER : WFG_CAP_REAL));
	flow_recv(k, ctl, slot, pol, &scr->d, now, cover, skb->len, NULL, NULL);
	if (cover) {
		/* the stack would discard it too; dropping here keeps it out of
		 * the peer-facing counters and is what the peer's defence expects */
		stat_add(WFG_STAT_COVERS_RECEIVED, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}
