/*
 * Start-up cost: git_libgit2_init() of Debian's libgit2 1.5 (built with
 * mbedTLS) parses every CA certificate in /etc/ssl/certs before any
 * command can run, about 8 ms of a budget of 10.  git-mlp never uses
 * libgit2's HTTPS transport (the git executable carries pushes and
 * fetches), so the git-mlp executable replaces mbedTLS's loader: it loads
 * nothing and says so with mbedTLS's file I/O error.  libgit2 treats that
 * as "no default certificates", and any HTTPS connection it might make
 * would fail verification rather than go unchecked.  The library (lib/)
 * is unaffected.
 *
 * Linked against the shared libraries, the executable's definition
 * interposes on libmbedx509's.  Linked against the static archives (the
 * Makefile's STATIC_DEPS), that definition gives way to the archive's
 * (it is weak, so the two do not clash) and the linker's
 * --wrap=mbedtls_x509_crt_parse_file sends libgit2's calls to the
 * __wrap_ one instead.
 */
int mbedtls_x509_crt_parse_file(void *chain, const char *path) __attribute__((weak));
int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path);

#define MBEDTLS_ERR_X509_FILE_IO_ERROR (-0x2900)

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}

int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}
