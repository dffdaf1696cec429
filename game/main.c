/* ttypong: Pong in a terminal against a neural network that learns as you play. */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
