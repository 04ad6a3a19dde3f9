/*
 * Start-up cost: git_libgit2_init() of Debian's libgit2 1.5 (built with
 * mbedTLS) parses every CA certificate in /etc/ssl/certs before any
 * command can run, about 8 ms of a budget of 10.  git-mlp never uses
 * libgit2's HTTPS transport (the git executable carries pushes and
 * fetches), so this definition interposes on mbedTLS's loader for the
 * git-mlp executable only: it loads nothing and says so with mbedTLS's
 * file I/O error.  libgit2 treats that as "no default certificates", and
 * any HTTPS connection it might make would fail verification rather than
 * go unchecked.  The library (lib/) is unaffected.
 */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return -0x2900;	/* MBEDTLS_ERR_X509_FILE_IO_ERROR */
}
