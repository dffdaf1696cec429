/* ttypong entry point. */
#include <stdio.h>
#include <string.h>

#include "lab.h"

int main(int argc, char **argv)
{
	/* TODO: the command-line module takes over this dispatch. */
	if (argc > 1 && strcmp(argv[1], "lab") == 0)
		return lab_cli(argc - 1, argv + 1);
	fputs("ttypong: no commands are available yet\n", stderr);
	return 2;
}
