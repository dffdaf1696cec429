/* ttypong entry point. */
#include <stdio.h>

int main(void)
{
	fputs("ttypong: no commands are available yet\n", stderr);
	return 2;
}
