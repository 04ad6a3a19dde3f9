/*
 * For the static link only (the Makefile's STATIC_DEPS): libgit2's SSH
 * transport and its "Negotiate" (SPNEGO) HTTP authentication, as libgit2
 * defines them when built without SSH and without GSSAPI.  git-mlp never
 * uses libgit2's network transports (pushes and fetches go through the
 * git executable), yet libgit2's archive brings libssh2 and OpenSSL's
 * libcrypto with its SSH transport, and Kerberos (which Debian ships
 * without archives) with its Negotiate authentication.  Defined here,
 * these functions keep the archive's ssh.c.o and auth_negotiate.c.o out
 * of the link, and those libraries with them.  Should libgit2 ever be
 * asked for an SSH remote, it fails as a libgit2 without SSH does; a
 * server that offers only Negotiate authentication is refused.
 */
#include <git2.h>
#include <git2/sys/transport.h>

int git_transport_ssh_global_init(void);
/* internal to libgit2: the context and URL types are opaque here */
struct git_http_auth_context;
struct git_net_url;
int git_http_auth_negotiate(struct git_http_auth_context **out, const struct git_net_url *url);

static int no_ssh(void)
{
	git_error_set_str(GIT_ERROR_INVALID,
			  "cannot create SSH transport. Library was built without SSH support");
	return -1;
}

int git_transport_ssh_global_init(void)
{
	return 0;
}

int git_smart_subtransport_ssh(git_smart_subtransport **out, git_transport *owner, void *param)
{
	(void)owner;
	(void)param;
	*out = NULL;
	return no_ssh();
}

int git_transport_ssh_with_paths(git_transport **out, git_remote *owner, void *payload)
{
	(void)owner;
	(void)payload;
	*out = NULL;
	return no_ssh();
}

int git_http_auth_negotiate(struct git_http_auth_context **out, const struct git_net_url *url)
{
	(void)url;
	*out = NULL;
	git_error_set_str(GIT_ERROR_NET, "Negotiate authentication is not supported by git-mlp");
	return -1;
}
