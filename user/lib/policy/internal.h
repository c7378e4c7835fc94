/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the pieces of the policy compiler share (not an API: policy.h is).
 *
 * Three phases; each reports every error it finds at a YAML position:
 *  1. parse: libyaml loads the document (load.c), a walk checks keys, types
 *     and ranges (yaml_walk.c gives the generic schema walk, one file per part
 *     of the schema) and fills an intermediate form (struct ir);
 *  2. check: what needs the whole policy (check.c: conflicting elements, sizes
 *     against the MTU limit, budgets that cannot be met);
 *  3. build: both sides through the side builder (build.c), whose few
 *     remaining failures (the core's capacity per side) are reported at the
 *     element being added.
 * Elements with an error are left out of the later phases, so one mistake is
 * reported once.
 */
#ifndef WFGUARD_USER_POLICY_INTERNAL_H
#define WFGUARD_USER_POLICY_INTERNAL_H

#include <yaml.h>

#include "maybenot.h"
#include "policy.h"
#include "presets.h"
#include "side_build.h"

#define SIDE_C	      (1u << WFG_ROLE_CLIENT)
#define SIDE_S	      (1u << WFG_ROLE_SERVER)
#define MAX_ELEMS     16     /* defence elements */
#define MAX_NAME      64     /* state and machine names, with the NUL */
#define MAX_SIZE      65507u /* largest UDP payload (IPv4) */
#define MIN_FLOWS     16u
#define MAX_FLOWS     (1u << 22)
#define DEF_FLOWS     65536u
#define MAX_U32_VALUE 4294967295.0
#define RAW_MAX	      256 /* errors kept before sorting */

/* ---------------------------------------------------------------- diagnostics (diag.c) */

struct raw_diag {
	unsigned line, col, seq; /* line 0: no position (I/O) */
	char msg[224];
};

struct ir;

struct pctx {
	const char *file;
	const char *basedir; /* for relative key paths; NULL: keep as written */
	yaml_document_t *doc;
	struct raw_diag *raw;
	int nraw, cap;
	int lost;
	struct wfg_compiled_policy *cp; /* the temporary being filled */
	struct ir *ir;
};

__attribute__((format(printf, 3, 4))) void err_mark(struct pctx *c, yaml_mark_t m, const char *fmt,
						    ...);
/* At a node (NULL: the top of the file). */
__attribute__((format(printf, 3, 4))) void err_at(struct pctx *c, const yaml_node_t *n,
						  const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void err_line(struct pctx *c, unsigned line, unsigned col,
						    const char *fmt, ...);
/* No position: the file itself (cannot be read, out of memory). */
__attribute__((format(printf, 2, 3))) void err_io(struct pctx *c, const char *fmt, ...);
/* Sorted by position, identical messages at one place once. */
void emit_diags(struct pctx *c, struct wfg_diags *out);

/* ---------------------------------------------------------------- schema walk (yaml_walk.c) */

enum vkind { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_MAP, V_LIST };

extern const char *const vkind_name[];

yaml_node_t *nd(struct pctx *c, int i);
const char *sval(const yaml_node_t *n);
enum vkind vkind(const yaml_node_t *n);
int is_scalar_value(const yaml_node_t *n);
const char *closest(const char *s, const char *const *names, int n);
void err_unknown(struct pctx *c, const yaml_node_t *n, const char *what, const char *const *names,
		 int nnames);

struct field {
	const char *name;
	const char *alias; /* another accepted spelling, or NULL */
	yaml_node_t *key, *val;
	int typo; /* an unknown key was reported as a likely misspelling of this one */
};

#define F(n)                \
	{                   \
		.name = (n) \
	}

int fields(struct pctx *c, yaml_node_t *n, const char *what, struct field *f, int nf);
struct field *fld(struct field *f, int nf, const char *name);

#define NF(f)	   ((int)(sizeof(f) / sizeof((f)[0])))
#define V(f, name) (fld((f), NF(f), (name))->val)
#define K(f, name) (fld((f), NF(f), (name))->key)

int want_u64(struct pctx *c, const yaml_node_t *n, const char *name, __u64 lo, __u64 hi,
	     __u64 *out);
int want_u32(struct pctx *c, const yaml_node_t *n, const char *name, __u32 lo, __u32 hi,
	     __u32 *out);
int want_num(struct pctx *c, const yaml_node_t *n, const char *name, double lo, double hi,
	     int lo_open, double *out);
int want_bool(struct pctx *c, const yaml_node_t *n, const char *name, int *out);
int want_str(struct pctx *c, const yaml_node_t *n, const char *name, const char **out);
int want_enum(struct pctx *c, const yaml_node_t *n, const char *what, const char *const *names,
	      int nnames);
void err_missing(struct pctx *c, const yaml_node_t *map, const char *key, const char *why);
void missing(struct pctx *c, const yaml_node_t *map, const struct field *f, const char *why);

/* ---------------------------------------------------------------- intermediate form */

enum { EL_PRESET, EL_MAYBENOT, EL_MACHINE };
enum { P_FRONT, P_TAMARAW, P_BUFLO, P_REGULATOR, P_COUNT };

/* Where an inline machine's states were written, for the messages. */
struct ir_state {
	yaml_node_t *node, *name_node;
	char name[MAX_NAME];
};

/*
 * An inline machine: the machine itself in the form a Maybenot string decodes
 * to (one adder builds both, wfg_machine_add), and what the messages and the
 * policy's own semantics need beside it.
 */
struct ir_machine {
	struct wfg_mb_machine mb;	    /* states: WFG_MAX_STATES allocated, mb.nstates used */
	int pad_frac_zero, block_frac_zero; /* explicit 0: nothing beyond the allowance */
	yaml_node_t *pad_frac_node, *block_frac_node;
	__u32 ntrans;
	int overflow; /* more states than the core holds (reported once) */
	struct ir_state states[WFG_MAX_STATES];
};

#define MAX_PPARAMS 12

struct element {
	int kind;
	int bad; /* an error inside: left out of the checks and the build */
	unsigned sides;
	yaml_node_t *node;
	char label[96]; /* "preset 'front'", "machine 'burst'", "maybenot machines" */
	/* preset */
	int preset;
	yaml_node_t *pnode[MAX_PPARAMS]; /* parameters given, by index in the preset's table */
	union {
		struct wfg_front_params front;
		struct wfg_tamaraw_params tamaraw;
		struct wfg_buflo_params buflo;
		struct wfg_regulator_params regulator;
	} pp;
	/* maybenot */
	int nmb[2];
	struct wfg_mb_machine *mb[2][WFG_MAX_MACHINES];
	yaml_node_t *mb_node[2][WFG_MAX_MACHINES];
	/* inline machine */
	struct ir_machine *m;
};

/*
 * `pool:` (pool.c): size entries, each the policy's defence with the
 * parameters of the presets under `vary` drawn from their ranges.
 */
struct ir_vary {
	int preset, elem;  /* the preset, and its element in the defence list */
	int param;	   /* index in the preset's parameter table */
	double lo, hi;	   /* the range, both ends included */
	yaml_node_t *node; /* the range, for the messages */
};

#define MAX_VARY (P_COUNT * MAX_PPARAMS)

struct ir_pool {
	yaml_node_t *node; /* NULL: the policy has no pool */
	int bad;
	__u32 size;
	__u64 seed;
	int nvary;
	struct ir_vary vary[MAX_VARY];
};

struct ir {
	yaml_node_t *root;
	struct ir_pool pool;
	int role;
	int unit_given;
	__u32 episode_idle_ms; /* WFG_EPISODE_IDLE_DEFAULT_MS unless the policy says */
	/* shape */
	int shape_given;
	struct wfg_shape_cfg shape;
	yaml_node_t *shape_mode_node, *shape_size_node, *shape_max_node;
	yaml_node_t *bucket_node[WFG_MAX_BUCKETS];
	__u32 limit;
	__u32 cover_size;
	yaml_node_t *cover_node;
	/* side limits */
	double pad_frac, block_frac;
	int pad_frac_zero, block_frac_zero;
	yaml_node_t *pad_frac_node, *block_frac_node;
	int nelem;
	struct element el[MAX_ELEMS];
};

/* ---------------------------------------------------------------- the schema's parts */

extern const char *const side_names[2];	   /* by enum wfg_role */
extern const char *const profile_names[3]; /* by enum wfg_profile */
extern const char *const shape_modes[6];   /* by enum wfg_shape_mode */
extern const char *const preset_names[P_COUNT];

/* toplevel.c: the document, shim, flows, limits, the defence list */
void parse_top(struct pctx *c, yaml_node_t *root);
const char *sides_text(unsigned sides);
int want_sides(struct pctx *c, const yaml_node_t *n, unsigned *sides);
void parse_frac(struct pctx *c, yaml_node_t *v, const char *name, double *out, int *zero,
		yaml_node_t **node);

/* dist.c */
int parse_dist(struct pctx *c, yaml_node_t *n, const char *name, struct wfg_dist_spec *out);

/* match.c */
void parse_match(struct pctx *c, yaml_node_t *n);

/* shape.c */
void parse_shape(struct pctx *c, yaml_node_t *n);

/* preset_glue.c */
void parse_preset(struct pctx *c, struct element *e, yaml_node_t *name_node, yaml_node_t *params);
__u32 *preset_size(struct element *e, yaml_node_t **where);
const char *preset_size_name(const struct element *e);

/* preset_glue.c, for pool.c: a preset's parameter by name (-1: none), its
 * value in an element, a range checked against the parameter's own */
int preset_param(int preset, const char *name);
const char *preset_param_name(int preset, int i);
int preset_param_int(int preset, int i);
double preset_param_get(const struct element *e, int i);
void preset_param_set(struct element *e, int i, double v);
int want_preset_value(struct pctx *c, int preset, int i, const yaml_node_t *n, double *out);
int preset_param_names(int preset, const char **names, int max);

/* pool.c: parse `pool:` (after the defence list), build its entries */
void parse_pool(struct pctx *c, yaml_node_t *n);
int build_pool(struct pctx *c, struct wfg_side_builder *sb);

/* machine.c: inline machines and maybenot strings */
void parse_machine(struct pctx *c, struct element *e, yaml_node_t *n);
void parse_maybenot(struct pctx *c, struct element *e, yaml_node_t *n);
int acts_without_allowance(const struct element *e, int s, enum wfg_action_kind kind);
void ir_machine_free(struct ir_machine *m);

/* check.c, build.c, summary.c */
void check_policy(struct pctx *c);
void build_side(struct pctx *c, int s, struct wfg_side_builder *sb);
void summarize(struct pctx *c);

#endif
