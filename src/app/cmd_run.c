/* cmd_run.c -- `meterflow run`: placeholder until its module lands (owned by that module's
 * engineer; replace this file). */
#include <stdio.h>

#include "app/app.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "meterflow run: not built yet in this version\n");
    return 2;
}
