// Two TCP connections joined in the kernel: what one side sends is spliced through a pipe into the
// other, never copied into the process (splice(2)). wifibox-forward hands over each accepted
// connection and its target's once the target has connected (agents/forward/kernel-join.ts).
//
// JS surface:
//   join(clientFd, targetFd) -> handle   duplicates both fds (the caller closes its own) and
//                                        carries both directions from now on
//   handle.onend(flow)                   a side's end (FIN) was passed on: flow 0 client → target,
//                                        1 target → client; the other direction goes on
//   handle.ondone()                      both ends passed on: nothing more will move
//   handle.onerror(err)                  a side failed (ECONNRESET, EPIPE, …): nothing more moves;
//                                        the caller closes the join
//   joinInfo(handle) -> [bytesIn, bytesOut, lastActiveMs]   bytes delivered each way, and when
//                                        the last moved (CLOCK_REALTIME, as Date.now())
//   joinClose(handle, reset)             idempotent, safe inside a callback; reset: the client's
//                                        side is reset (SO_LINGER 0) rather than ended
//
// Backpressure is the kernel's: a direction reads its source only while its pipe is empty, and
// waits for its destination to take the pipe's content first. Nothing is polled for a direction
// that has ended, and a join with nothing moving sleeps in epoll.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "addon.h"

// Rounds of read-then-write per wake-up and direction: a fast pair cannot starve the rest of the
// loop; the poll is level-triggered, so what is left is carried on the next turn.
#define MAX_ROUNDS 16
#define DEFAULT_PIPE_SIZE 65536

typedef struct {
  int from, to;     // indices into the join's fd[]: 0 client, 1 target
  int pipe[2];      // read end, write end
  size_t cap;       // the pipe's size: the most one read asks for
  size_t queued;    // bytes in the pipe not yet written to `to`
  bool eof;         // `from` has ended
  bool shut;        // ... and its end was passed on (shutdown of `to`)
  bool blocked;     // `to` took less than the pipe holds: wait until it is writable
  bool told;        // onend has been called
  uint64_t bytes;   // delivered to `to`
} flow;

typedef struct {
  napi_env env;
  napi_ref self;               // strong while open, weak after close
  napi_async_context async;
  int fd[2];
  uv_poll_t *poll[2];
  int polled[2];               // each poll's current events
  flow flow[2];                // indexed by their source: flow[k].from == k
  double last_active;
  bool closed;
  int dispatching;             // inside a callback: async teardown deferred
} tcp_join;

static const napi_type_tag JOIN_TAG = {0x7769666962786a6fULL, 0x696e746370736c31ULL};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void on_env_cleanup(void *arg);

static void release_async(tcp_join *j) {
  if (j->async != NULL && !j->dispatching) {
    napi_async_destroy(j->env, j->async);
    j->async = NULL;
  }
}

static void join_close(tcp_join *j, bool reset) {
  if (j->closed) return;
  j->closed = true;
  // uv_close drops an fd from epoll, so it comes before close(fd) (a recycled number stays watched otherwise).
  for (int k = 0; k < 2; k++) {
    if (j->poll[k] != NULL) uv_close((uv_handle_t *)j->poll[k], free_handle);
    j->poll[k] = NULL;
  }
  if (reset && j->fd[0] >= 0) {
    struct linger now = {1, 0};
    setsockopt(j->fd[0], SOL_SOCKET, SO_LINGER, &now, sizeof(now));
  }
  for (int k = 0; k < 2; k++) {
    close_fd(&j->fd[k]);
    close_fd(&j->flow[k].pipe[0]);
    close_fd(&j->flow[k].pipe[1]);
  }
  napi_reference_unref(j->env, j->self, NULL);
  napi_remove_env_cleanup_hook(j->env, on_env_cleanup, j);
  release_async(j);
}

static void on_env_cleanup(void *arg) { join_close((tcp_join *)arg, false); }

static void on_finalize(napi_env env, void *data, void *hint) {
  tcp_join *j = data;
  (void)hint;
  join_close(j, false);
  j->dispatching = 0;
  release_async(j);
  napi_delete_reference(env, j->self);
  free(j);
}

/*
 * A read that found nothing, or the end: unless the source stands at an urgent (MSG_OOB) mark,
 * which splice never passes (it finds nothing for ever, the socket readable all along, or 0 as at
 * the end once the peer's FIN has come too). There a plain
 * recv() takes what comes before the next mark, skipping the urgent byte as a stream read does,
 * into the (empty) pipe. *put: the bytes put there, 0 for nothing, -1 at the source's end.
 * Returns 0 or an errno.
 */
static int past_urgent_mark(tcp_join *j, flow *f, ssize_t *put) {
  int at_mark = 0;
  char buf[4096];
  *put = 0;
  if (ioctl(j->fd[f->from], SIOCATMARK, &at_mark) != 0 || !at_mark) return 0;
  ssize_t got = recv(j->fd[f->from], buf, sizeof(buf), MSG_DONTWAIT);
  if (got < 0) return errno == EAGAIN || errno == EINTR ? 0 : errno;
  if (got == 0) {
    *put = -1;
    return 0;
  }
  // The pipe is empty (pump reads only then), so a page's worth fits at once.
  if (write(f->pipe[1], buf, (size_t)got) != got) return EIO;
  *put = got;
  return 0;
}

