/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A strict reader of the Prometheus text exposition format as wfguard writes
 * it (counters, one label), for the tests: every rule a scraper relies on is
 * checked, and a break is reported with its line.
 */
#ifndef WFG_TESTS_PROM_H
#define WFG_TESTS_PROM_H

#include <stddef.h>

#define PROM_MAX 128

struct prom_sample {
	char name[96];	/* the family, wfguard_..._total */
	char help[256]; /* its HELP text, unescaped */
	char label[64]; /* the interface label's value, unescaped */
	unsigned long long value;
};

struct prom_doc {
	int n;
	struct prom_sample s[PROM_MAX];
};

/*
 * Parse text: each family has one HELP and one TYPE counter line, then one
 * sample with the label `label_name`; names valid and unique. 0, or -1 with
 * "line N: what" in err.
 */
int prom_parse(const char *text, const char *label_name, struct prom_doc *doc, char *err,
	       size_t errlen);

/* The sample of family name, or NULL. */
const struct prom_sample *prom_find(const struct prom_doc *doc, const char *name);

#endif
