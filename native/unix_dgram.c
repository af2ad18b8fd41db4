// AF_UNIX SOCK_DGRAM sockets for Node.js, which has none of its own.
//
// JS surface (wrapped by agents/common/unix-dgram.ts):
//   open(onMessage)          -> handle
//   bind(handle, path)       starts delivering datagrams to onMessage
//   send(handle, buf, dest)  non-blocking sendto; throws errno errors
//   close(handle)            idempotent, safe inside onMessage
//   handle.onerror(err)      set by the caller: libuv stopped polling the socket (an error it
//                            reported); the socket is closed right after
//   injectPollError(handle, errno)  for tests: what such a libuv error does
//   watchRoute(groups, onMessage) -> handle
//                            a NETLINK_ROUTE socket joined to the multicast `groups` (RTMGRP_*
//                            bits): the kernel's link and address events, each message as it
//                            comes, an empty Buffer when the kernel dropped some (ENOBUFS).
//                            Closed with close(handle). Lets an agent sleep until a link or an
//                            address changes instead of looking at /sys again and again.
//
// The module's init also adds tcp_join.c's functions (addon.h).
//
// Only node-api and libuv are used so the addon builds against any Node
// (glibc or musl) without C++ wrappers.

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "addon.h"

// Cap per wakeup so a flooding peer cannot starve the rest of the loop; the
// poll is level-triggered, so whatever is left is read on the next turn.
#define MAX_DATAGRAMS_PER_WAKEUP 256

typedef struct {
  napi_env env;
  int fd;                  // -1 once closed
  uv_poll_t *poll;         // non-NULL only while bound and open
  napi_ref self;           // weak, made strong while polling
  napi_async_context async;  // exists only while polling
  int dispatching;         // inside on_readable: defer async teardown
} dgram_socket;

// rtnetlink's address, as the kernel's ABI fixes it (linux/netlink.h): spelled out here, since
// the musl toolchain the package is built with has no kernel headers.
#define WIFIBOX_NETLINK_ROUTE 0
struct wifibox_sockaddr_nl {
  sa_family_t nl_family;  // AF_NETLINK
  unsigned short nl_pad;
  uint32_t nl_pid;        // 0: the kernel assigns one
  uint32_t nl_groups;     // the multicast groups joined
};

// Distinguishes our handles from any other wrapped object passed back in.
static const napi_type_tag SOCKET_TAG = {0x7769666962786467ULL,
                                         0x72616d736f636b31ULL};

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) return NULL;                                   \
  } while (0)

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);
    return false;
  }
  return true;
}

napi_value make_string(napi_env env, const char *s) {
  napi_value v = NULL;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

// An Error shaped like Node's own system errors: message "sendto ENOENT /path", .code, .errno
// (negative, libuv style), .syscall and, when there is one, .address. NULL if it cannot be made.
napi_value make_uv_error(napi_env env, int uverr, const char *syscall,
                                const char *address) {
  const char *code = uv_err_name(uverr);
  size_t len = strlen(syscall) + strlen(code) + (address ? strlen(address) : 0) + 3;
  char *msg = malloc(len);
  napi_value error, errno_value;
  if (msg == NULL) return NULL;
  if (address)
    snprintf(msg, len, "%s %s %s", syscall, code, address);
  else
    snprintf(msg, len, "%s %s", syscall, code);
  if (napi_create_error(env, make_string(env, code), make_string(env, msg),
                        &error) != napi_ok) {
    free(msg);
    return NULL;
  }
  free(msg);
  napi_create_int32(env, uverr, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", make_string(env, syscall));
  if (address)
    napi_set_named_property(env, error, "address", make_string(env, address));
  return error;
}

void throw_errno(napi_env env, int err, const char *syscall,
                        const char *address) {
  napi_value error = make_uv_error(env, uv_translate_sys_error(err), syscall, address);
  if (error != NULL)
    napi_throw(env, error);
  else
    napi_throw_error(env, NULL, strerror(err));
}

static void free_poll(uv_handle_t *handle) { free(handle); }

static void release_async(dgram_socket *s) {
  if (s->async != NULL) {
    napi_async_destroy(s->env, s->async);
    s->async = NULL;
  }
}

static void on_env_cleanup(void *arg);

static void socket_close(dgram_socket *s) {
  if (s->fd < 0) return;
  if (s->poll != NULL) {
    // uv_close stops the poll and drops the fd from epoll, so it must come
    // before close(fd) or a recycled fd number could be unwatched.
    uv_close((uv_handle_t *)s->poll, free_poll);
    s->poll = NULL;
    napi_reference_unref(s->env, s->self, NULL);
    napi_remove_env_cleanup_hook(s->env, on_env_cleanup, s);
    if (!s->dispatching) release_async(s);
  }
  close(s->fd);
  s->fd = -1;
}

// A bound socket is kept alive by its strong self reference, so GC never
// reaches it; this closes it when the Node environment (or worker) exits.
static void on_env_cleanup(void *arg) { socket_close((dgram_socket *)arg); }

static void on_finalize(napi_env env, void *data, void *hint) {
  dgram_socket *s = data;
  (void)hint;
  socket_close(s);
  release_async(s);
  napi_delete_reference(env, s->self);
  free(s);
}

// Fails (returns NULL with a pending TypeError) unless value is our handle.
static dgram_socket *get_socket(napi_env env, napi_value value) {
  bool ours = false;
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) == napi_ok && type == napi_object &&
      napi_check_object_type_tag(env, value, &SOCKET_TAG, &ours) == napi_ok &&
      ours && napi_unwrap(env, value, &data) == napi_ok)
    return data;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                        "expected a handle returned by open()");
  return NULL;
}

