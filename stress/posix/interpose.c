/* SPDX-License-Identifier: MIT */
/*
 * interpose.c - malloc family wrappers that catch allocations in atomic context
 * (checked flavour only: a timing run must not pay for them).
 *
 * Linked into the stress programs: every malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc and memalign called by a registered thread
 * that holds a raw lock, has irqs soft-disabled or runs in hardirq or NMI
 * context is reported to the checker as NO-ALLOC-ATOMIC (check_alloc), then
 * forwarded to glibc's allocator.  The report path does not allocate, and the
 * thread's env_internal count keeps the environment's own allocations (and a
 * report in progress) from being reported again.
 *
 * Sanitizer runtimes interpose malloc themselves; there this file compiles to
 * nothing and NO-ALLOC-ATOMIC is still checked for pages in kenv_page_alloc.
 */
#include <errno.h>
#include <stddef.h>

#include "env_internal.h"

#if !POSIX_CHECKED
#error "interpose.c belongs to the checked flavour only"
#endif

_Atomic(uint64_t) posix_interpose_reports;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KVT_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define KVT_NO_INTERPOSE 1
#endif
#endif

#ifndef KVT_NO_INTERPOSE

/* glibc's allocator under its exported internal names. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);
void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
int posix_memalign(void **out, size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
void *memalign(size_t align, size_t size);

static void alloc_hook(const char *what)
{
	struct posix_thread *t = posix_me;

	/* Unregistered threads (liburcu's, the loader) are not under test. */
	if (!t || t->env_internal || !posix_alloc_forbidden())
		return;
	t->env_internal++;
	atomic_fetch_add(&posix_interpose_reports, 1);
	check_alloc(KENV_GFP_NOWAIT, what);
	t->env_internal--;
}

void *malloc(size_t size)
{
	alloc_hook("malloc");
	return __libc_malloc(size);
}

void *calloc(size_t nmemb, size_t size)
{
	alloc_hook("calloc");
	return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
	alloc_hook("realloc");
	return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	if (ptr)
		alloc_hook("free");
	__libc_free(ptr);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	alloc_hook("posix_memalign");
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	alloc_hook("aligned_alloc");
	return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
	alloc_hook("memalign");
	return __libc_memalign(align, size);
}

bool posix_interpose_enabled(void)
{
	return true;
}

#else

bool posix_interpose_enabled(void)
{
	return false;
}

#endif
