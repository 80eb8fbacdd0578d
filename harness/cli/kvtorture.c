// SPDX-License-Identifier: MIT
/*
 * kvtorture.c - the command line: seeded exploration of the simulation,
 * replaying, converting and minimizing reproducers, and (when built with
 * liburcu) the real-thread stress runner.
 *
 *   kvtorture sim [--seed N] [--duration S | --runs N] [--policy P|all] [--ops N]
 *                 [--pct-depth D [--pct-steps K]] [--out DIR]
 *   kvtorture replay [-v] FILE|DIR...
 *   kvtorture decode FILE          text reproducer to stdout
 *   kvtorture encode FILE          binary input to stdout
 *   kvtorture minimize FILE [-o OUT]
 *   kvtorture stress ...           (see kvtorture stress --help)
 *   kvtorture bugs [ID...]         the historical-bug catalogue (see bugs.h)
 *
 * Exit codes: 0 pass, 1 invariant violated, 2 bad usage or input, 77 skipped,
 * 99 set-up error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bugs.h"
#include "cli.h"
#include "check.h"
#include "exec.h"
#include "ops.h"
#include "sibling.h"
#include "splitmix64.h"

#define EXIT_VIOLATION 1
#define EXIT_USAGE 2
#define EXIT_SETUP 99

static const char *prog_name = "kvtorture";

/* The running program's variant (cli.h): its implementation and siblings. */
const struct kvt_cli_variant *kvt_cli;

/*
 * How this program is called in the commands it prints: reproducer commands
 * name the implementation they ran on.
 */
static const char *self_name(void)
{
	static char buf[64];

	if (!strcmp(kvt_cli->impl, "reference"))
		return "kvtorture";
	snprintf(buf, sizeof(buf), "kvtorture --impl %s", kvt_cli->impl);
	return buf;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s %s: ", prog_name, cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see '%s %s --help')\n", prog_name, cmd);
	return EXIT_USAGE;
}

/*
 * The options of every subcommand are read with getopt_long() from a ":"
 * optstring and opterr off, so its errors come here and are reported the
 * project's way (exit 2, naming the option).  @c is what getopt_long()
 * returned ('?' or ':').
 */
static int option_error(const char *cmd, int c, char **argv)
{
	char shortopt[3] = { '-', (char)optopt, 0 };

	/* A missing value: the option is the argument just read, long or short. */
	if (c == ':')
		return usage_error(cmd, "%s needs a value", argv[optind - 1]);
	return usage_error(cmd, "unknown option '%s'", optopt ? shortopt : argv[optind - 1]);
}

/* Start reading a subcommand's options (getopt keeps state between calls). */
static void options_begin(void)
{
	optind = 0;
	opterr = 0;
}

static bool parse_u64_arg(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- writing reproducers atomically ------------------------------------------ */

/*
 * The reproducer of the run in progress, written by the checker's abort hook:
 * no allocation there, so the path and the program are prepared beforehand.
 */
static struct {
	const struct kvt_prog *prog;
	char path[4096];
	char tmp[4096 + 8];
} pending_repro;

static void write_repro_now(enum check_inv inv, const char *report)
{
	int fd;

	(void)inv;
	if (!pending_repro.prog)
		return;
	fd = open(pending_repro.tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	/* The report goes in as '#' comments above the program. */
	if (report) {
		const char *p = report;

		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);

			if (write(fd, "# ", 2) != 2 || write(fd, p, n) != (ssize_t)n ||
			    write(fd, "\n", 1) != 1)
				break;
			p += n + (nl ? 1 : 0);
		}
	}
	if (kvt_prog_write_fd(pending_repro.prog, fd) != 0 || fsync(fd) != 0) {
		close(fd);
		unlink(pending_repro.tmp);
		return;
	}
	close(fd);
	if (rename(pending_repro.tmp, pending_repro.path) == 0) {
		static const char msg[] = "kvtorture: reproducer written to ";

		if (write(2, msg, sizeof(msg) - 1) < 0 ||
		    write(2, pending_repro.path, strlen(pending_repro.path)) < 0 ||
		    write(2, "\n", 1) < 0)
			return;
	}
}

