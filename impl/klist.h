/* SPDX-License-Identifier: MIT */
/*
 * klist.h - intrusive lists with the kernel's names: a circular doubly linked
 * list (struct list_head) and a singly linked lock-free stack (struct
 * llist_head).  Only standard C; the list_head functions need the caller's
 * own exclusion, the llist push/pop-all pair is safe between any contexts.
 */
#ifndef KVTORTURE_KLIST_H
#define KVTORTURE_KLIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

struct list_head {
	struct list_head *next, *prev;
};

/*
 * ->next is stored and read with relaxed atomics: list_empty() may be asked
 * without the lock (a racy "anything there?" that the caller re-checks under
 * the lock), and that read must not tear nor be a data race.
 */
#define KLIST_SET_NEXT_(entry, v) __atomic_store_n(&(entry)->next, (v), __ATOMIC_RELAXED)

#define LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	KLIST_SET_NEXT_(list, list);
	list->prev = list;
}

static inline bool list_empty(const struct list_head *head)
{
	return __atomic_load_n(&head->next, __ATOMIC_RELAXED) == head;
}

static inline void list_link_between_(struct list_head *entry, struct list_head *prev,
				      struct list_head *next)
{
	next->prev = entry;
	KLIST_SET_NEXT_(entry, next);
	entry->prev = prev;
	KLIST_SET_NEXT_(prev, entry);
}

/* Insert @entry right after @head (a stack push: the newest is first). */
static inline void list_add(struct list_head *entry, struct list_head *head)
{
	list_link_between_(entry, head, head->next);
}

/* Insert @entry right before @head (a queue append). */
static inline void list_add_tail(struct list_head *entry, struct list_head *head)
{
	list_link_between_(entry, head->prev, head);
}

static inline void list_del_init(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	KLIST_SET_NEXT_(entry->prev, entry->next);
	INIT_LIST_HEAD(entry);
}

static inline void list_move(struct list_head *entry, struct list_head *head)
{
	list_del_init(entry);
	list_add(entry, head);
}

/* Hand every entry of @old over to the empty list @new; @old becomes empty. */
static inline void list_replace_init(struct list_head *old, struct list_head *new_head)
{
	if (list_empty(old)) {
		INIT_LIST_HEAD(new_head);
		return;
	}
	KLIST_SET_NEXT_(new_head, old->next);
	new_head->next->prev = new_head;
	new_head->prev = old->prev;
	KLIST_SET_NEXT_(new_head->prev, new_head);
	INIT_LIST_HEAD(old);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_first_entry_or_null(head, type, member) \
	(list_empty(head) ? NULL : list_entry((head)->next, type, member))

/* Walk newest to oldest; @n keeps the walk safe against removing @pos. */
#define list_for_each_entry_safe(pos, n, head, type, member)			\
	for (pos = list_entry((head)->next, type, member),			\
	     n = list_entry(pos->member.next, type, member);			\
	     &pos->member != (head);						\
	     pos = n, n = list_entry(n->member.next, type, member))

/* Walk oldest to newest (from the tail), safe against removing @pos. */
#define list_for_each_entry_safe_reverse(pos, n, head, type, member)		\
	for (pos = list_entry((head)->prev, type, member),			\
	     n = list_entry(pos->member.prev, type, member);			\
	     &pos->member != (head);						\
	     pos = n, n = list_entry(n->member.prev, type, member))

/*
 * A lock-free singly linked stack.  llist_add() may run concurrently with
 * other adders and with llist_del_all(); llist_del_first() needs the caller to
 * exclude other deleters (the krc lock does).
 */
struct llist_node {
	struct llist_node *next;
};

struct llist_head {
	_Atomic(struct llist_node *) first;
};

static inline void init_llist_head(struct llist_head *list)
{
	atomic_store_explicit(&list->first, NULL, memory_order_relaxed);
}

static inline bool llist_empty(const struct llist_head *list)
{
	return atomic_load_explicit(&list->first, memory_order_relaxed) == NULL;
}

/*
 * Push @node.  Release ordering publishes the node's contents to whoever pops
 * it.  Returns true if the list was empty before.
 */
static inline bool llist_add(struct llist_node *node, struct llist_head *list)
{
	struct llist_node *first = atomic_load_explicit(&list->first, memory_order_relaxed);

	do {
		node->next = first;
	} while (!atomic_compare_exchange_weak_explicit(&list->first, &first, node,
							memory_order_release,
							memory_order_relaxed));
	return first == NULL;
}

/* Take the whole stack (acquire pairs with llist_add's release). */
static inline struct llist_node *llist_del_all(struct llist_head *list)
{
	return atomic_exchange_explicit(&list->first, NULL, memory_order_acquire);
}

/*
 * Pop the newest node.  Deleters must be serialized by the caller (so the
 * ABA problem cannot arise); adders may run concurrently.
 */
static inline struct llist_node *llist_del_first(struct llist_head *list)
{
	struct llist_node *first = atomic_load_explicit(&list->first, memory_order_acquire);

	while (first && !atomic_compare_exchange_weak_explicit(&list->first, &first, first->next,
								memory_order_acquire,
								memory_order_acquire))
		;
	return first;
}

#endif /* KVTORTURE_KLIST_H */
