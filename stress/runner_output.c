/* SPDX-License-Identifier: MIT */
/*
 * runner_output.c - the runner's output without allocation (see
 * runner_internal.h).
 *
 * Reports are formatted into static buffers with vsnprintf and written with
 * write(2) to a temporary file that is then renamed, so a violation report
 * (written from the checker's abort hook, in whatever context the violation
 * was found) neither allocates nor leaves a half-written file behind.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "posix_env.h"
#include "runner_internal.h"

void outbuf_reset(struct outbuf *o)
{
	o->len = 0;
	o->overflow = false;
}

void outbuf_add(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(o->buf) - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

void outbuf_add_json_string(struct outbuf *o, const char *s)
{
	outbuf_add(o, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			outbuf_add(o, "\\%c", c);
		else if (c == '\n')
			outbuf_add(o, "\\n");
		else if (c < 0x20)
			outbuf_add(o, "\\u%04x", c);
		else
			outbuf_add(o, "%c", c);
	}
	outbuf_add(o, "\"");
}

void outbuf_write_fd(int fd, const struct outbuf *o)
{
	posix_write_all(fd, o->buf, o->len);
}

/* The temporary a report file is written in before it takes @name. */
static void report_tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/.%s.tmp", runner_opts.report_dir, name);
}

int report_file_open(const char *name)
{
	char tmp[1024];

	if (!runner_opts.report_dir)
		return -1;
	report_tmp_path(tmp, sizeof(tmp), name);
	return open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

bool report_file_commit(const char *name, int fd)
{
	char tmp[1024], path[1024];
	bool synced = fsync(fd) == 0;

	report_tmp_path(tmp, sizeof(tmp), name);
	/* A file the disk did not take whole does not replace anything. */
	if (close(fd) != 0 || !synced) {
		unlink(tmp);
		return false;
	}
	snprintf(path, sizeof(path), "%s/%s", runner_opts.report_dir, name);
	return rename(tmp, path) == 0;
}

bool outbuf_write_atomic(const char *name, const struct outbuf *o)
{
	int fd;

	if (!runner_opts.report_dir)
		return true;
	fd = report_file_open(name);
	if (fd < 0)
		return false;
	outbuf_write_fd(fd, o);
	return report_file_commit(name, fd);
}
