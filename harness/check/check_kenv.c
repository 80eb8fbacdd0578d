// SPDX-License-Identifier: MIT
/*
 * check_kenv.c - the kenv.h functions whose whole job is to inform the
 * checker, identical in every environment, so each environment gets them by
 * linking the checker instead of repeating them.
 */
#include "check.h"
#include "kenv.h"

void kenv_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock)
{
	check_page_owner(page, cpu, krc_lock);
}
