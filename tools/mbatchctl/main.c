// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl: configure mbatch queues and sessions, submit batches, collect
 * results. Subcommand table and global options.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbatchctl.h"
#include "json.h"

const char *mb_cmdname;

static int cmd_help(int argc, char **argv);

static const struct mb_cmd commands[] = {
	{ "version", cmd_version,
	  "version                                  versions, features, limits" },
	{ "queue", cmd_queue,
	  "queue add NAME dev PATH [depth N] [max-cmds N] [max-bytes SIZE]\n"
	  "            [journal internal|PATH [size SIZE]] [--exist-ok]\n"
	  "  queue del NAME\n"
	  "  queue show [NAME]\n"
	  "  queue journal NAME [records N|all]     its journal as its device holds it" },
	{ "stats", cmd_stats,
	  "stats [QUEUE] [session S]                queue or session counters" },
	{ "session", cmd_session,
	  "session open QUEUE[@PEER] [owned]        prints ID:HANDLE\n"
	  "  session close S\n"
	  "  session show [S] [queue QUEUE[@PEER]]" },
	{ "submit", cmd_submit,
	  "submit S [batch-id N] MSG...|-f FILE|-   submit messages (script lines)" },
	{ "checkpoint", cmd_checkpoint,
	  "checkpoint S [durable] [continue]" },
	{ "resume", cmd_resume,
	  "resume S                                 restart a halted session" },
	{ "batch", cmd_batch,
	  "batch cancel S BATCH" },
	{ "collect", cmd_collect,
	  "collect S [wait-min N] [wait-epoch E] [timeout MS] [max N]\n"
	  "          [ack SEQ|no-ack] [data]" },
	{ "run", cmd_run,
	  "run QUEUE[@PEER] [-f FILE|-] [-n] [data] run a batch script in an owned session\n"
	  "      [--inline-max SIZE]                 payloads of SIZE or more through a region" },
	{ "peer", cmd_peer,
	  "peer add NAME [ADDR:PORT] --psk-file F [keepalive MS] [link-timeout MS]\n"
	  "           [in-bytes SIZE] [in-cmds N]\n"
	  "  peer del NAME\n"
	  "  peer show [NAME]" },
	{ "serve", cmd_serve,
	  "serve [--listen ADDR:PORT|none] [--name NODE] [--digests LIST] [--once]\n"
	  "                                           make links to peers (foreground)" },
	{ "region", cmd_region,
	  "region list [ID]                         registered memory regions" },
	{ "journal", cmd_journal,
	  "journal show PATH [records N|all]        a journal on a device or image file" },
	{ "monitor", cmd_monitor,
	  "monitor [--count N] [--timeout MS]       print events, one per line" },
	{ "help", cmd_help,
	  "help [COMMAND]                           this text, or one command's" },
};

void mb_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mbatchctl: ");
	if (mb_cmdname)
		fprintf(stderr, "%s: ", mb_cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mb_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mb_err("%s", msg);
	fprintf(stderr, "Try 'mbatchctl help'.\n");
	mb_json_error(MB_EXIT_USAGE, 0, msg, NULL);
	return MB_EXIT_USAGE;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: mbatchctl [--json] COMMAND [ARGS]\n"
		"\n"
		"Options:\n"
		"  -j, --json     print one JSON document on stdout\n"
		"  -h, --help     this text\n"
		"  -V, --version  print the tool version only\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f,
		"\n"
		"S is a session: ID, or ID:HANDLE (hex) as 'session open' prints it.\n"
		"Numbers are decimal or 0x hex; sizes take K, M, G, T (x1024), also\n"
		"as Ki or KiB. Long options take their value as --opt VALUE or\n"
		"--opt=VALUE. 'mbatchctl help COMMAND' or 'mbatchctl COMMAND --help'\n"
		"shows one command.\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  the kernel refused a request (errno and its message printed)\n"
		"  2  usage or script error\n"
		"  3  the mbatch module is not loaded\n"
		"  4  run, collect: one or more commands completed with an error\n"
		"  5  other local error\n"
		"  6  monitor: the timeout expired\n"
		"  7  serve --once: the link was refused or failed\n"
		"\n"
		"See mbatchctl(8).\n");
}

