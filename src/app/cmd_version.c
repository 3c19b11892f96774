/* cmd_version.c -- `meterflow version` (and `meterflow --version`): prints MF_VERSION.
 * Called by main.c. Thread: main. */
#include <stdio.h>

#include "app/app.h"

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("meterflow %s\n", MF_VERSION);
    return 0;
}
