/*
 * The GSSAPI functions libgit2 calls, for the static link only (the
 * Makefile's STATIC_DEPS): Debian ships the Kerberos libraries without
 * archives, and loading the seven of them took 0.6 ms of every command's
 * start.  libgit2 calls these for "Negotiate" (SPNEGO) authentication of
 * its HTTP transport, which git-mlp never uses: pushes and fetches go
 * through the git executable.  Those that would start or describe a
 * context fail with GSS_S_FAILURE and no minor status, so libgit2 would
 * offer no Negotiate authentication; those that release what they made
 * (nothing) succeed.
 *
 * The declarations follow RFC 2744 (OM_uint32 is a 32-bit unsigned
 * integer); no Kerberos header is needed.
 */
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef struct mlp_gss_oid {
	OM_uint32 length;
	void *elements;
} *gss_OID;

#define GSS_S_COMPLETE ((OM_uint32)0)
#define GSS_S_FAILURE ((OM_uint32)13 << 16)

/* A name type the caller passes back to gss_import_name(), nothing more. */
static struct mlp_gss_oid hostbased_service;
gss_OID GSS_C_NT_HOSTBASED_SERVICE = &hostbased_service;

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, void *ctx, void *token);
OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int type, gss_OID mech,
			     OM_uint32 *more, void *out);
OM_uint32 gss_import_name(OM_uint32 *minor, const void *in, gss_OID type, void *out);
OM_uint32 gss_indicate_mechs(OM_uint32 *minor, void *mechs);
OM_uint32 gss_init_sec_context(OM_uint32 *minor, void *cred, void *ctx, void *target, gss_OID mech,
			       OM_uint32 flags, OM_uint32 time, void *bindings, void *in,
			       void *actual_mech, void *out, OM_uint32 *ret_flags, OM_uint32 *ret_time);
OM_uint32 gss_release_buffer(OM_uint32 *minor, void *buf);
OM_uint32 gss_release_name(OM_uint32 *minor, void *name);
OM_uint32 gss_release_oid_set(OM_uint32 *minor, void *set);

static OM_uint32 status(OM_uint32 *minor, OM_uint32 major)
{
	if (minor)
		*minor = 0;
	return major;
}

static OM_uint32 fail(OM_uint32 *minor)
{
	return status(minor, GSS_S_FAILURE);
}

static OM_uint32 nothing_to_release(OM_uint32 *minor)
{
	return status(minor, GSS_S_COMPLETE);
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, void *ctx, void *token)
{
	(void)ctx;
	(void)token;
	return nothing_to_release(minor);
}

OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int type, gss_OID mech,
			     OM_uint32 *more, void *out)
{
	(void)status;
	(void)type;
	(void)mech;
	(void)out;
	if (more)
		*more = 0;
	return fail(minor);
}

OM_uint32 gss_import_name(OM_uint32 *minor, const void *in, gss_OID type, void *out)
{
	(void)in;
	(void)type;
	(void)out;
	return fail(minor);
}

OM_uint32 gss_indicate_mechs(OM_uint32 *minor, void *mechs)
{
	(void)mechs;
	return fail(minor);
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, void *cred, void *ctx, void *target, gss_OID mech,
			       OM_uint32 flags, OM_uint32 time, void *bindings, void *in,
			       void *actual_mech, void *out, OM_uint32 *ret_flags, OM_uint32 *ret_time)
{
	(void)cred;
	(void)ctx;
	(void)target;
	(void)mech;
	(void)flags;
	(void)time;
	(void)bindings;
	(void)in;
	(void)actual_mech;
	(void)out;
	(void)ret_flags;
	(void)ret_time;
	return fail(minor);
}

OM_uint32 gss_release_buffer(OM_uint32 *minor, void *buf)
{
	(void)buf;
	return nothing_to_release(minor);
}

OM_uint32 gss_release_name(OM_uint32 *minor, void *name)
{
	(void)name;
	return nothing_to_release(minor);
}

OM_uint32 gss_release_oid_set(OM_uint32 *minor, void *set)
{
	(void)set;
	return nothing_to_release(minor);
}
