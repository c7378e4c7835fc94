/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The programs' messages on stderr. When stderr is the journal's stream (a
 * systemd service: JOURNAL_STREAM names stderr's device and inode, see
 * systemd.exec(5)), each line starts with its syslog priority as "<N>"
 * (sd-daemon(3)) and the journal adds the program's name; otherwise a line
 * is "wfguard: message", as on a terminal. Libraries return their errors;
 * only the programs log.
 */
#ifndef WFGUARD_USER_LOG_H
#define WFGUARD_USER_LOG_H

#include <stdarg.h>
#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

/* Decide once (again after stderr changed) whether stderr is the journal. */
void wfg_log_init(void);

/* 1 if wfg_log_init() found stderr connected to the journal. */
int wfg_log_journal(void);

/* One message (no newline: one is added) at syslog priority prio. */
void wfg_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wfg_vlog(int prio, const char *fmt, va_list ap);

#endif
