// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Machines in a policy: Maybenot machine strings (decoded by maybenot.c) and
 * inline machines, both into struct wfg_mb_machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "internal.h"

/* ---------------------------------------------------------------- maybenot strings */

static void parse_mb_side(struct pctx *c, struct element *e, int s, yaml_node_t *n)
{
	yaml_node_item_t *it = NULL; /* NULL: n is the one string */
	int count = 1, i;

	if (vkind(n) == V_LIST) {
		it = n->data.sequence.items.start;
		count = (int)(n->data.sequence.items.top - it);
		if (!count) {
			err_at(c, n, "'%s' needs at least one machine string", side_names[s]);
			e->bad = 1;
			return;
		}
	}
	for (i = 0; i < count; i++) {
		yaml_node_t *v = it ? nd(c, it[i]) : n;
		struct wfg_mb_machine *m;
		char why[200];

		if (vkind(v) != V_STR) {
			err_at(c, v, "a maybenot machine must be a string (\"02eNp...\"), got %s",
			       vkind_name[vkind(v)]);
			e->bad = 1;
			continue;
		}
		if (e->nmb[s] >= WFG_MAX_MACHINES) {
			err_at(c, v,
			       "too many machines for the %s side: the core runs at most %d per "
			       "side",
			       side_names[s], WFG_MAX_MACHINES);
			e->bad = 1;
			return;
		}
		if (wfg_mb_decode(sval(v), &m, why, sizeof(why))) {
			err_at(c, v, "maybenot machine: %s", why);
			e->bad = 1;
			continue;
		}
		e->mb_node[s][e->nmb[s]] = v;
		e->mb[s][e->nmb[s]++] = m;
	}
}

void parse_maybenot(struct pctx *c, struct element *e, yaml_node_t *n)
{
	struct field f[] = { F("client"), F("server") };
	int s;

	e->kind = EL_MAYBENOT;
	snprintf(e->label, sizeof(e->label), "maybenot machines");
	if (fields(c, n, "maybenot", f, NF(f))) {
		e->bad = 1;
		return;
	}
	if (!f[0].val && !f[1].val) {
		err_at(c, n, "maybenot needs 'client' or 'server' machine strings");
		e->bad = 1;
		return;
	}
	for (s = 0; s < 2; s++) {
		if (!f[s].val)
			continue;
		e->sides |= 1u << s;
		parse_mb_side(c, e, s, f[s].val);
	}
}

/* ---------------------------------------------------------------- inline machines */

static const char *const action_names[] = { "padding",	   "block",	   "timer",
					    "cancel",	   "send_padding", "block_outgoing",
					    "update_timer" };

