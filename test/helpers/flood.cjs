// Opens N TCP connections at once to HOST:PORT and holds them for HOLD ms; reports how many the
// peer closed on us. Runs under `ip netns exec` in the lab's host namespace (plain JS on purpose).
const net = require('node:net');
const [host, port, n, hold] = process.argv.slice(2);
let opened = 0;
let closedByPeer = 0;
const socks = [];
for (let i = 0; i < Number(n); i++) {
  const s = net.connect({ host, port: Number(port) });
  s.on('connect', () => opened++);
  s.on('error', () => undefined);
  s.on('close', () => closedByPeer++);
  socks.push(s);
}
setTimeout(() => {
  const result = { opened, closedByPeer };
  for (const s of socks) s.destroy();
  process.stdout.write(JSON.stringify(result) + '\n');
}, Number(hold));
