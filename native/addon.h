// What the addon's two surfaces share: unix_dgram.c (AF_UNIX datagrams, rtnetlink) defines these
// helpers and the module's init; tcp_join.c (two TCP connections joined in the kernel) adds its
// functions to the same exports.
#ifndef WIFIBOX_ADDON_H
#define WIFIBOX_ADDON_H

#include <stdbool.h>

#include <node_api.h>

/* The call's first `want` arguments into argv; false, with a TypeError thrown, when it has fewer. */
bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage);
napi_value make_string(napi_env env, const char *s);
/* An Error shaped like Node's system errors (.code, .errno, .syscall, .address); NULL if none can be made. */
napi_value make_uv_error(napi_env env, int uverr, const char *syscall, const char *address);
void throw_errno(napi_env env, int err, const char *syscall, const char *address);
/* No JS frame is below a libuv callback to rethrow a pending exception: it becomes an uncaught one. */
void rethrow_pending(napi_env env);

/* Adds join, joinInfo and joinClose (tcp_join.c) to the module's exports. */
napi_status tcp_join_define(napi_env env, napi_value exports);

#endif