static int parse_action(struct pctx *c, yaml_node_t *n, struct wfg_mb_state *st)
{
	struct field f[] = { F("type"),	  F("timeout"), F("duration"), F("limit"),
			     F("bypass"), F("replace"), F("timers") };
	/* keys each type takes, by index in f[] (bit i) */
	static const unsigned takes[4] = {
		1u << 1 | 1u << 3 | 1u << 4 | 1u << 5,		 /* padding */
		1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5, /* block */
		1u << 2 | 1u << 3 | 1u << 5,			 /* timer */
		1u << 6,					 /* cancel */
	};
	static const enum wfg_action_kind kinds[4] = { WFG_ACT_PADDING, WFG_ACT_BLOCK,
						       WFG_ACT_UPDATE_TIMER, WFG_ACT_CANCEL };
	static const char *const timers[] = { "action", "internal", "all" };
	struct wfg_action_spec spec, *a = &spec;
	int t, i, bad = 0;

	if (fields(c, n, "action", f, NF(f)))
		return -1;
	if (!f[0].val) {
		missing(c, n, &f[0], "(padding, block, timer or cancel)");
		return -1;
	}
	t = want_enum(c, f[0].val, "action type", action_names, NF(action_names));
	if (t < 0)
		return -1;
	if (t >= 4)
		t -= 4; /* Maybenot's names for padding, block, timer */
	memset(a, 0, sizeof(*a));
	a->kind = kinds[t];
	a->timeout = wfg_dist_const(0);
	for (i = 1; i < NF(f); i++) {
		if (f[i].key && !(takes[t] & (1u << i))) {
			err_at(c, f[i].key, "'%s' does not apply to a %s action", f[i].name,
			       action_names[t]);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	if (f[1].val && parse_dist(c, f[1].val, "timeout", &a->timeout))
		bad = 1;
	if (t == 1 || t == 2) {
		if (!f[2].val) {
			missing(c, n, &f[2],
				t == 1 ? "(how long a block action blocks, µs)"
				       : "(when a timer action's timer fires, µs)");
			bad = 1;
		} else if (parse_dist(c, f[2].val, "duration", &a->duration)) {
			bad = 1;
		}
	}
	if (f[3].val) {
		__u32 v;

		if (parse_dist(c, f[3].val, "limit", &a->limit)) {
			bad = 1;
		} else if (wfg_dist_is_constant_r(&a->limit, 1.0, WFG_DIST_NEAREST, &v) && !v) {
			err_at(c, f[3].val,
			       "budget cannot be met: the action's limit is always 0, "
			       "so it can never run");
			bad = 1;
		}
		a->has_limit = 1;
	}
	if (f[4].val && want_bool(c, f[4].val, "bypass", &a->bypass))
		bad = 1;
	if (f[5].val && want_bool(c, f[5].val, "replace", &a->replace))
		bad = 1;
	if (t == 3) {
		if (!f[6].val) {
			missing(c, n, &f[6], "(which timers to cancel: action, internal or all)");
			bad = 1;
		} else {
			i = want_enum(c, f[6].val, "timers", timers, 3);
			if (i < 0)
				bad = 1;
			a->cancel_action = i == 0 || i == 2;
			a->cancel_internal = i == 1 || i == 2;
		}
	}
	if (bad)
		return -1;
	st->action = malloc(sizeof(*st->action));
	if (!st->action) {
		err_at(c, n, "out of memory");
		return -1;
	}
	*st->action = spec;
	return 0;
}

static int parse_counters(struct pctx *c, yaml_node_t *n, struct wfg_mb_state *st)
{
	static const char *const ops[] = { "inc", "dec", "set", "increment", "decrement" };
	static const enum wfg_counter_op opv[] = { WFG_CTR_INCREMENT, WFG_CTR_DECREMENT,
						   WFG_CTR_SET, WFG_CTR_INCREMENT,
						   WFG_CTR_DECREMENT };
	struct field f[] = { F("a"), F("b") };
	int k, bad = 0;

	if (fields(c, n, "counters", f, NF(f)))
		return -1;
	for (k = 0; k < 2; k++) {
		struct field u[] = { F("op"), F("value"), F("copy") };
		struct wfg_mb_counter ctr = { 0 };
		int op;

		if (!f[k].val)
			continue;
		if (fields(c, f[k].val, "a counter update", u, NF(u))) {
			bad = 1;
			continue;
		}
		if (!u[0].val) {
			missing(c, f[k].val, &u[0], "(inc, dec or set)");
			bad = 1;
			continue;
		}
		op = want_enum(c, u[0].val, "counter op", ops, NF(ops));
		if (op < 0) {
			bad = 1;
			continue;
		}
		ctr.op = opv[op];
		if (u[2].val && want_bool(c, u[2].val, "copy", &ctr.copy))
			bad = 1;
		if (u[1].val && u[2].val && ctr.copy) {
			err_at(c, u[2].key,
			       "'copy' and 'value' exclude each other (copy uses the "
			       "other counter's value)");
			bad = 1;
		} else if (u[1].val) {
			if (parse_dist(c, u[1].val, "value", &ctr.dist))
				bad = 1;
			ctr.has_dist = 1;
		}
		st->counter[k] = malloc(sizeof(*st->counter[k]));
		if (!st->counter[k]) {
			err_at(c, f[k].val, "out of memory");
			bad = 1;
			continue;
		}
		*st->counter[k] = ctr;
	}
	return bad ? -1 : 0;
}

/* One target: a name, or {to: NAME, p: P}. */
static int parse_target(struct pctx *c, struct ir_machine *m, yaml_node_t *n, __u64 *target,
			double *p, yaml_node_t **name_node)
{
	yaml_node_t *to = n;
	const char *names[WFG_MAX_STATES + 2];
	__u32 i;

	*p = 1.0;
	if (vkind(n) == V_MAP) {
		struct field f[] = { F("to"), F("p") };

		if (fields(c, n, "a transition", f, NF(f)))
			return -1;
		if (!f[0].val) {
			missing(c, n, &f[0], "(the state to go to, end or signal)");
			return -1;
		}
		if (f[1].val && want_num(c, f[1].val, "p", 0, 1, 1, p))
			return -1;
		to = f[0].val;
	}
	*name_node = to;
	if (!is_scalar_value(to)) {
		err_at(c, to, "a transition target must be a state name, end or signal, got %s",
		       vkind_name[vkind(to)]);
		return -1;
	}
	if (!strcmp(sval(to), "end")) {
		*target = WFG_MB_STATE_END;
		return 0;
	}
	if (!strcmp(sval(to), "signal")) {
		*target = WFG_MB_STATE_SIGNAL;
		return 0;
	}
	for (i = 0; i < m->mb.nstates; i++) {
		if (!strcmp(sval(to), m->states[i].name)) {
			*target = i;
			return 0;
		}
		names[i] = m->states[i].name;
	}
	names[i++] = "end";
	names[i++] = "signal";
	if (m->overflow) /* maybe one of the states beyond the limit, reported already */
		return -1;
	{
		const char *best = closest(sval(to), names, (int)i);

		if (best)
			err_at(c, to, "unknown state '%.60s' (did you mean '%s'?)", sval(to), best);
		else
			err_at(c, to, "unknown state '%.60s' (the machine's states, end or signal)",
			       sval(to));
	}
	return -1;
}

/* The targets of one event, in the order given, into the state's transitions. */
static int keep_targets(struct pctx *c, struct wfg_mb_state *st, int ev, yaml_node_t *n,
			const struct wfg_mb_trans *tr, __u32 count)
{
	if (!count)
		return 0;
	st->trans[ev] = malloc(count * sizeof(*tr));
	if (!st->trans[ev]) {
		err_at(c, n, "out of memory");
		return -1;
	}
	memcpy(st->trans[ev], tr, count * sizeof(*tr));
	st->ntrans[ev] = count;
	return 0;
}

static int parse_on(struct pctx *c, struct ir_machine *m, __u32 si, yaml_node_t *n)
{
	struct wfg_mb_state *st = &m->mb.states[si];
	struct field f[WFG_EV_COUNT];
	int ev, bad = 0;

	memset(f, 0, sizeof(f));
	for (ev = 0; ev < WFG_EV_COUNT; ev++)
		f[ev].name = wfg_event_key(ev);
	if (fields(c, n, "on (events to transitions)", f, WFG_EV_COUNT))
		return -1;
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		struct wfg_mb_trans tr[WFG_MAX_TARGETS];
		yaml_node_t *v = f[ev].val;
		yaml_node_item_t *it = NULL;
		__u32 ntr = 0, count = 1, i, j;
		double sum = 0;

		if (!v)
			continue;
		if (vkind(v) == V_LIST) {
			it = v->data.sequence.items.start;
			count = (__u32)(v->data.sequence.items.top - it);
			if (!count) {
				err_at(c, v, "'%s' needs at least one target", wfg_event_key(ev));
				bad = 1;
				continue;
			}
		}
		for (i = 0; i < count; i++) {
			yaml_node_t *tn = it ? nd(c, it[i]) : v, *name_node = NULL;
			__u64 target;
			double p;

			if (parse_target(c, m, tn, &target, &p, &name_node)) {
				bad = 1;
				continue;
			}
			if (ev == WFG_EV_SIGNAL && target == WFG_MB_STATE_SIGNAL) {
				err_at(c, name_node, "a signal cannot transition to signal");
				bad = 1;
				continue;
			}
			for (j = 0; j < ntr; j++)
				if (tr[j].target == target)
					break;
			if (j < ntr) {
				err_at(c, name_node, "target '%s' is given twice for %s",
				       sval(name_node), wfg_event_key(ev));
				bad = 1;
				continue;
			}
			if (ntr >= WFG_MAX_TARGETS) {
				err_at(c, tn, "too many targets for %s: at most %d",
				       wfg_event_key(ev), WFG_MAX_TARGETS);
				bad = 1;
				break;
			}
			if (m->ntrans >= WFG_MAX_TRANS) {
				err_at(c, tn,
				       "too many transitions in this machine: the core holds at "
				       "most %d per side",
				       WFG_MAX_TRANS);
				return -1;
			}
			m->ntrans++;
			tr[ntr].target = target;
			tr[ntr++].prob = p;
			sum += p;
		}
		/* Maybenot sums in f32 and accepts up to 1.0: the same slack as the builder. */
		if (sum > 1.0 + 1e-6) {
			err_at(c, f[ev].key, "probabilities for %s sum to %g, more than 1",
			       wfg_event_key(ev), sum);
			bad = 1;
		}
		if (keep_targets(c, st, ev, v, tr, ntr))
			bad = 1;
	}
	return bad ? -1 : 0;
}

static void parse_machine_limits(struct pctx *c, struct ir_machine *m, yaml_node_t *n)
{
	struct field f[] = { F("allowed_padding_packets"),
			     F("max_padding_frac"),
			     { .name = "allowed_blocked_us", .alias = "allowed_blocked_microsec" },
			     F("max_blocking_frac") };

	if (fields(c, n, "machine limits", f, NF(f)))
		return;
	if (f[0].val)
		want_u64(c, f[0].val, "allowed_padding_packets", 0, ~0ULL,
			 &m->mb.limits.allowed_padding_packets);
	parse_frac(c, f[1].val, "max_padding_frac", &m->mb.limits.max_padding_frac,
		   &m->pad_frac_zero, &m->pad_frac_node);
	if (f[2].val)
		want_u64(c, f[2].val, "allowed_blocked_us", 0, ~0ULL,
			 &m->mb.limits.allowed_blocked_us);
	parse_frac(c, f[3].val, "max_blocking_frac", &m->mb.limits.max_blocking_frac,
		   &m->block_frac_zero, &m->block_frac_node);
}

/* The name of a state item, without reporting anything (the first pass). */
static yaml_node_t *state_name_node(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *p;

	if (vkind(n) != V_MAP)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = nd(c, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "name"))
			return nd(c, p->value);
	}
	return NULL;
}