// Copies a JS string into a heap buffer. Returns NULL with a pending error.
static char *get_path(napi_env env, napi_value value, const char *syscall) {
  size_t len = 0;
  char *path;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "socket path must be a string");
    return NULL;
  }
  path = malloc(len + 1);
  if (path == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, path, len + 1, &len);
  // Empty and embedded-NUL paths would name Linux abstract sockets.
  if (len == 0 || strlen(path) != len) {
    free(path);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "socket path must be non-empty and contain no NUL");
    return NULL;
  }
  if (len > sizeof(((struct sockaddr_un *)0)->sun_path) - 1) {
    throw_errno(env, ENAMETOOLONG, syscall, path);
    free(path);
    return NULL;
  }
  return path;
}

static socklen_t fill_addr(struct sockaddr_un *addr, const char *path) {
  size_t len = strlen(path);
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path, len + 1);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

void rethrow_pending(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

// libuv stops watching an fd whose poll failed: nothing would ever be delivered again. Rather
// than a socket that stays open and silent, the JS side is told (onerror) and it is closed.
static void poll_failed(dgram_socket *s, int uverr) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_value self, callback, error;
  napi_valuetype type;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, s->self, &self) == napi_ok && self != NULL &&
      napi_get_named_property(env, self, "onerror", &callback) == napi_ok &&
      napi_typeof(env, callback, &type) == napi_ok && type == napi_function &&
      (error = make_uv_error(env, uverr, "poll", NULL)) != NULL) {
    s->dispatching = 1;
    napi_make_callback(env, s->async, self, callback, 1, &error, NULL);
    rethrow_pending(env);
    s->dispatching = 0;
  }
  socket_close(s);
  release_async(s);
  napi_close_handle_scope(env, scope);
}

