/*
 * Start-up cost.  git-mlp uses libgit2 for objects, refs and
 * configuration only: pushes and fetches go through the git executable,
 * so libgit2's HTTPS and SSH transports never run in it.  Yet
 * git_libgit2_init() of Debian's libgit2 1.5 prepares both on every
 * command.  The git-mlp executable (not the library in lib/) replaces
 * three steps of that preparation:
 *
 *   - mbedTLS's CA loader: libgit2 parses every certificate in
 *     /etc/ssl/certs (about 8 ms).  The replacement loads nothing and
 *     says so with mbedTLS's file I/O error; libgit2 treats that as "no
 *     default certificates", so an HTTPS connection it might make would
 *     fail verification rather than go unchecked.
 *   - mbedTLS's HAVEGE entropy source, which fills a 32 KB state by
 *     timing loops when the generator is seeded (0.15-0.3 ms here).  The
 *     replacement takes its bytes from getrandom(), the kernel's
 *     generator, which mbedTLS polls as well (HAVEGE left mbedTLS 3).
 *   - libssh2_init(), which initialises OpenSSL (0.3 ms).  Only the link
 *     against the shared libraries calls it (the static link has no SSH
 *     transport: cmd/static/transports.c), and there libssh2's own
 *     _libssh2_init_if_needed() reaches this no-op too, so libssh2's
 *     crypto is never initialised: an SSH connection made through
 *     libgit2 would fail.  git-mlp makes none.
 *
 * Linked against the shared libraries, the executable's definitions
 * interpose on the libraries'.  Linked against the static archives (the
 * Makefile's STATIC_DEPS), those definitions give way to the archives'
 * (they are weak, so the two do not clash) and the linker's --wrap=
 * options send libgit2's and mbedTLS's calls to the __wrap_ ones instead.
 */
#include <stddef.h>
#include <sys/random.h>
#include <errno.h>

int mbedtls_x509_crt_parse_file(void *chain, const char *path) __attribute__((weak));
int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path);
void mbedtls_havege_init(void *hs) __attribute__((weak));
void __wrap_mbedtls_havege_init(void *hs);
int mbedtls_havege_poll(void *data, unsigned char *output, size_t len, size_t *olen) __attribute__((weak));
int __wrap_mbedtls_havege_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int libssh2_init(int flags) __attribute__((weak));
int __wrap_libssh2_init(int flags);

#define MBEDTLS_ERR_X509_FILE_IO_ERROR (-0x2900)
#define MBEDTLS_ERR_ENTROPY_SOURCE_FAILED (-0x003C)

/*
 * Each replacement is one static function behind two names: the weak
 * definition and the __wrap_ one.  The __wrap_ one must not call the weak
 * name, which a static link may resolve to the archive's definition.
 */
static int no_ca_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}

/* The HAVEGE state is never read: kernel_entropy() does not use it. */
static void no_havege(void *hs)
{
	(void)hs;
}

static int kernel_entropy(void *data, unsigned char *output, size_t len, size_t *olen)
{
	size_t got = 0;

	(void)data;
	while (got < len) {
		ssize_t n = getrandom(output + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
		got += (size_t)n;
	}
	*olen = got;
	return 0;
}

static int ssh_lazy_init(int flags)
{
	(void)flags;
	return 0;
}

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	return no_ca_file(chain, path);
}

int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	return no_ca_file(chain, path);
}

void mbedtls_havege_init(void *hs)
{
	no_havege(hs);
}

void __wrap_mbedtls_havege_init(void *hs)
{
	no_havege(hs);
}

int mbedtls_havege_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	return kernel_entropy(data, output, len, olen);
}

int __wrap_mbedtls_havege_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	return kernel_entropy(data, output, len, olen);
}

int libssh2_init(int flags)
{
	return ssh_lazy_init(flags);
}

int __wrap_libssh2_init(int flags)
{
	return ssh_lazy_init(flags);
}