/* Write @prog to @path via a temporary file and rename; 0 or -1 (errno). */
static int write_prog_atomic(const struct kvt_prog *prog, const char *path)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (kvt_prog_write_fd(prog, fd) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

/* mkdir -p: create @path and its missing parents; 0 or -1 (errno). */
static int mkdir_parents(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- sim ------------------------------------------------------------------ */

static const char sim_help[] =
	"usage: kvtorture sim [--seed N] [--duration S | --runs N] [--policy kernel|watermark|nolocks|all]\n"
	"                     [--ops N] [--pct-depth D [--pct-steps K]] [--out DIR]\n"
	"Seeded random exploration of the simulation: each run is a random op program\n"
	"(drawn from the seed and the run number) with random interrupts, NMIs,\n"
	"preemption, migration and allocation failures.  Policies rotate unless one is\n"
	"given.  On a violation the report is printed, the reproducer is written to\n"
	"DIR (default: corpus/found) and the exit status is 1.  Defaults: --seed from\n"
	"the clock, --duration 10, --ops 64.\n"
	"--pct-depth D (1..16) schedules by PCT instead of random preemption: every access\n"
	"to shared state is a scheduling point, coroutines run by random priority, and\n"
	"D-1 change points drawn from steps 1..K lower the running one; a bug needing D\n"
	"orderings is found with probability >= 1/(n K^(D-1)) per run of n coroutines.\n"
	"K is --pct-steps, or else the number of steps the previous run took (1000 for\n"
	"the first); each reproducer records its seed, depth and K.\n";

static int cmd_sim(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL), duration = 10, runs = 0, nr_ops = 64, v;
	uint64_t pct_depth = 0, pct_steps = 0, pct_last_steps = 1000;
	const char *out = "corpus/found";
	int policy = -1;
	char repro_cmd[4600];
	struct kvt_run_opts opts;
	uint64_t run, violations = 0;
	double start, last_print;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "runs", required_argument, NULL, 'r' },
		{ "ops", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "pct-depth", required_argument, NULL, 'D' },
		{ "pct-steps", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	options_begin();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(sim_help, stdout);
			return 0;
		case 'D':
			if (!parse_u64_arg(optarg, &pct_depth) || pct_depth < 1 ||
			    pct_depth > KVT_PCT_DEPTH_MAX)
				return usage_error("sim", "--pct-depth needs 1..16, not '%s'", optarg);
			break;
		case 'K':
			if (!parse_u64_arg(optarg, &pct_steps) || pct_steps == 0)
				return usage_error("sim", "--pct-steps needs a positive number, not '%s'",
						   optarg);
			break;
		case 's':
			if (!parse_u64_arg(optarg, &seed))
				return usage_error("sim", "--seed needs a number, not '%s'", optarg);
			break;
		case 'd':
			if (!parse_u64_arg(optarg, &duration))
				return usage_error("sim", "--duration needs seconds, not '%s'", optarg);
			break;
		case 'r':
			if (!parse_u64_arg(optarg, &runs) || runs == 0)
				return usage_error("sim", "--runs needs a positive number, not '%s'", optarg);
			break;
		case 'n':
			if (!parse_u64_arg(optarg, &v) || v == 0 || v > KVT_MAX_OPS)
				return usage_error("sim", "--ops needs 1..65536, not '%s'", optarg);
			nr_ops = v;
			break;
		case 'p':
			if (!strcmp(optarg, "all")) {
				policy = -1;
				break;
			}
			policy = -2;
			for (int p = 0; p < KVT_POLICY_NR; p++)
				if (!strcmp(optarg, kvt_policy_name((enum kvt_policy)p)))
					policy = p;
			if (policy == -2)
				return usage_error("sim", "unknown policy '%s'", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return option_error("sim", c, argv);
		}
	}
	if (optind < argc)
		return usage_error("sim", "takes no argument, got '%s'", argv[optind]);
	if (pct_steps && !pct_depth)
		return usage_error("sim", "--pct-steps needs --pct-depth%s", "");

	printf("kvtorture sim: seed %" PRIu64 " (implementation: %s)%s\n", seed, kvt_cli->impl,
	       pct_depth ? ", PCT scheduling" : "");
	fflush(stdout);
	if (mkdir_parents(out) != 0) {
		fprintf(stderr, "kvtorture sim: cannot create %s: %s\n", out, strerror(errno));
		return EXIT_SETUP;
	}

	kvt_run_opts_default(&opts);
	opts.mode = CHECK_ABORT;
	opts.abort_hook = write_repro_now;
	opts.repro = repro_cmd;

	start = last_print = now_s();
	for (run = 0; runs ? run < runs : now_s() - start < (double)duration; run++) {
		struct kvt_prog prog;
		enum kvt_policy pol = policy >= 0 ? (enum kvt_policy)policy
						  : (enum kvt_policy)(run % KVT_POLICY_NR);
		uint64_t run_seed = splitmix64_mix(seed ^ splitmix64_mix(run));
		int rc;

		kvt_prog_random(&prog, run_seed, nr_ops, pol);
		/* Exploration on top of the program: the sim draws these from cfg.seed. */
		prog.cfg.seed = run_seed;
		prog.cfg.irq_permille = (unsigned int)(run_seed % 40);
		prog.cfg.nmi_permille = (unsigned int)((run_seed >> 8) % 5);
		prog.cfg.preempt_permille = (unsigned int)((run_seed >> 16) % 100);
		prog.cfg.migrate_permille = (unsigned int)((run_seed >> 24) % 500);
		prog.cfg.alloc_fail_permille = (unsigned int)((run_seed >> 32) % 200);
		if (pct_depth) {
			prog.cfg.pct_depth = (unsigned int)pct_depth;
			prog.cfg.pct_steps = pct_steps ? pct_steps : pct_last_steps;
		}

		if (snprintf(pending_repro.path, sizeof(pending_repro.path),
			     "%s/sim-seed%" PRIu64 "-run%" PRIu64 ".kvt", out, seed, run) >=
		    (int)sizeof(pending_repro.path)) {
			fprintf(stderr, "kvtorture sim: --out path too long\n");
			return EXIT_USAGE;
		}
		snprintf(pending_repro.tmp, sizeof(pending_repro.tmp), "%s.tmp", pending_repro.path);
		{
			char pct_opts[64] = "";

			if (pct_depth)
				snprintf(pct_opts, sizeof(pct_opts), " --pct-depth %" PRIu64 "%s",
					 pct_depth, pct_steps ? " --pct-steps " : "");
			if (pct_steps)
				snprintf(pct_opts + strlen(pct_opts), sizeof(pct_opts) - strlen(pct_opts),
					 "%" PRIu64, pct_steps);
			snprintf(repro_cmd, sizeof(repro_cmd),
				 "%s replay %s   (or: %s sim --seed %" PRIu64 " --runs %" PRIu64
				 " --ops %" PRIu64 "%s%s%s)", self_name(), pending_repro.path,
				 self_name(), seed, run + 1, nr_ops,
				 policy >= 0 ? " --policy " : "",
				 policy >= 0 ? kvt_policy_name((enum kvt_policy)policy) : "", pct_opts);
		}
		pending_repro.prog = &prog;

		rc = kvt_run(&prog, &opts);
		pending_repro.prog = NULL;
		kvt_prog_free(&prog);
		if (pct_depth) {
			struct kvt_run_result res;

			/* K for the next run: what this one took (the range PCT draws from). */
			kvt_run_last(&res);
			pct_last_steps = res.pct_steps ? res.pct_steps : 1;
		}
		if (rc != 0) {
			violations++;
			break;
		}
		if (now_s() - last_print >= 1.0) {
			last_print = now_s();
			printf("kvtorture sim: %" PRIu64 " runs, %.0f runs/s\n", run + 1,
			       (double)(run + 1) / (last_print - start));
			fflush(stdout);
		}
	}
	printf("kvtorture sim: seed %" PRIu64 ": %" PRIu64 " runs in %.1f s (%.0f runs/s), "
	       "%" PRIu64 " violation(s)\n", seed, run, now_s() - start,
	       (double)run / (now_s() - start + 1e-9), violations);
	return violations ? EXIT_VIOLATION : 0;
}

