// @ts-check
// The native addon for Alpine, cross-built here with Debian's musl-tools.
//
// -nostdlib: the addon gets no NEEDED entry at all. Every symbol it uses (node-api, libuv, and
// libc's socket/sendto/recv/splice/malloc/…) is already in the node process that dlopens it, so they
// resolve at load time whichever libc node was linked with. Linking musl's libc.so instead would
// add NEEDED libc.so: fine for musl's loader, which maps that name onto itself, but no file of that
// name is a loadable library on glibc, so the same build could no longer be tested here.
// Compiling against musl's headers (musl-gcc) keeps glibc-only symbols (__*_chk, versioned
// symbols) out of it.

/**
 * The dhcpcd hook for Alpine: a static musl program, so it needs nothing of the guest but a kernel.
 * Paths relative to `root`, as for the addon.
 * @param {{ compiler: string, sources: string[], out: string }} p
 * @returns {string[]}
 */
export function muslHookCommand(p) {
  return [p.compiler, '-std=gnu11', '-Os', '-Wall', '-Wextra', '-static', '-s', ...p.sources, '-o', p.out];
}

/**
 * The compiler's argv. Paths are relative to `root` (the command runs there), so the object's
 * file-name symbol does not carry this machine's checkout path.
 * @param {{ compiler: string, nodeInclude: string, sources: string[], out: string }} p
 * @returns {string[]}
 */
export function muslAddonCommand(p) {
  return [
    p.compiler,
    '-std=gnu11',
    '-O2',
    '-Wall',
    '-Wextra', // as native/binding.gyp
    '-fPIC',
    '-shared',
    '-nostdlib',
    '-s', // stripped, as abuild strips what it packages
    `-I${p.nodeInclude}`,
    ...p.sources,
    '-o',
    p.out,
  ];
}