// Calls onMessage(buf); an exception becomes an ordinary uncaught exception.
static void deliver(dgram_socket *s, napi_value self, napi_value buf) {
  napi_value callback;
  if (napi_get_named_property(s->env, self, "onmessage", &callback) == napi_ok)
    napi_make_callback(s->env, s->async, self, callback, 1, &buf, NULL);
  rethrow_pending(s->env);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  dgram_socket *s = handle->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_value self;
  (void)events;
  if (status < 0) {
    poll_failed(s, status);
    return;
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  // Holding self here keeps s alive even if onMessage closes the socket.
  if (napi_get_reference_value(env, s->self, &self) != napi_ok || self == NULL) {
    napi_close_handle_scope(env, scope);
    return;
  }
  s->dispatching = 1;
  for (int i = 0; i < MAX_DATAGRAMS_PER_WAKEUP && s->fd >= 0; i++) {
    napi_handle_scope inner;
    napi_value buf;
    void *data = NULL;
    ssize_t got;
    // MSG_TRUNC makes the peek return the real size, so each Buffer is
    // exact and an empty datagram is distinguishable from "nothing queued".
    ssize_t size = recv(s->fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
    if (size < 0) {
      if (errno == EINTR) continue;
      // A netlink socket whose queue overflowed: the kernel dropped events. An empty message
      // tells the caller to look at the state again; reading goes on with what is queued.
      if (errno == ENOBUFS) {
        napi_value empty;
        void *none;
        if (napi_create_buffer(env, 0, &none, &empty) == napi_ok) deliver(s, self, empty);
        continue;
      }
      break;  // EAGAIN: drained. Other errors are one-shot for AF_UNIX.
    }
    if (napi_open_handle_scope(env, &inner) != napi_ok) break;
    if (napi_create_buffer(env, (size_t)size, &data, &buf) != napi_ok) {
      // Drop the datagram rather than spin on it forever.
      char discard;
      recv(s->fd, &discard, 0, 0);
      rethrow_pending(env);
      napi_close_handle_scope(env, inner);
      break;
    }
    do {
      got = recv(s->fd, data, (size_t)size, 0);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      napi_close_handle_scope(env, inner);
      break;
    }
    if (got < size) {
      // Only if another process sharing the fd stole the peeked datagram.
      napi_value copy;
      if (napi_create_buffer_copy(env, (size_t)got, data, NULL, &copy) == napi_ok)
        buf = copy;
    }
    deliver(s, self, buf);
    napi_close_handle_scope(env, inner);
  }
  s->dispatching = 0;
  if (s->fd < 0) release_async(s);
  napi_close_handle_scope(env, scope);
}

static napi_value start_polling(napi_env env, dgram_socket *s, napi_value self) {
  uv_loop_t *loop;
  int rc;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_async_init(env, self, make_string(env, "WifiboxUnixDgram"),
                        &s->async));
  s->poll = malloc(sizeof(*s->poll));
  if (s->poll == NULL) {
    release_async(s);
    throw_errno(env, ENOMEM, "uv_poll_init", NULL);
    return NULL;
  }
  rc = uv_poll_init(loop, s->poll, s->fd);
  if (rc != 0) {
    free(s->poll);
  } else {
    s->poll->data = s;
    rc = uv_poll_start(s->poll, UV_READABLE, on_readable);
    if (rc != 0) uv_close((uv_handle_t *)s->poll, free_poll);
  }
  if (rc != 0) {
    s->poll = NULL;
    release_async(s);
    throw_errno(env, -rc, "uv_poll_start", NULL);
    return NULL;
  }
  // While it can receive, the socket lives on without a JS reference, as
  // Node's own sockets do; close() makes it collectable again.
  napi_reference_ref(env, s->self, NULL);
  napi_add_env_cleanup_hook(env, on_env_cleanup, s);
  return self;
}

// The handle for a new socket `fd` (closed here on failure), delivering to `on_message`.
static napi_value wrap_socket(napi_env env, int fd, napi_value on_message, dgram_socket **out) {
  napi_value self;
  dgram_socket *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    close(fd);
    throw_errno(env, ENOMEM, "socket", NULL);
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  // The callback hangs off the handle, not a strong native reference, so a
  // closure that captures the socket does not pin it against GC.
  if (napi_create_object(env, &self) != napi_ok ||
      napi_set_named_property(env, self, "onmessage", on_message) != napi_ok ||
      napi_type_tag_object(env, self, &SOCKET_TAG) != napi_ok ||
      napi_create_reference(env, self, 0, &s->self) != napi_ok) {
    if (s->self != NULL) napi_delete_reference(env, s->self);
    close(fd);
    free(s);
    return NULL;
  }
  if (napi_wrap(env, self, s, on_finalize, NULL, NULL) != napi_ok) {
    napi_delete_reference(env, s->self);
    close(fd);
    free(s);
    return NULL;
  }
  if (out != NULL) *out = s;
  return self;
}

// Fails (returns false with a pending TypeError) unless value is a function.
static bool is_function(napi_env env, size_t argc, size_t index, napi_value *argv, const char *what) {
  napi_valuetype type;
  if (argc > index && napi_typeof(env, argv[index], &type) == napi_ok && type == napi_function) return true;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return false;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!is_function(env, argc, 0, argv, "onMessage must be a function")) return NULL;
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket", NULL);
    return NULL;
  }
  return wrap_socket(env, fd, argv[0], NULL);
}

