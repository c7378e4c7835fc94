/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Cover profiles (enum wfg_profile): what a cover must look like in
 * cleartext to pass for the tunnel's own packets, learnt from the flow's
 * real packets and written over the cover's first bytes.
 *
 * QUIC (docs/wire-format.md, "QUIC connection ids"): a short header carries
 * the destination connection id its receiver chose, but not its length. The
 * handshake's long headers carry both ids with their lengths, and each end
 * sees them in both directions:
 *  - received (XDP): the source id is the one the peer chose for itself,
 *    i.e. what this host's short headers carry: learnt from every long
 *    header but Version Negotiation (which only echoes the client's ids);
 *  - sent (TC): the destination id of a Handshake packet is the peer's
 *    choice too. A client's first Initial and its 0-RTT packets carry an id
 *    the client made up before hearing from the server: never learnt.
 * Until a flow has learnt a length, covers use the policy's quic_dcid_len.
 */
#ifndef WFGUARD_BPF_LIB_PROFILE_H
#define WFGUARD_BPF_LIB_PROFILE_H

#include "lib/maps.h"
#include "lib/stats.h"

/* Bytes of a long header up to the end of the longest source id. */
#define QUIC_LONG_PEEK (1 + 4 + 1 + WFG_QUIC_MAX_CID + 1 + WFG_QUIC_MAX_CID)
#define QUIC_V1	       0x00000001u
#define QUIC_V2	       0x6b3343cfu /* RFC 9369: its packet types are numbered apart */

struct quic_long {
	__u32 version;
	__u32 type; /* the two type bits as sent */
	__u32 dcil, scil;
};

/* A long header's ids in h[0, n) (RFC 8999 §5.1). 1 if well formed and both
 * ids are of a length QUIC v1 allows, else 0. */
static __always_inline int quic_long_parse(const __u8 *h, __u32 n, struct quic_long *q)
{
	__u32 dcil, scil;

	if (n < 7 || !(h[0] & 0x80))
		return 0;
	dcil = h[5];
	if (dcil > WFG_QUIC_MAX_CID || 7 + dcil > n)
		return 0;
	scil = h[6 + dcil];
	if (scil > WFG_QUIC_MAX_CID || 7 + dcil + scil > n)
		return 0;
	q->version = (__u32)h[1] << 24 | (__u32)h[2] << 16 | (__u32)h[3] << 8 | h[4];
	q->type = (h[0] >> 4) & 3;
	q->dcil = dcil;
	q->scil = scil;
	return 1;
}

static __always_inline int quic_is_handshake(const struct quic_long *q)
{
	return (q->version == QUIC_V1 && q->type == 2) || (q->version == QUIC_V2 && q->type == 3);
}

/* The flow learns the id (and its length) its own short headers carry. */
static __always_inline void quic_learn_id(struct wfg_flow_state *st, const __u8 *id, __u32 len)
{
	if (!(st->quic_flags & WFG_QUIC_LEN_LEARNED))
		stat_add(WFG_STAT_QUIC_DCID_LEARNED, 1);
	__builtin_memcpy(st->dcid, id, WFG_QUIC_MAX_CID); /* past len: never used */
	st->dcid_len = (__u8)len;
	st->quic_flags |= WFG_QUIC_LEN_LEARNED | WFG_QUIC_HAVE_ID;
}

/* What quic_seen_ingress() found, for the flow it belongs to. Global: keeps
 * the copy off the ingress frame. Returns 0. */
__attribute__((noinline)) int quic_learn_seen(struct wfg_flow_state *st,
					      const struct wfg_cid_seen *cid)
{
	if (st && cid && cid->valid && cid->len <= WFG_QUIC_MAX_CID)
		quic_learn_id(st, cid->id, cid->len);
	return 0;
}

/* The id length a cover of this flow carries: learnt, or the policy's. */
static __always_inline __u32 quic_cover_dcid_len(const struct wfg_flow_state *st,
						 const struct wfg_policy *pol)
{
	if (st->quic_flags & WFG_QUIC_LEN_LEARNED)
		return st->dcid_len;
	return pol->quic_dcid_len <= WFG_QUIC_MAX_CID ? pol->quic_dcid_len : 0;
}

/*
 * A datagram this host sends on a QUIC flow: a short header's first byte and
 * id bytes, or a Handshake's destination id. Global: verified once; its
 * copy lives in the scratch, off the egress frame. Returns 0.
 */
__attribute__((noinline)) int quic_learn_egress(struct __sk_buff *skb, struct wfg_flow_state *st,
						struct wfg_scratch *s, __u64 pay_off, __u64 pay_len)
{
	struct quic_long q;
	__u64 n = pay_len < QUIC_LONG_PEEK ? pay_len : QUIC_LONG_PEEK;

	if (!skb || !st || !s || n < 1 + WFG_QUIC_MAX_CID || pay_off > 0xffff)
		return 0; /* (a short header is at least 21 bytes: RFC 9001 §5.4.2) */
	if (bpf_skb_load_bytes(skb, (__u32)pay_off, s->bytes, (__u32)n))
		return 0;
	if (!(s->bytes[0] & 0x80)) {
		/* Form bit 0: a short header (its fixed bit may be greased, RFC 9287). */
		__builtin_memcpy(st->dcid, s->bytes + 1, WFG_QUIC_MAX_CID);
		st->quic_first = s->bytes[0];
		if (!(st->quic_flags & (WFG_QUIC_LEN_LEARNED | WFG_QUIC_LEN_DEFAULTED))) {
			stat_add(WFG_STAT_QUIC_DCID_DEFAULTED, 1);
			st->quic_flags |= WFG_QUIC_LEN_DEFAULTED;
		}
		st->quic_flags |= WFG_QUIC_HAVE_ID | WFG_QUIC_HAVE_SHORT;
		return 0;
	}
	if (quic_long_parse(s->bytes, (__u32)n, &q) && quic_is_handshake(&q))
		quic_learn_id(st, s->bytes + 6, q.dcil);
	return 0;
}

/*
 * A datagram received on a QUIC flow (XDP, before the flow is looked up):
 * a long header's source id into s->cid. Global: verified once.
 * Returns 1 when s->cid holds an id, else 0.
 */
__attribute__((noinline)) int quic_seen_ingress(struct xdp_md *ctx, struct wfg_scratch *s,
						__u64 pay_off, __u64 pay_len)
{
	struct quic_long q;
	__u64 n = pay_len < QUIC_LONG_PEEK ? pay_len : QUIC_LONG_PEEK;
	__u32 at;

	if (!ctx || !s)
		return 0;
	s->cid.valid = 0;
	if (n < 7 || pay_off > 0xffff)
		return 0;
	if (bpf_xdp_load_bytes(ctx, (__u32)pay_off, s->bytes, (__u32)n))
		return 0;
	if (!quic_long_parse(s->bytes, (__u32)n, &q) || !q.version)
		return 0;	/* a short header, or Version Negotiation */
	at = 7 + (q.dcil & 31); /* dcil <= 20: the source id lies inside the peek */
	__builtin_memcpy(s->cid.id, s->bytes + at, WFG_QUIC_MAX_CID);
	s->cid.len = (__u8)q.scil;
	s->cid.valid = 1;
	return 1;
}

/* The cover's cleartext header, written over the start of the scratch bytes. */
static __always_inline __u32 cover_header(const struct pad_req *r, const struct wfg_flow_state *st,
					  struct wfg_scratch *s)
{
	__u32 i, n = 0;

	if (r->profile == WFG_PROFILE_QUIC && (st->quic_flags & WFG_QUIC_HAVE_ID)) {
		/* Form, fixed and spin bits as the flow's last short header had
		 * them; the other five are under header protection: random. */
		__u8 top = st->quic_flags & WFG_QUIC_HAVE_SHORT ? st->quic_first & 0xe0 : 0x40;

		s->bytes[0] = top | (s->bytes[0] & 0x1f);
		for (i = 0; i < WFG_QUIC_MAX_CID; i++) {
			if (i >= r->cover_dcid)
				break;
			s->bytes[1 + i] = st->dcid[i];
		}
		n = 1 + i;
	} else if (r->profile == WFG_PROFILE_WIREGUARD && st->wg_seen) {
		__u64 ctr = st->wg_counter + 1;

		s->bytes[0] = 4;
		s->bytes[1] = s->bytes[2] = s->bytes[3] = 0;
		__builtin_memcpy(s->bytes + 4, &st->wg_receiver, 4);
		wfg_store_le64(s->bytes + 8, ctr);
		n = 16;
	}
	return n;
}

/*
 * Can a cover of the flow's profile look like its own packets yet? A QUIC
 * cover copies the first byte of a real short header (whose fixed bit a
 * greasing stack clears, RFC 9287) and a WireGuard cover the session's
 * receiver index; without them it would be the one packet of its kind on
 * the flow. Such a carrier is dropped before the core hears of it.
 */
static __always_inline int profile_ready(const struct wfg_policy *pol,
					 const struct wfg_flow_state *st)
{
	if (pol->profile == WFG_PROFILE_QUIC)
		return !!(st->quic_flags & WFG_QUIC_HAVE_SHORT);
	if (pol->profile == WFG_PROFILE_WIREGUARD)
		return st->wg_seen;
	return 1;
}

/* Learn what covers must mimic from the flow's real packets (egress). */
static __always_inline void learn_profile(struct __sk_buff *skb, const struct wfg_policy *pol,
					  struct wfg_flow *f, const struct wfg_pkt *p,
					  struct wfg_scratch *s)
{
	__u8 hdr[16];

	if (pol->profile == WFG_PROFILE_QUIC) {
		quic_learn_egress(skb, &f->st, s, p->pay_off, p->pay_len);
	} else if (pol->profile == WFG_PROFILE_WIREGUARD && p->pay_len >= 16) {
		if (bpf_skb_load_bytes(skb, p->pay_off, hdr, 16) == 0 && hdr[0] == 4) {
			__builtin_memcpy(&f->st.wg_receiver, hdr + 4, 4);
			f->st.wg_counter = wfg_load_le64(hdr + 8);
			f->st.wg_seen = 1;
		}
	}
}

#endif /* WFGUARD_BPF_LIB_PROFILE_H */
