/* cli.h - subcommands of the photo3d-gpu program and the small option scanner they share.
 *
 * Each subcommand is `int p3d_cmd_NAME(int argc, char **argv)` (argv[0] = the subcommand name) in
 * host/cmd_NAME.c and returns a process exit code: 0 done, 2 usage error, 3 some inputs failed,
 * 1 any other failure. Only implemented subcommands are registered in main.c's table. */
#ifndef P3D_CLI_H
#define P3D_CLI_H

#include "core/p3d_common.h"
#include "io/depth_io.h"

#define P3D_EXIT_OK 0
#define P3D_EXIT_FAIL 1
#define P3D_EXIT_USAGE 2
#define P3D_EXIT_PARTIAL 3

/* Iterates over argv[1..]: options (--name, --name=value, --name value, -x) and positionals.
 *
 *   p3d_args it; p3d_args_init(&it, argc, argv);
 *   while (p3d_args_next(&it)) {
 *       if (p3d_args_is(&it, "-o", "--output")) { out = p3d_args_value(&it); if (!out) return usage(); }
 *       else if (it.positional) add_input(it.arg);
 *       else return p3d_args_unknown(&it);   // prints "unknown option" and returns 2
 *   }
 */
typedef struct p3d_args {
    int argc;
    char **argv;
    int i;
    const char *arg;        /* current token (option name without "=value") */
    const char *inline_val; /* value after '=' if any */
    int positional;         /* current token is not an option */
    int only_positional;    /* after "--" */
    char name_buf[128];
} p3d_args;

void p3d_args_init(p3d_args *it, int argc, char **argv);
int p3d_args_next(p3d_args *it);
int p3d_args_is(const p3d_args *it, const char *short_name, const char *long_name);
/* The option's value (inline or next token), or NULL after printing "option needs a value". */
const char *p3d_args_value(p3d_args *it);
/* Prints "photo3d-gpu CMD: unknown option X (see photo3d-gpu CMD --help)", returns P3D_EXIT_USAGE. */
int p3d_args_unknown(const p3d_args *it);
/* Prints the message with the subcommand's name and returns P3D_EXIT_USAGE. */
int p3d_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "photo3d-gpu: <p3d_last_error()>" (the file and the cause) and returns P3D_EXIT_FAIL. */
int p3d_report_failure(p3d_status st);

/* Option values shared by render and view. "WxH" with each side in 2..16384; "T,L,B,R" crop border
 * fractions >= 0 with T + B and L + R below 0.9. P3D_ERR_INVALID_ARG with a message naming the option. */
p3d_status p3d_parse_size(const char *text, int32_t *w, int32_t *h);
/* The depth-map options of mesh, prepare and run: --depth FILE, --metric, --depth-scale S. Returns 1
 * when the current option is one of them (*path or *o updated; on a bad value the problem is printed
 * and *rc = P3D_EXIT_USAGE), 0 otherwise. */
int p3d_args_depth(p3d_args *it, const char *cmd, const char **path, p3d_depth_opts *o, int *rc);
p3d_status p3d_parse_crop(const char *text, float crop[4]);

int p3d_cmd_info(int argc, char **argv);
int p3d_cmd_prepare(int argc, char **argv);
int p3d_cmd_depth(int argc, char **argv);
int p3d_cmd_net(int argc, char **argv);
int p3d_cmd_mesh(int argc, char **argv);
int p3d_cmd_run(int argc, char **argv);
int p3d_cmd_render(int argc, char **argv);
int p3d_cmd_export(int argc, char **argv);
int p3d_cmd_models(int argc, char **argv);
int p3d_cmd_inputs(int argc, char **argv);
int p3d_cmd_view(int argc, char **argv);

#endif
