/* sockshim: the settings of this process, from the environment.
 *
 * The command validated them already; a program started with LD_PRELOAD
 * by hand gets the same checks here, and a bad value ends the process
 * before main() with status 2: a run never goes on half-configured.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "internal.h"
#include "real.h"

struct ss_config ss_config = {
    .format = SS_FORMAT_TEXT,
    .strsize = SS_STRSIZE_DEFAULT,
    .traced = SS_OPMASK_DEFAULT,
    .output_fd = {.fd = -1},
};

static void refuse(const char *var, const char *msg)
{
    const char *parts[] = {"sockshim: ", var, ": ", msg, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        ssize_t w = ss_real.write(2, parts[i], strlen(parts[i]));
        (void)w;
    }
    ss_real._exit(2);
}

/* With %p, when the run started: the command's, or this process's when it
 * is the first of the run, handed on to the programs it starts. Called
 * before main(), while the process has one thread: setenv is safe. */
static void load_run_start(void)
{
    const char *v = getenv(SS_ENV_RUN_START);
    if (v != NULL && *v != '\0') {
        if (ss_parse_u64(v, UINT64_MAX, &ss_config.run_start_ns) != 0)
            refuse(SS_ENV_RUN_START, "expected a whole number of nanoseconds");
        return;
    }
    ss_config.run_start_ns = ss_output_clock_ns();
    char buf[24];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf);
    ss_out_u64(&o, ss_config.run_start_ns);
    ss_out_char(&o, '\0');
    setenv(SS_ENV_RUN_START, buf, 1);
}

void ss_config_need_run_start(void)
{
    if (ss_config.run_start_ns == 0)
        load_run_start();
}

void ss_config_load(void)
{
    struct ss_parse_error err;
    const char *v;

    if ((v = getenv(SS_ENV_FORMAT)) != NULL && *v != '\0' &&
        ss_parse_format(v, &ss_config.format, &err) != 0)
        refuse(SS_ENV_FORMAT, err.msg);
    if ((v = getenv(SS_ENV_STRSIZE)) != NULL && *v != '\0' &&
        ss_parse_strsize(v, &ss_config.strsize, &err) != 0)
        refuse(SS_ENV_STRSIZE, err.msg);
    if ((v = getenv(SS_ENV_TRACE)) != NULL && *v != '\0') {
        ss_opmask named;
        if (ss_parse_trace(v, &ss_config.traced, &named, &err) != 0)
            refuse(SS_ENV_TRACE, err.msg);
        ss_config.fork_named = ss_op_in(SS_OP_fork, named);
    }
    if ((v = getenv(SS_ENV_OUTPUT)) != NULL && *v != '\0') {
        if (ss_parse_output(v, &err) != 0)
            refuse(SS_ENV_OUTPUT, err.msg);
        if (strlen(v) >= sizeof ss_config.output)
            refuse(SS_ENV_OUTPUT, "path too long");
        strcpy(ss_config.output, v);
        ss_config.output_per_pid = ss_output_has_pid(v);
        if (ss_config.output_per_pid)
            load_run_start();
    }
    if ((v = getenv(SS_ENV_SUMMARY)) != NULL && *v != '\0' &&
        ss_parse_summary(v, &ss_config.summary, &err) != 0)
        refuse(SS_ENV_SUMMARY, err.msg);
    if ((v = getenv(SS_ENV_CALLS)) != NULL && *v != '\0' &&
        ss_parse_flag(v, &ss_config.every_call, &err) != 0)
        refuse(SS_ENV_CALLS, err.msg);
    if ((v = getenv(SS_ENV_PCAP)) != NULL && *v != '\0' &&
        ss_parse_flag(v, &ss_config.capture, &err) != 0)
        refuse(SS_ENV_PCAP, err.msg);
    if ((v = getenv(SS_ENV_ALL_PROCESSES)) != NULL && *v != '\0' &&
        ss_parse_flag(v, &ss_config.all_processes, &err) != 0)
        refuse(SS_ENV_ALL_PROCESSES, err.msg);
    if ((v = getenv(SS_ENV_RENDER_IN_PROCESS)) != NULL && *v != '\0' &&
        ss_parse_flag(v, &ss_config.render_in_process, &err) != 0)
        refuse(SS_ENV_RENDER_IN_PROCESS, err.msg);
    if ((v = getenv(SS_ENV_OUTPUT_FD)) != NULL && *v != '\0' &&
        ss_parse_fd_ref(v, &ss_config.output_fd, &err) != 0)
        refuse(SS_ENV_OUTPUT_FD, err.msg);
    if (ss_config.format == SS_FORMAT_RAW && ss_config.output[0] == '\0')
        refuse(SS_ENV_FORMAT, "raw writes a record file: name it with " SS_ENV_OUTPUT);
}
