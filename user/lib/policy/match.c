// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Match rules: which flows the policy defends (addresses, prefixes, ports). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int parse_cidr(struct pctx *c, yaml_node_t *n, const char *name, __u8 *family, __u8 addr[16],
		      __u8 *prefix)
{
	char buf[64], *slash, fixed[INET6_ADDRSTRLEN];
	const char *s;
	unsigned long plen, maxlen;
	int af, b;

	if (want_str(c, n, name, &s))
		return -1;
	if (!strcmp(s, "any")) {
		*family = 0;
		*prefix = 0;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		af = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		af = AF_INET6;
		maxlen = 128;
	} else {
		goto bad;
	}
	plen = maxlen;
	if (slash) {
		char *end;

		if (!*slash || strspn(slash, "0123456789") != strlen(slash))
			goto bad;
		plen = strtoul(slash, &end, 10);
		if (plen > maxlen) {
			err_at(c, n,
			       "'%s': prefix length /%s is too long for an IPv%c address (at most "
			       "/%lu)",
			       name, slash, af == AF_INET ? '4' : '6', maxlen);
			return -1;
		}
	}
	for (b = 0; b < 16; b++) {
		int keep = (int)plen - b * 8;
		__u8 mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (__u8)(0xff << (8 - keep));

		if (addr[b] & ~mask) {
			__u8 net[16];
			int i;

			for (i = 0; i < 16; i++) {
				int kk = (int)plen - i * 8;

				net[i] = addr[i] & (kk >= 8   ? 0xff
						    : kk <= 0 ? 0
							      : (__u8)(0xff << (8 - kk)));
			}
			inet_ntop(af, net, fixed, sizeof(fixed));
			err_at(c, n,
			       "'%s': %s has bits set after the /%lu prefix (did you mean %s/%lu?)",
			       name, s, plen, fixed, plen);
			return -1;
		}
	}
	*family = af == AF_INET ? 4 : 6;
	*prefix = (__u8)plen;
	return 0;
bad:
	err_at(c, n,
	       "'%s': '%.60s' is not an IP address or prefix (like 192.0.2.0/24, 2001:db8::/32 or "
	       "any)",
	       name, s);
	return -1;
}

static int parse_ports(struct pctx *c, yaml_node_t *n, const char *name, __u16 *lo, __u16 *hi)
{
	const char *s, *dash;
	unsigned long a, b;
	char *end;

	if (vkind(n) == V_INT) {
		__u32 v;

		if (want_u32(c, n, name, 0, 65535, &v))
			return -1;
		*lo = *hi = (__u16)v;
		return 0;
	}
	if (want_str(c, n, name, &s))
		return -1;
	if (!strcmp(s, "any")) {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	dash = strchr(s, '-');
	if (!*s || strspn(s, "0123456789-") != strlen(s) || *s == '-' ||
	    (dash && (!dash[1] || strchr(dash + 1, '-'))))
		goto bad;
	a = strtoul(s, &end, 10);
	b = dash ? strtoul(dash + 1, &end, 10) : a;
	if (strlen(s) > 11 || a > 65535 || b > 65535) {
		err_at(c, n, "'%s': ports are between 0 and 65535, got %.40s", name, s);
		return -1;
	}
	if (a > b) {
		err_at(c, n, "'%s': port range %.40s is reversed (write %lu-%lu)", name, s, b, a);
		return -1;
	}
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
bad:
	err_at(c, n, "'%s': '%.40s' is not a port or port range (N, N-M or any)", name, s);
	return -1;
}

static void parse_rule(struct pctx *c, yaml_node_t *n, struct wfg_rule *r)
{
	static const char *const fams[] = { "4", "6", "any" };
	struct field f[] = { F("family"), F("local"), F("remote"), F("local_port"),
			     F("remote_port") };
	__u8 lfam = 0, rfam = 0, fam = 0;
	int i;

	memset(r, 0, sizeof(*r));
	r->lport_hi = r->rport_hi = 65535;
	if (fields(c, n, "a match rule", f, NF(f)))
		return;
	if (V(f, "family")) {
		i = want_enum(c, V(f, "family"), "family", fams, 3);
		fam = i == 0 ? 4 : i == 1 ? 6 : 0;
	}
	if (V(f, "local") &&
	    parse_cidr(c, V(f, "local"), "local", &lfam, r->local, &r->local_prefix))
		lfam = 0;
	if (V(f, "remote") &&
	    parse_cidr(c, V(f, "remote"), "remote", &rfam, r->remote, &r->remote_prefix))
		rfam = 0;
	if (V(f, "local_port"))
		parse_ports(c, V(f, "local_port"), "local_port", &r->lport_lo, &r->lport_hi);
	if (V(f, "remote_port"))
		parse_ports(c, V(f, "remote_port"), "remote_port", &r->rport_lo, &r->rport_hi);
	if (fam && lfam && lfam != fam)
		err_at(c, V(f, "local"), "'local' is an IPv%u prefix but the rule's family is %u",
		       lfam, fam);
	else if (fam && rfam && rfam != fam)
		err_at(c, V(f, "remote"), "'remote' is an IPv%u prefix but the rule's family is %u",
		       rfam, fam);
	else if (lfam && rfam && lfam != rfam)
		err_at(c, V(f, "remote"),
		       "'remote' is an IPv%u prefix but 'local' is IPv%u: a rule matches one "
		       "family",
		       rfam, lfam);
	r->family = fam ? fam : lfam ? lfam : rfam;
}

void parse_match(struct pctx *c, yaml_node_t *n)
{
	struct wfg_policy *dp = &c->cp->dp;
	yaml_node_item_t *it;

	if (vkind(n) != V_LIST) {
		err_at(c, n, "match must be a list of rules, got %s", vkind_name[vkind(n)]);
		return;
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start) {
		err_at(c, n, "match needs at least one rule (an empty list defends nothing)");
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (dp->nrules >= WFG_MAX_RULES) {
			err_at(c, nd(c, *it), "too many match rules: at most %d", WFG_MAX_RULES);
			return;
		}
		parse_rule(c, nd(c, *it), &dp->rules[dp->nrules++]);
	}
}
