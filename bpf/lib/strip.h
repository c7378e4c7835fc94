/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * XDP ingress's half of the shim: verify a trailer under either key, and
 * give the stack back the original datagram byte for byte.
 */
#ifndef WFGUARD_BPF_LIB_STRIP_H
#define WFGUARD_BPF_LIB_STRIP_H

#include <bpf/bpf_endian.h>

#include "lib/csum.h"
#include "lib/mac.h"
#include "lib/maps.h"

/*
 * Verify the datagram in r->p, whole in the XDP buffer (enum
 * wfg_shim_verdict): first whether its last WFG_SHIM_LEN bytes are a trailer
 * made under one of the two keys (the check, no payload read: what is not
 * ours costs two short hashes), then, under the key that made it, the tag
 * over its addresses, ports, trailer and every payload byte. VERIFIED sets
 * r->orig_len_field / r->orig_csum / r->seq. Global: the work stays off the
 * ingress program's stack frame, and the trailer and the SipHash states live
 * in scratch.
 */
__attribute__((noinline)) int shim_check(struct xdp_md *ctx, const struct wfg_ctl *ctl,
					 struct pad_req *r)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct wfg_scratch *s;
	struct wfg_mac *m;
	__u16 orig_len, orig_csum;
	__u32 at, zero = 0, ours = 0;
	__u64 tag, seq;
	int i;

	if (!ctl || !r || r->p.pay_len < WFG_SHIM_LEN)
		return WFG_SHIM_NOT_OURS;
	at = r->p.pay_off + r->p.pay_len - WFG_SHIM_LEN;
	/* the verifier marks the bytes readable only while at + the trailer
	 * stays within the largest packet offset */
	if (at > 0xffff - WFG_SHIM_LEN)
		return WFG_SHIM_NOT_OURS;
	if (data + at + WFG_SHIM_LEN > data_end)
		return WFG_SHIM_NOT_OURS;
	s = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!s)
		return WFG_SHIM_NOT_OURS;
	m = &s->mac;
	__builtin_memcpy(&m->t, data + at, sizeof(m->t));
	/* which keys made it: usually one; both when the slots hold one key (or
	 * by a 2^-32 chance) */
	for (i = 0; i < 2; i++)
		if (wfg_shim_recognised(&ctl->keys[i], &m->t))
			ours |= 1u << i;
	if (!ours)
		return WFG_SHIM_NOT_OURS;
	mac_header(m, &r->p, r->p.pay_len);
	/* s[0]: the first key that made it; s[1]: key 1 as well when both did */
	wfg_shim_tag_begin(&m->s[0], &ctl->keys[ours == 2], &m->t, &m->h);
	m->nkeys = 1;
	if (ours == 3) {
		wfg_shim_tag_begin(&m->s[1], &ctl->keys[1], &m->t, &m->h);
		m->nkeys = 2;
	}
	if (mac_body(ctx, m, r->p.pay_off, at, 1))
		return WFG_SHIM_TAMPERED; /* our trailer, but the body cannot be read */
	tag = wfg_load_le64(m->t.tag);
	for (i = 0; i < 2; i++) {
		if (i >= (int)m->nkeys)
			break;
		if (wfg_sip_final(&m->s[i], m->tail, WFG_SHIM_TAG_PREFIX + (at - r->p.pay_off)) !=
		    tag)
			continue;
		wfg_shim_unmask(&ctl->keys[ours == 2 ? 1 : i], &m->t, &m->h, &orig_len, &orig_csum,
				&seq);
		r->orig_len_field = orig_len;
		r->orig_csum = orig_csum;
		r->seq = seq;
		return WFG_SHIM_VERIFIED;
	}
	return WFG_SHIM_TAMPERED;
}

/* Strip the shim: the original datagram back, byte for byte. */
static __always_inline int strip(struct xdp_md *ctx, const struct wfg_pkt *p, __u16 orig_len,
				 __u16 orig_csum)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u16 new_udp = (__u16)(orig_len + 8);
	struct udphdr *udp;
	int shrink;

	udp = data + (p->l4_off & 0xff);
	if ((void *)(udp + 1) > data_end)
		return -1;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & 0xff);
		__u16 old_tot, new_tot;

		if ((void *)(ip + 1) > data_end)
			return -1;
		old_tot = bpf_ntohs(ip->tot_len);
		new_tot = (__u16)(new_udp + (p->l4_off - p->l3_off));
		ip->check = csum16_update(ip->check, ip->tot_len, bpf_htons(new_tot));
		ip->tot_len = bpf_htons(new_tot);
		(void)old_tot;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & 0xff);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ip6->payload_len = bpf_htons(new_udp);
	}
	udp->len = bpf_htons(new_udp);
	udp->check = orig_csum;
	shrink = (int)(data_end - data) - (int)(p->pay_off + orig_len);
	if (shrink > 0 && bpf_xdp_adjust_tail(ctx, -shrink))
		return -1;
	return 0;
}

#endif /* WFGUARD_BPF_LIB_STRIP_H */
