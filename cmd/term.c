/*
 * The terminal: its width, for tables that fit it.
 */
#include "cmd.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

size_t term_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (!isatty(1))
		return 0;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols && atoi(cols) > 0)
		return (size_t)atoi(cols);
	return 80;
}

const char *term_text(const char *s)
{
	static struct mlp_buf bufs[4];
	static unsigned next;
	struct mlp_buf *b = &bufs[next++ % 4];

	mlp_buf_reset(b);
	mlp_text_sanitizes(b, s, 0);
	return b->buf ? b->buf : "";
}

void die_query(const char *expr)
{
	size_t col = mlp_query_error_column();

	fprintf(stderr, "error: %s\n", mlp_error_message());
	fprintf(stderr, "    %s\n    %*s^\n", expr, (int)col, "");
	exit(129);
}