/*
 * Moves what it can of one direction. Returns 0, or the errno of a failed splice. Afterwards the
 * pipe is empty unless `to` is full (blocked): so a read that finds nothing means the source has
 * nothing, never that the pipe is full, and a readable source is never polled in vain.
 */
static int pump(tcp_join *j, flow *f) {
  for (int round = 0;; round++) {
    while (f->queued > 0) {
      ssize_t m = splice(f->pipe[0], NULL, j->fd[f->to], NULL, f->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) {
        f->queued -= (size_t)m;
        f->bytes += (uint64_t)m;
        j->last_active = -1;  // stamped once per wake-up, in on_poll
      } else if (m == 0 || errno == EAGAIN) {
        f->blocked = true;
        return 0;
      } else if (errno != EINTR) {
        return errno;
      }
    }
    f->blocked = false;
    // Drained first, then the cap: what a round read is always written before the wake-up ends.
    if (f->eof || round == MAX_ROUNDS) break;
    ssize_t n = splice(j->fd[f->from], NULL, f->pipe[1], NULL, f->cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return errno;
    if (n <= 0) {
      // Nothing (EAGAIN), or 0: the end, or an urgent mark with the peer's end behind it.
      bool nothing = n < 0;
      int err = past_urgent_mark(j, f, &n);
      if (err != 0) return err;
      if (n == 0 && nothing) return 0;  // nothing to read now
    }
    if (n > 0)
      f->queued = (size_t)n;
    else
      f->eof = true;  // 0 from splice, -1 from the recv past a mark
  }
  if (f->eof && f->queued == 0 && !f->shut) {
    f->shut = true;
    // The peer may have gone already (ENOTCONN): then there is nobody to pass the end to.
    if (shutdown(j->fd[f->to], SHUT_WR) != 0 && errno != ENOTCONN) return errno;
  }
  return 0;
}

static void on_poll(uv_poll_t *handle, int status, int events);

/* Polls each socket for what its directions wait on: its own data to read, room to write into it. */
static int arm(tcp_join *j) {
  for (int k = 0; k < 2; k++) {
    int want = 0;
    if (!j->flow[k].eof && !j->flow[k].blocked) want |= UV_READABLE;
    if (j->flow[1 - k].blocked) want |= UV_WRITABLE;
    if (want == j->polled[k]) continue;
    int rc = want ? uv_poll_start(j->poll[k], want, on_poll) : uv_poll_stop(j->poll[k]);
    if (rc != 0) return -rc;  // libuv's errors are negative errnos
    j->polled[k] = want;
  }
  return 0;
}

/* Calls handle[name](arg) (no argument when arg is NULL). */
static void call_js(tcp_join *j, napi_value self, const char *name, napi_value arg) {
  napi_value callback;
  napi_valuetype type;
  if (napi_get_named_property(j->env, self, name, &callback) != napi_ok ||
      napi_typeof(j->env, callback, &type) != napi_ok || type != napi_function)
    return;
  j->dispatching++;
  napi_make_callback(j->env, j->async, self, callback, arg ? 1 : 0, arg ? &arg : NULL, NULL);
  j->dispatching--;
  rethrow_pending(j->env);
}

static void failed(tcp_join *j, napi_value self, int err) {
  // Nothing more is carried: no poll may call again while the caller decides.
  for (int k = 0; k < 2; k++) {
    if (j->poll[k] != NULL && j->polled[k]) uv_poll_stop(j->poll[k]);
    j->polled[k] = 0;
  }
  napi_value error = make_uv_error(j->env, uv_translate_sys_error(err), "splice", NULL);
  if (error != NULL) call_js(j, self, "onerror", error);
}

/* Tells JS of each end passed on, then of the pair done; stops at once if a callback closes it. */
static void tell_ends(tcp_join *j, napi_value self) {
  for (int k = 0; k < 2 && !j->closed; k++) {
    flow *f = &j->flow[k];
    if (!f->shut || f->told) continue;
    f->told = true;
    napi_value which;
    napi_create_int32(j->env, k, &which);
    call_js(j, self, "onend", which);
  }
  if (!j->closed && j->flow[0].told && j->flow[1].told) call_js(j, self, "ondone", NULL);
}

/* The error a socket's poll failed with (POLLERR: a reset, mostly). */
static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) return EIO;
  return err;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  tcp_join *j = handle->data;
  napi_handle_scope scope;
  napi_value self;
  int side = handle == j->poll[0] ? 0 : 1;
  int err = 0;
  if (j->closed || napi_open_handle_scope(j->env, &scope) != napi_ok) return;
  if (napi_get_reference_value(j->env, j->self, &self) != napi_ok || self == NULL) {
    napi_close_handle_scope(j->env, scope);
    return;
  }
  if (status < 0) {
    // libuv stopped the poll: it must be started again if ever wanted.
    j->polled[side] = 0;
    err = socket_error(j->fd[side]);
  }
  if (!err && (events & UV_READABLE)) err = pump(j, &j->flow[side]);
  if (!err && (events & UV_WRITABLE)) err = pump(j, &j->flow[1 - side]);
  if (j->last_active < 0) j->last_active = now_ms();
  if (!err) err = arm(j);
  if (err)
    failed(j, self, err);
  else
    tell_ends(j, self);
  if (j->closed) release_async(j);
  napi_close_handle_scope(j->env, scope);
}

