/* cmd_version.c -- `meterflow version`. */
#include <stdio.h>

#include "app/app.h"

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("meterflow %s\n", MF_VERSION);
    return 0;
}
