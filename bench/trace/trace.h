/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The harness's in-memory trace: what an observer next to the client sees of
 * one page load (time, direction, size of every packet), plus whether each
 * packet was real or cover, and readers/writers for the formats researchers
 * use. Formats and their rules: docs/trace-format.md.
 *
 * Library code: every function returns 0 or a negative errno and, on error,
 * writes one line into the caller's err buffer ("file:line: what is wrong").
 */
#ifndef WFBENCH_TRACE_H
#define WFBENCH_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WFB_OUT 1  /* client -> server */
#define WFB_IN	-1 /* server -> client */

enum wfb_kind {
	WFB_REAL = 0,
	WFB_COVER = 1,
};

struct wfb_pkt {
	uint64_t time_ns; /* since the start of the trace */
	uint32_t size;	  /* bytes on the wire (datagram payload); 0 = unknown */
	int8_t dir;	  /* WFB_OUT or WFB_IN */
	uint8_t kind;	  /* enum wfb_kind */
	uint16_t _pad;
};

struct wfb_trace {
	struct wfb_pkt *pkts;
	size_t n;
	size_t cap;
};

enum wfb_format {
	WFB_FMT_WANG,
	WFB_FMT_MAYBENOT,
	WFB_FMT_PCAP,
	WFB_FMT_NATIVE,
};

/*
 * What a text reader does with a packet earlier than the one before it (real
 * captures have them: tiny inversions from timestamping on several cores).
 */
enum wfb_order {
	WFB_ORDER_STRICT, /* an error naming the line */
	WFB_ORDER_KEEP,	  /* file order kept, as the reference codes read it; the time is
			   * raised to its predecessor's (the trace stays non-decreasing) */
	WFB_ORDER_SORT,	  /* packets sorted by time (stable: ties keep file order) */
};

/* The inversions a KEEP or SORT read met. */
struct wfb_inversions {
	size_t count;	   /* packets earlier than the packet before them in the file */
	uint64_t max_ns;   /* the largest step back */
	size_t first_line; /* the line of the first one (0: none) */
};

/* An IPv4 or IPv6 address (the client, for pcap direction). */
struct wfb_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

/* What a pcap read kept and why it dropped the rest. */
struct wfb_pcap_stats {
	size_t packets;	   /* records in the file */
	size_t kept;	   /* TCP/UDP packets with payload, to or from the client */
	size_t not_ip;	   /* not IPv4/IPv6 (ARP, LLDP, ...) */
	size_t not_tcpudp; /* IP but neither TCP nor UDP (ICMP, ...) */
	size_t other_host; /* neither source nor destination is the client */
	size_t empty;	   /* no payload (pure TCP ACK, SYN, FIN; empty datagram) */
	size_t fragment;   /* non-first IP fragments (the first counts the datagram) */
};

/* Per-trace figures for `wfbench info`. Index [0] = out (client->server), [1] = in. */
struct wfb_trace_stats {
	size_t packets[2];
	uint64_t bytes[2];
	size_t cover;
	uint64_t duration_ns; /* time of the last packet */
};

void wfb_trace_init(struct wfb_trace *t);
void wfb_trace_free(struct wfb_trace *t);
/* Append one packet; -ENOMEM. */
int wfb_trace_push(struct wfb_trace *t, uint64_t time_ns, int dir, uint32_t size,
		   enum wfb_kind kind);
/* Times non-decreasing, directions and kinds valid. */
int wfb_trace_check(const struct wfb_trace *t, char *err, size_t errlen);
bool wfb_trace_equal(const struct wfb_trace *a, const struct wfb_trace *b);
void wfb_trace_stats(const struct wfb_trace *t, struct wfb_trace_stats *st);

int wfb_format_parse(const char *name, enum wfb_format *fmt);
const char *wfb_format_name(enum wfb_format fmt);
/* "10.0.0.1" or "fd00::1"; -EINVAL. */
int wfb_addr_parse(const char *s, struct wfb_addr *addr);

/*
 * Readers from an open stream. `name` is what error messages call the input
 * (usually its path). The trace is emptied first; on error it holds what was
 * read before the bad line.
 */
int wfb_read_wang(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen);
int wfb_read_maybenot(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen);
int wfb_read_native(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen);
/* pcap or pcapng (libpcap); st may be NULL. No packet to or from the client is an error. */
int wfb_read_pcap(const char *path, const struct wfb_addr *client, struct wfb_trace *t,
		  struct wfb_pcap_stats *st, char *err, size_t errlen);

/* Writers to an open stream; -errno (EIO) on a write error. */
int wfb_write_wang(FILE *f, const struct wfb_trace *t);
int wfb_write_maybenot(FILE *f, const struct wfb_trace *t);
int wfb_write_native(FILE *f, const struct wfb_trace *t);
/*
 * A raw-IP pcap of UDP datagrams between client and server (same family), one
 * per packet, payload zeros of the packet's size. Unknown sizes (0) cannot be
 * represented and are an error.
 */
int wfb_write_pcap(const char *path, const struct wfb_trace *t, const struct wfb_addr *client,
		   const struct wfb_addr *server, char *err, size_t errlen);

/* Open `path` and read it in format `fmt` (client: pcap only, else NULL). */
int wfb_trace_load(const char *path, enum wfb_format fmt, const struct wfb_addr *client,
		   struct wfb_trace *t, char *err, size_t errlen);
/*
 * The same for the text formats with a choice for times that go backwards
 * (order; inv counts them, may be NULL). pcap and native: order must be STRICT.
 */
int wfb_trace_load_ordered(const char *path, enum wfb_format fmt, enum wfb_order order,
			   struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			   size_t errlen);
/*
 * Write `path` in format `fmt` (not pcap) through a temporary file in the same
 * directory and a rename: the file is either the old one or the whole new one.
 */
int wfb_trace_save(const char *path, enum wfb_format fmt, const struct wfb_trace *t, char *err,
		   size_t errlen);

/*
 * Small lexing helpers the harness's text formats share (trace files, the
 * dataset manifest). Parsers return 0, -EINVAL (not a number) or -ERANGE.
 */
int wfb_parse_u64(const char *s, uint64_t max, uint64_t *v);
/* Decimal seconds (or with an exponent) into ns; -EDOM if negative. */
int wfb_parse_seconds(const char *s, uint64_t *ns);
/* ns as exact decimal seconds, trailing zeros dropped ("0.14", "3.0"). */
char *wfb_fmt_seconds(uint64_t ns, char *buf, size_t len);
/* s for a message: at most len-4 characters, then "..."; TAB as \t, unprintables as ?. */
const char *wfb_quote(const char *s, char *buf, size_t len);
/* Split s in place at runs of `sep` characters; returns the count, or max+1 if more. */
int wfb_split(char *s, const char *sep, char **fields, int max);
/* Strip leading blanks and trailing blanks, CR and LF, in place. */
char *wfb_trim(char *s);

#endif /* WFBENCH_TRACE_H */
