/* SPDX-License-Identifier: MIT */
/*
 * bugs.h - `kvtorture bugs`: list the historical-bug catalogue and check its
 * reproducers against the build at hand.
 *
 * The catalogue is corpus/bugs/catalogue.tsv of the source tree this program
 * was built from (KVT_SOURCE_ROOT), or the file named by the environment
 * variable KVT_BUG_CATALOGUE; each bug's reproducer is <ID>.kvt beside it.  A
 * program built with a bug re-injected carries its ID in KVT_INJECTED_BUG.
 */
#ifndef KVTORTURE_CLI_BUGS_H
#define KVTORTURE_CLI_BUGS_H

/*
 * The subcommand; @argv[0] is "bugs".  Returns the exit status: 0 pass, 1 a
 * reproducer did not behave as the catalogue says, 2 bad usage or a malformed
 * catalogue (the message names FILE:LINE), 99 set-up error.  Driver only (it
 * runs reproducers in the simulation).
 */
int kvt_cmd_bugs(int argc, char **argv);

#endif /* KVTORTURE_CLI_BUGS_H */