static const struct mb_cmd *find_command(const char *name)
{
	size_t c;

	for (c = 0; c < ARRAY_SIZE(commands); c++)
		if (!strcmp(name, commands[c].name))
			return &commands[c];
	return NULL;
}

static void command_usage(const struct mb_cmd *cmd)
{
	printf("Usage: mbatchctl [--json] %s\n\nSee mbatchctl(8).\n",
	       cmd->help);
}

static int cmd_help(int argc, char **argv)
{
	const struct mb_cmd *cmd;

	if (argc > 2)
		return mb_usage("help [COMMAND]");
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return mb_usage("unknown command '%s'", argv[1]);
	command_usage(cmd);
	return 0;
}

/* "CMD --help", "CMD SUB --help" (and -h): that command's help. */
static bool wants_help(int argc, char **argv)
{
	int k;

	for (k = 1; k < argc && k <= 2; k++)
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h"))
			return true;
	return false;
}

/*
 * Long options of every command also as "--opt=VALUE": split into two
 * words, up to a "--". Returns a new argv (argc updated) or NULL.
 */
static char **split_long_opts(int *argc, char **argv)
{
	char **out = calloc((size_t)*argc * 2 + 1, sizeof(*out));
	int i, n = 0;
	bool rest = false;

	if (!out)
		return NULL;
	for (i = 0; i < *argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!strcmp(argv[i], "--"))
			rest = true;
		if (!rest && !strncmp(argv[i], "--", 2) && argv[i][2] && eq) {
			*eq = 0;
			out[n++] = argv[i];
			out[n++] = eq + 1;
		} else {
			out[n++] = argv[i];
		}
	}
	*argc = n;
	return out;
}

/* For groups like "queue add": dispatch on argv[1]. */
int mb_sub_dispatch(const struct mb_cmd *tab, size_t n, const char *group,
		    int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return mb_usage("missing %s subcommand", group);
	for (i = 0; i < n; i++)
		if (!strcmp(argv[1], tab[i].name))
			return tab[i].fn(argc - 1, argv + 1);
	return mb_usage("unknown %s subcommand '%s'", group, argv[1]);
}

static int mbatchctl(int argc, char **argv)
{
	const struct mb_cmd *cmd;
	int i = 1, rc, jrc;
	size_t c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			mb_json = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") ||
			   !strcmp(argv[i], "--version")) {
			printf("mbatchctl %s\n", MBATCHCTL_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			rc = mb_usage("unknown option '%s'", argv[i]);
			goto out;
		}
	}
	/* "--json" is also taken after the command ("peer show --json"). */
	for (c = i; c < (size_t)argc; c++) {
		if (!strcmp(argv[c], "--"))
			break;
		if (!strcmp(argv[c], "--json") || !strcmp(argv[c], "-j")) {
			mb_json = true;
			memmove(&argv[c], &argv[c + 1],
				(argc - c) * sizeof(argv[0]));
			argc--;
			c--;
		}
	}
	if (i >= argc) {
		usage(stderr);
		mb_json_error(MB_EXIT_USAGE, 0, "missing command", NULL);
		rc = MB_EXIT_USAGE;
		goto out;
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		rc = mb_usage("unknown command '%s'", argv[i]);
		goto out;
	}
	mb_cmdname = cmd->name;
	if (wants_help(argc - i, argv + i)) {
		command_usage(cmd);
		rc = 0;
		goto out;
	}
	rc = cmd->fn(argc - i, argv + i);
out:
	jrc = mb_json_flush();
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mbatchctl: write error on stdout\n");
		return MB_EXIT_LOCAL;
	}
	return rc ? rc : jrc;
}

int main(int argc, char **argv)
{
	char **args = split_long_opts(&argc, argv);
	int rc;

	if (!args) {
		fprintf(stderr, "mbatchctl: out of memory\n");
		return MB_EXIT_LOCAL;
	}
	rc = mbatchctl(argc, args);
	free(args);
	return rc;
}