static tcp_join *get_join(napi_env env, napi_value value) {
  bool ours = false;
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) == napi_ok && type == napi_object &&
      napi_check_object_type_tag(env, value, &JOIN_TAG, &ours) == napi_ok && ours &&
      napi_unwrap(env, value, &data) == napi_ok)
    return data;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a handle returned by join()");
  return NULL;
}

/* Its fds, pipes and polls for a new join; an errno (and everything opened closed) on failure. */
static int open_join(napi_env env, tcp_join *j, const int32_t fds[2]) {
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return EIO;
  for (int k = 0; k < 2; k++) {
    flow *f = &j->flow[k];
    f->from = k;
    f->to = 1 - k;
    if ((j->fd[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, 3)) < 0) return errno;
    // Node's handle may leave the original in epoll (libuv drops a watch lazily, and through
    // io_uring only after the close): that stale entry, on the description our copy keeps open,
    // would go on reporting. Nothing of Node's watches it again: the caller destroys it next.
    epoll_ctl(uv_backend_fd(loop), EPOLL_CTL_DEL, fds[k], NULL);
    if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) != 0) return errno;
    int size = fcntl(f->pipe[1], F_GETPIPE_SZ);
    f->cap = size > 0 ? (size_t)size : DEFAULT_PIPE_SIZE;
  }
  for (int k = 0; k < 2; k++) {
    if ((j->poll[k] = calloc(1, sizeof(uv_poll_t))) == NULL) return ENOMEM;
    int rc = uv_poll_init(loop, j->poll[k], j->fd[k]);
    if (rc != 0) {
      free(j->poll[k]);
      j->poll[k] = NULL;
      return -rc;
    }
    j->poll[k]->data = j;
  }
  return 0;
}

static napi_value js_join(napi_env env, napi_callback_info info) {
  napi_value argv[2], self;
  int32_t fds[2];
  tcp_join *j;
  int err;
  if (!get_args(env, info, 2, argv, "join(clientFd, targetFd)")) return NULL;
  if (napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok ||
      fds[0] < 0 || fds[1] < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "join(clientFd, targetFd): two file descriptors");
    return NULL;
  }
  if ((j = calloc(1, sizeof(*j))) == NULL) {
    throw_errno(env, ENOMEM, "join", NULL);
    return NULL;
  }
  j->env = env;
  j->last_active = now_ms();
  for (int k = 0; k < 2; k++) j->fd[k] = j->flow[k].pipe[0] = j->flow[k].pipe[1] = -1;
  if (napi_create_object(env, &self) != napi_ok || napi_type_tag_object(env, self, &JOIN_TAG) != napi_ok ||
      napi_create_reference(env, self, 1, &j->self) != napi_ok ||
      napi_async_init(env, self, make_string(env, "WifiboxTcpJoin"), &j->async) != napi_ok ||
      napi_wrap(env, self, j, on_finalize, NULL, NULL) != napi_ok) {
    if (j->async != NULL) napi_async_destroy(env, j->async);
    if (j->self != NULL) napi_delete_reference(env, j->self);
    free(j);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, on_env_cleanup, j);
  if ((err = open_join(env, j, fds)) == 0) err = arm(j);
  if (err != 0) {
    join_close(j, false);
    throw_errno(env, err, "join", NULL);
    return NULL;
  }
  return self;
}

static napi_value js_join_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  tcp_join *j;
  if (!get_args(env, info, 1, argv, "joinInfo(handle)")) return NULL;
  if ((j = get_join(env, argv[0])) == NULL) return NULL;
  if (napi_create_array_with_length(env, 3, &out) != napi_ok) return NULL;
  double values[3] = {(double)j->flow[0].bytes, (double)j->flow[1].bytes, j->last_active};
  for (uint32_t i = 0; i < 3; i++) {
    if (napi_create_double(env, values[i], &v) != napi_ok || napi_set_element(env, out, i, v) != napi_ok) return NULL;
  }
  return out;
}

static napi_value js_join_close(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tcp_join *j;
  bool reset = false;
  if (!get_args(env, info, 2, argv, "joinClose(handle, reset)")) return NULL;
  if ((j = get_join(env, argv[0])) == NULL) return NULL;
  napi_get_value_bool(env, argv[1], &reset);
  join_close(j, reset);
  return NULL;
}

napi_status tcp_join_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"join", NULL, js_join, NULL, NULL, NULL, napi_enumerable, NULL},
      {"joinInfo", NULL, js_join_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"joinClose", NULL, js_join_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
