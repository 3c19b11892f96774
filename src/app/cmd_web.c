/* cmd_web.c -- `meterflow web`: placeholder until its module lands (owned by that module's
 * engineer; replace this file). */
#include <stdio.h>

#include "app/app.h"

int cmd_web(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "meterflow web: not built yet in this version\n");
    return 2;
}