/* ---- replay ---------------------------------------------------------------- */

static const char replay_help[] =
	"usage: kvtorture replay [-v] FILE|DIR...\n"
	"Run each reproducer (text or binary; a folder stands for its files) in the\n"
	"simulation.  Prints the violated invariant and the trace; -v prints every op\n"
	"and the whole trace.  Exit 0 when all pass, 1 on a violation, 2 on a file\n"
	"that cannot be read or parsed (the message names FILE:LINE).\n";

static int replay_one(const char *path, bool verbose)
{
	struct kvt_prog prog;
	struct kvt_err err;
	struct kvt_run_opts opts;
	struct kvt_run_result res;
	char repro[4200];
	int rc;

	if (kvt_prog_load(path, &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_USAGE;
	}
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	opts.trace_fd = verbose ? 1 : -1;
	snprintf(repro, sizeof(repro), "%s replay %s", self_name(), path);
	opts.repro = repro;
	rc = kvt_run(&prog, &opts);
	kvt_run_last(&res);
	kvt_prog_free(&prog);
	if (rc == 0) {
		printf("%s: pass (%zu ops, trace %016" PRIx64 ")\n", path, res.ops_run, res.trace_hash);
		return 0;
	}
	if (rc == 2) {
		fprintf(stderr, "%s: the implementation refused this configuration\n", path);
		return EXIT_USAGE;
	}
	printf("%s: VIOLATION %s\n", path, check_inv_name(res.violated));
	return EXIT_VIOLATION;
}

static int replay_path(const char *path, bool verbose)
{
	struct stat st;
	struct dirent **names;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_one(path, verbose);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		char child[4096];

		if (names[i]->d_name[0] != '.' &&
		    snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name) < (int)sizeof(child) &&
		    stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
			int r = replay_one(child, verbose);

			if (r > rc)
				rc = r;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	bool verbose = false;
	int rc = 0, files = 0, c;

	options_begin();
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(replay_help, stdout);
			return 0;
		case 'v':
			verbose = true;
			break;
		default:
			return option_error("replay", c, argv);
		}
	}
	for (int i = optind; i < argc; i++) {
		int r;

		files++;
		r = replay_path(argv[i], verbose);
		/* Bad input outranks a violation: it means the run was not complete. */
		if (r == EXIT_USAGE || (r == EXIT_VIOLATION && rc == 0))
			rc = r;
	}
	if (!files)
		return usage_error("replay", "needs a FILE or DIR%s", "");
	return rc;
}