static napi_value js_watch_route(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  uint32_t groups = 0;
  struct wifibox_sockaddr_nl addr;
  dgram_socket *s = NULL;
  int fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &groups) != napi_ok || groups == 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "groups must be a non-zero number of RTMGRP_* bits");
    return NULL;
  }
  if (!is_function(env, argc, 1, argv, "onMessage must be a function")) return NULL;
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, WIFIBOX_NETLINK_ROUTE);
  if (fd < 0) {
    throw_errno(env, errno, "socket", NULL);
    return NULL;
  }
  memset(&addr, 0, sizeof(addr));
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = groups;
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    throw_errno(env, errno, "bind", NULL);
    close(fd);
    return NULL;
  }
  if ((self = wrap_socket(env, fd, argv[1], &s)) == NULL) return NULL;
  if (start_polling(env, s, self) == NULL) return NULL;
  return self;
}

/*
 * The socket address of a path argument, for `syscall` on socket `s`: its length, with the path
 * in *path for the caller to free; 0 (an error thrown, nothing to free) when the path is not one
 * or the socket is closed.
 */
static socklen_t path_address(napi_env env, dgram_socket *s, napi_value arg, const char *syscall, struct sockaddr_un *addr, char **path) {
  if ((*path = get_path(env, arg, syscall)) == NULL) return 0;
  if (s->fd < 0) {
    throw_errno(env, EBADF, syscall, *path);
    free(*path);
    return 0;
  }
  return fill_addr(addr, *path);
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  dgram_socket *s;
  struct sockaddr_un addr;
  socklen_t addrlen;
  char *path;
  if (!get_args(env, info, 2, argv, "bind(handle, path)")) return NULL;
  if ((s = get_socket(env, argv[0])) == NULL) return NULL;
  if ((addrlen = path_address(env, s, argv[1], "bind", &addr, &path)) == 0) return NULL;
  if (bind(s->fd, (struct sockaddr *)&addr, addrlen) != 0) {
    throw_errno(env, errno, "bind", path);
    free(path);
    return NULL;
  }
  free(path);
  if (s->poll == NULL && start_polling(env, s, argv[0]) == NULL) return NULL;
  return NULL;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  dgram_socket *s;
  bool is_buffer = false;
  void *data = NULL;
  size_t length = 0;
  struct sockaddr_un addr;
  socklen_t addrlen;
  char *path;
  ssize_t sent;
  if (!get_args(env, info, 3, argv, "send(handle, buf, dest)")) return NULL;
  if ((s = get_socket(env, argv[0])) == NULL) return NULL;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "message must be a Buffer");
    return NULL;
  }
  if ((addrlen = path_address(env, s, argv[2], "sendto", &addr, &path)) == 0) return NULL;
  do {
    sent = sendto(s->fd, data, length, 0, (struct sockaddr *)&addr, addrlen);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw_errno(env, errno, "sendto", path);
  free(path);
  return NULL;
}

static napi_value js_inject_poll_error(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  dgram_socket *s;
  int32_t err = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[1], &err) != napi_ok) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "injectPollError(handle, errno)");
    return NULL;
  }
  if ((s = get_socket(env, argv[0])) == NULL) return NULL;
  if (s->poll != NULL) poll_failed(s, uv_translate_sys_error(err));
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  dgram_socket *s;
  if (!get_args(env, info, 1, argv, "close(handle)")) return NULL;
  if ((s = get_socket(env, argv[0])) == NULL) return NULL;
  socket_close(s);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"injectPollError", NULL, js_inject_poll_error, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchRoute", NULL, js_watch_route, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]),
                               props));
  CHECK(tcp_join_define(env, exports));
  return exports;
}