static void check_reachable(struct pctx *c, struct ir_machine *m)
{
	__u8 seen[WFG_MAX_STATES] = { 1 };
	__u32 queue[WFG_MAX_STATES];
	__u32 head = 0, tail = 0, i, ev, k;

	queue[tail++] = 0;
	while (head < tail) {
		const struct wfg_mb_state *st = &m->mb.states[queue[head++]];

		for (ev = 0; ev < WFG_EV_COUNT; ev++) {
			for (k = 0; k < st->ntrans[ev]; k++) {
				__u64 t = st->trans[ev][k].target;

				if (t < m->mb.nstates && !seen[t]) {
					seen[t] = 1;
					queue[tail++] = (__u32)t;
				}
			}
		}
	}
	for (i = 1; i < m->mb.nstates; i++)
		if (!seen[i])
			err_at(c,
			       m->states[i].name_node ? m->states[i].name_node : m->states[i].node,
			       "state '%s' is unreachable from the start state '%s'",
			       m->states[i].name, m->states[0].name);
}

void parse_machine(struct pctx *c, struct element *e, yaml_node_t *n)
{
	struct field f[] = { F("name"), F("side"), F("limits"), F("states") };
	const char *name = NULL;
	struct ir_machine *m;
	yaml_node_item_t *it;
	yaml_node_t *sn;
	__u32 i, count, j;
	int bad = 0;

	e->kind = EL_MACHINE;
	e->sides = SIDE_C | SIDE_S;
	snprintf(e->label, sizeof(e->label), "machine #%d", (int)(e - c->ir->el) + 1);
	if (fields(c, n, "machine", f, NF(f))) {
		e->bad = 1;
		return;
	}
	m = e->m = calloc(1, sizeof(*m));
	if (m)
		m->mb.states = calloc(WFG_MAX_STATES, sizeof(*m->mb.states));
	if (!m || !m->mb.states) {
		err_at(c, n, "out of memory");
		e->bad = 1;
		return;
	}
	if (f[0].val && !want_str(c, f[0].val, "name", &name))
		snprintf(e->label, sizeof(e->label), "machine '%.60s'", name);
	if (f[1].val && want_sides(c, f[1].val, &e->sides))
		bad = 1;
	if (f[2].val)
		parse_machine_limits(c, m, f[2].val);
	sn = f[3].val;
	if (!sn) {
		missing(c, n, &f[3], "(a list; the first is where the machine starts)");
		e->bad = 1;
		return;
	}
	if (vkind(sn) != V_LIST) {
		err_at(c, sn, "'states' must be a list, got %s", vkind_name[vkind(sn)]);
		e->bad = 1;
		return;
	}
	it = sn->data.sequence.items.start;
	count = (__u32)(sn->data.sequence.items.top - it);
	if (!count) {
		err_at(c, sn, "a machine needs at least one state");
		e->bad = 1;
		return;
	}
	/* First pass: names, so that transitions can point forward. */
	for (i = 0; i < count; i++) {
		yaml_node_t *st = nd(c, it[i]), *nn = state_name_node(c, st);

		if (i >= WFG_MAX_STATES) {
			err_at(c, st,
			       "too many states in this machine: the core holds at most %d per "
			       "side",
			       WFG_MAX_STATES);
			m->overflow = 1;
			bad = 1;
			break;
		}
		m->states[i].node = st;
		m->states[i].name_node = nn;
		if (nn && is_scalar_value(nn) && strlen(sval(nn)) < MAX_NAME)
			strcpy(m->states[i].name, sval(nn));
		m->mb.nstates++;
	}
	/* Second pass: everything, with errors. */
	for (i = 0; i < m->mb.nstates; i++) {
		struct ir_state *st = &m->states[i];
		struct field sf[] = { F("name"), F("action"), F("counters"), F("on") };

		if (fields(c, st->node, "a state", sf, NF(sf))) {
			bad = 1;
			continue;
		}
		if (!sf[0].val) {
			missing(c, st->node, &sf[0], "(every state has one; transitions use it)");
			bad = 1;
		} else if (!is_scalar_value(sf[0].val)) {
			err_at(c, sf[0].val, "'name' must be a string, got %s",
			       vkind_name[vkind(sf[0].val)]);
			bad = 1;
		} else if (!*sval(sf[0].val)) {
			err_at(c, sf[0].val, "a state name must not be empty");
			bad = 1;
		} else if (strlen(sval(sf[0].val)) >= MAX_NAME) {
			err_at(c, sf[0].val, "state name too long (at most %d characters)",
			       MAX_NAME - 1);
			bad = 1;
		} else if (!strcmp(st->name, "end") || !strcmp(st->name, "signal")) {
			err_at(c, sf[0].val,
			       "state name '%s' is reserved (it is a transition target)", st->name);
			bad = 1;
		} else {
			for (j = 0; j < i; j++) {
				if (m->states[j].name_node &&
				    !strcmp(m->states[j].name, st->name)) {
					err_at(c, sf[0].val,
					       "duplicate state name '%s' (first at %u:%u)",
					       st->name,
					       (unsigned)m->states[j].name_node->start_mark.line +
						       1,
					       (unsigned)m->states[j].name_node->start_mark.column +
						       1);
					bad = 1;
					break;
				}
			}
		}
		if (sf[1].val && parse_action(c, sf[1].val, &m->mb.states[i]))
			bad = 1;
		if (sf[2].val && parse_counters(c, sf[2].val, &m->mb.states[i]))
			bad = 1;
		if (sf[3].val && parse_on(c, m, i, sf[3].val))
			bad = 1;
	}
	if (!bad)
		check_reachable(c, m);
	/* Machine budgets: an explicit 0 fraction with nothing allowed before it. */
	for (i = 0; i < m->mb.nstates; i++) {
		const struct wfg_action_spec *act = m->mb.states[i].action;
		const struct ir_state *st = &m->states[i];

		if (!act)
			continue;
		if (act->kind == WFG_ACT_PADDING && m->pad_frac_zero &&
		    !m->mb.limits.allowed_padding_packets) {
			err_at(c, m->pad_frac_node,
			       "budget cannot be met: state '%s' sends padding but "
			       "allowed_padding_packets 0 and max_padding_frac 0 allow none",
			       st->name);
			m->pad_frac_zero = 2; /* once */
			bad = 1;
		}
		if (act->kind == WFG_ACT_BLOCK && m->block_frac_zero == 1 &&
		    !m->mb.limits.allowed_blocked_us) {
			err_at(c, m->block_frac_node,
			       "budget cannot be met: state '%s' blocks but allowed_blocked_us 0 "
			       "and "
			       "max_blocking_frac 0 allow no blocking",
			       st->name);
			m->block_frac_zero = 2;
			bad = 1;
		}
	}
	if (bad)
		e->bad = 1;
}

