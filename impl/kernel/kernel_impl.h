/* SPDX-License-Identifier: MIT */
/*
 * kernel_impl.h - what the kernel build of the implementation adds to
 * kvfree_rcu.h.
 *
 * A program links either the reference implementation (impl/kvfree_rcu.c) or
 * the kernel's own kvfree_rcu section (impl/kernel/kernel_impl.c, built when
 * meson is given -Dkernel_src=PATH); both implement all of kvfree_rcu.h.
 * This header declares the little that only the kernel build has.
 */
#ifndef KVTORTURE_KERNEL_IMPL_H
#define KVTORTURE_KERNEL_IMPL_H

#include <stdbool.h>

/*
 * The version of the kernel tree the section was taken from ("6.1.192").
 * Context: any.
 */
const char *kvt_kernel_version(void);

/*
 * Whether the kernel's code attaches storage pages with list operations the
 * shim can see (the list layout, 6.3+), so page ownership is reported to the
 * checker (PER-CPU); the older chain layout attaches by plain assignment.
 * Context: any.
 */
bool kvt_kernel_reports_pages(void);

/* The patches applied to the tree (-Dkernel_patch), file names separated by spaces. */
const char *kvt_kernel_patches(void);

#endif /* KVTORTURE_KERNEL_IMPL_H */