/* ---- decode / encode -------------------------------------------------------- */

static int load_or_report(const char *cmd, int argc, char **argv, struct kvt_prog *prog,
			  const char *help)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kvt_err err;
	int c;

	options_begin();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return option_error(cmd, c, argv);
		fputs(help, stdout);
		return -1;
	}
	if (argc - optind != 1)
		return usage_error(cmd, "needs exactly one FILE%s", "");
	argv[1] = argv[optind];
	if (kvt_prog_load(argv[1], prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_decode(int argc, char **argv)
{
	static const char help[] = "usage: kvtorture decode FILE\n"
		"Print the text reproducer of FILE (binary fuzz input or text) to stdout.\n";
	struct kvt_prog prog;
	int rc = load_or_report("decode", argc, argv, &prog, help);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = kvt_prog_print(&prog, stdout) == 0 && fflush(stdout) == 0 ? 0 : EXIT_SETUP;
	kvt_prog_free(&prog);
	return rc;
}

static int cmd_encode(int argc, char **argv)
{
	static const char help[] = "usage: kvtorture encode FILE > input.bin\n"
		"Write the binary fuzz input of FILE (text or binary) to stdout.\n";
	struct kvt_prog prog;
	const char *why;
	uint8_t *bin;
	size_t len;
	int rc = load_or_report("encode", argc, argv, &prog, help);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (isatty(1)) {
		kvt_prog_free(&prog);
		return usage_error("encode", "refuses to write binary to a terminal%s", "");
	}
	if (!kvt_prog_encode(&prog, &bin, &len, &why)) {
		fprintf(stderr, "%s: cannot be encoded: %s\n", argv[1], why);
		kvt_prog_free(&prog);
		return EXIT_USAGE;
	}
	rc = fwrite(bin, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : EXIT_SETUP;
	free(bin);
	kvt_prog_free(&prog);
	return rc;
}

/* ---- minimize -------------------------------------------------------------- */

static enum check_inv run_quiet(const struct kvt_prog *prog)
{
	struct kvt_run_opts opts;
	struct kvt_run_result res;

	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	opts.quiet = true;
	if (kvt_run(prog, &opts) != 1)
		return INV_NR;
	kvt_run_last(&res);
	return res.violated;
}

/* Try @prog without ops [from, from+len); keep the cut if it still fails with @inv. */
static bool try_cut(struct kvt_prog *prog, size_t from, size_t len, enum check_inv inv)
{
	struct kvt_prog cand = *prog;
	struct kvt_op *ops = malloc((prog->nr - len + 1) * sizeof(*ops));

	if (!ops) {
		fprintf(stderr, "kvtorture minimize: out of memory\n");
		exit(EXIT_SETUP);
	}
	memcpy(ops, prog->ops, from * sizeof(*ops));
	memcpy(ops + from, prog->ops + from + len, (prog->nr - from - len) * sizeof(*ops));
	cand.ops = ops;
	cand.nr = prog->nr - len;
	if (run_quiet(&cand) == inv) {
		free(prog->ops);
		prog->ops = ops;
		prog->nr = cand.nr;
		return true;
	}
	free(ops);
	return false;
}

static int cmd_minimize(int argc, char **argv)
{
	static const char help[] =
		"usage: kvtorture minimize FILE [-o OUT]\n"
		"Shrink a failing reproducer while it still fails with the same invariant,\n"
		"and write the result as text to OUT (default FILE.min.kvt).\n";
	const char *in = NULL, *out = NULL;
	char outbuf[4096];
	struct kvt_prog prog;
	struct kvt_err err;
	enum check_inv inv;
	size_t before;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	options_begin();
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return 0;
		case 'o':
			out = optarg;
			break;
		default:
			return option_error("minimize", c, argv);
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind < argc)
		return usage_error("minimize", "takes one FILE, got also '%s'", argv[optind]);
	if (!in)
		return usage_error("minimize", "needs a FILE%s", "");
	if (!out) {
		snprintf(outbuf, sizeof(outbuf), "%s.min.kvt", in);
		out = outbuf;
	}
	if (kvt_prog_load(in, &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_USAGE;
	}
	inv = run_quiet(&prog);
	if (inv == INV_NR) {
		fprintf(stderr, "%s: passes: nothing to minimize\n", in);
		kvt_prog_free(&prog);
		return EXIT_USAGE;
	}
	before = prog.nr;
	/* Delta debugging: cut ever smaller chunks until no single op can go. */
	for (size_t chunk = prog.nr / 2; chunk >= 1; chunk /= 2) {
		bool progress = true;

		while (progress) {
			progress = false;
			for (size_t from = 0; from + chunk <= prog.nr;) {
				if (try_cut(&prog, from, chunk, inv))
					progress = true;
				else
					from += chunk;
			}
		}
		if (chunk == 1)
			break;
	}
	if (write_prog_atomic(&prog, out) != 0) {
		fprintf(stderr, "kvtorture minimize: cannot write %s: %s\n", out, strerror(errno));
		kvt_prog_free(&prog);
		return EXIT_SETUP;
	}
	printf("%s: %s, %zu -> %zu ops, written to %s\n", in, check_inv_name(inv), before,
	       prog.nr, out);
	kvt_prog_free(&prog);
	return 0;
}

/* ---- stress ---------------------------------------------------------------- */

/*
 * The stress runner links the posix environment, the benchmarks the timing
 * environment, this program the simulation: run the program @rel that was
 * built beside this one, with the same arguments.  The environment variable
 * @env overrides where it is.
 */
static int run_sibling(const char *cmd, const char *env, const char *rel, char **argv)
{
	char path[4200];
	const char *over = getenv(env);

	if (over && *over) {
		snprintf(path, sizeof(path), "%s", over);
	} else if (!kvt_sibling_path(rel, path, sizeof(path))) {
		fprintf(stderr, "kvtorture %s: cannot find %s beside myself: %s\n", cmd, rel,
			strerror(errno));
		return EXIT_SETUP;
	}
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "kvtorture %s: cannot run %s: %s\n", cmd, path, strerror(errno));
	return EXIT_SETUP;
}

static int cmd_stress(int argc, char **argv)
{
	(void)argc;
	return run_sibling("stress", "KVT_STRESS", kvt_cli->stress_program, argv);
}

static int cmd_bench(int argc, char **argv)
{
	(void)argc;
	return run_sibling("bench", "KVT_BENCH", kvt_cli->bench_program, argv);
}

/* ---- implementation selection ------------------------------------------------ */

/*
 * --impl reference|kernel, anywhere in the arguments, is taken out of them.
 * Asking for the implementation this program links goes on here; asking for
 * the kernel's runs its variant, built beside this program when meson was
 * given -Dkernel_src (its variant's kernel_program), with the remaining arguments, as
 * `stress` runs the posix program.  Returns 0 to go on, else an exit code
 * (77 when the kernel variant was not built: nothing to run).
 */
static int select_impl(int *argcp, char **argv)
{
	const char *want = NULL;
	int argc = *argcp, kept = 0;

	for (int i = 0; i < argc; i++) {
		if (i > 0 && !strcmp(argv[i], "--impl")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --impl needs reference or kernel\n", prog_name);
				return EXIT_USAGE;
			}
			want = argv[++i];
		} else if (i > 0 && !strncmp(argv[i], "--impl=", 7)) {
			want = argv[i] + 7;
		} else {
			argv[kept++] = argv[i];
		}
	}
	argv[kept] = NULL;
	*argcp = kept;
	if (!want || !strcmp(want, kvt_cli->impl))
		return 0;
	if (strcmp(want, "reference") && strcmp(want, "kernel")) {
		fprintf(stderr, "%s: --impl '%s': not reference or kernel\n", prog_name, want);
		return EXIT_USAGE;
	}
	if (!strcmp(want, "kernel") && kvt_cli->kernel_program) {
		char path[4200];

		if (!kvt_sibling_path(kvt_cli->kernel_program, path, sizeof(path))) {
			fprintf(stderr, "%s: cannot find %s beside myself: %s\n", prog_name,
				kvt_cli->kernel_program, strerror(errno));
			return EXIT_SETUP;
		}
		argv[0] = path;
		execv(path, argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog_name, path, strerror(errno));
		return EXIT_SETUP;
	}
	fprintf(stderr, "%s: --impl %s: this build has no %s implementation%s\n", prog_name, want,
		want, strcmp(want, "kernel") ? "" : " (configure meson with -Dkernel_src=PATH)");
	return 77;
}

/* ---- main ------------------------------------------------------------------ */

/* The help text; the stress and bench lines only where those programs were built. */
static void print_help(FILE *f)
{
	fputs("usage: kvtorture COMMAND [OPTIONS]\n"
	      "  sim        seeded random exploration of the simulation\n"
	      "  replay     run reproducers (text or binary), print the violation and trace\n"
	      "  decode     binary fuzz input -> text reproducer\n"
	      "  encode     text reproducer -> binary fuzz input\n"
	      "  minimize   shrink a failing reproducer\n"
	      "  bugs       the historical-bug catalogue and its reproducers\n", f);
	if (kvt_cli->stress_program)
		fputs("  stress     real-thread stress run with the flooders\n", f);
	if (kvt_cli->bench_program)
		fputs("  bench      timing runs: kvfree_rcu against call_rcu, defer_rcu, free...\n", f);
	fputs("'kvtorture COMMAND --help' describes each.  --impl reference|kernel picks the\n"
	      "implementation (kernel: the kvfree_rcu section of the tree given to meson as\n"
	      "-Dkernel_src).  Exit codes: 0 pass, 1 invariant violated, 2 bad usage or\n"
	      "input, 77 skipped, 99 set-up error.\n", f);
}

int kvt_cli_main(const struct kvt_cli_variant *variant, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "sim", cmd_sim },
		{ "replay", cmd_replay },
		{ "decode", cmd_decode },
		{ "encode", cmd_encode },
		{ "minimize", cmd_minimize },
		{ "bugs", kvt_cmd_bugs },
		{ "stress", cmd_stress },
		{ "bench", cmd_bench },
	};
	int rc;

	kvt_cli = variant;
	rc = select_impl(&argc, argv);
	if (rc)
		return rc;
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_help(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* stress and bench exist where their programs were built. */
		if ((cmds[i].fn == cmd_stress && !kvt_cli->stress_program) ||
		    (cmds[i].fn == cmd_bench && !kvt_cli->bench_program))
			break;
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog_name, argv[1], prog_name);
	return EXIT_USAGE;
}