/* 1 if the machine has an action of this kind (padding or block) and no allowance for it. */
static int machine_acts_without_allowance(const struct wfg_mb_machine *m, enum wfg_action_kind kind)
{
	__u32 i;

	if (kind == WFG_ACT_PADDING ? m->limits.allowed_padding_packets
				    : m->limits.allowed_blocked_us)
		return 0;
	for (i = 0; i < m->nstates; i++)
		if (m->states[i].action && m->states[i].action->kind == kind)
			return 1;
	return 0;
}

/*
 * 1 if a machine of element e on side s has an action of this kind (padding or
 * block) and no allowance for it (allowed_padding_packets, allowed_blocked_us
 * 0): a side fraction of 0 stops it from the start.
 */
int acts_without_allowance(const struct element *e, int s, enum wfg_action_kind kind)
{
	int k;

	if (e->kind == EL_MACHINE)
		return machine_acts_without_allowance(&e->m->mb, kind);
	if (e->kind == EL_MAYBENOT)
		for (k = 0; k < e->nmb[s]; k++)
			if (machine_acts_without_allowance(e->mb[s][k], kind))
				return 1;
	return 0;
}

/* The machine's parts (its states array is the struct's own allocation). */
void ir_machine_free(struct ir_machine *m)
{
	__u32 i, ev;

	if (!m)
		return;
	for (i = 0; i < m->mb.nstates; i++) {
		struct wfg_mb_state *st = &m->mb.states[i];

		free(st->action);
		free(st->counter[0]);
		free(st->counter[1]);
		for (ev = 0; ev < WFG_EV_COUNT; ev++)
			free(st->trans[ev]);
	}
	free(m->mb.states);
	free(m);
}
