/*
 * wifibox-dhcpcd-hook: dhcpcd runs it for every event in place of its hook scripts (dhcpcd -c).
 * It hands dhcpcd's variables to wifibox-init over a UNIX stream socket and exits; what follows
 * from them is wifibox-init's business. A C program because it runs for every event in a guest
 * of 64-128 MB: about a millisecond and well under a megabyte, where a Node.js process took
 * some 70 ms and 43 MB.
 *
 * The socket is $WIFIBOX_HOOK_SOCKET (dhcpcd -e passes it). What is sent: the kept variables as
 * NUL-terminated "name=value" strings, then the write side is shut; wifibox-init answers one
 * line. It never holds dhcpcd up: at most HOOK_TIMEOUT_S to send and to hear back, and exit 0
 * whatever happens (a failure is said on stderr, which dhcpcd logs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define HOOK_TIMEOUT_S 2
#define MAX_REPORT (64 * 1024)
#define DEFAULT_SOCKET "/run/wifibox-init/hook.sock"

extern char **environ;

/* dhcpcd-run-hooks(8) names: the reason, the interface, the lease (new_* and old_*), and what
 * router advertisements said (dhcpcd 9 and 10 pass those as nd1_rdnss1_servers and the like). */
static int kept(const char *kv) {
  static const char *const exact[] = {"reason=", "interface=", "protocol=", "if_up=", "if_down=", "if_configured="};
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strncmp(kv, exact[i], strlen(exact[i])) == 0) return 1;
  if (strncmp(kv, "new_", 4) == 0 || strncmp(kv, "old_", 4) == 0) return 1;
  if (kv[0] == 'n' && kv[1] == 'd' && kv[2] >= '0' && kv[2] <= '9') {
    const char *p = kv + 2;
    while (*p >= '0' && *p <= '9') p++;
    return *p == '_';
  }
  return 0;
}

static int say(const char *path, const char *what) {
  fprintf(stderr, "wifibox-dhcpcd-hook: %s: %s: %s\n", path, what, strerror(errno));
  return 0;
}

int main(void) {
  const char *path = getenv("WIFIBOX_HOOK_SOCKET");
  if (path == NULL || *path == '\0') path = DEFAULT_SOCKET;

  static char report[MAX_REPORT];
  size_t len = 0;
  for (char **e = environ; *e != NULL; e++) {
    if (!kept(*e)) continue;
    size_t n = strlen(*e) + 1; /* with its NUL */
    if (len + n > sizeof report) break; /* dhcpcd's own variables never come near this */
    memcpy(report + len, *e, n);
    len += n;
  }

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return say(path, "socket path");
  }
  strcpy(addr.sun_path, path);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return say(path, "socket");
  struct timeval tv = {HOOK_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return say(path, "connect");
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, report + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return say(path, "write");
    off += (size_t)w;
  }
  shutdown(fd, SHUT_WR);
  /* Wait for the answer, so the events of one lease arrive in order. */
  char answer[64];
  for (;;) {
    ssize_t r = read(fd, answer, sizeof answer);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return say(path, "no answer");
    if (r == 0) break;
  }
  close(fd);
  return 0;
}
