/* placeholder: the reference implementation is being written */
#include "kvfree_rcu.h"
