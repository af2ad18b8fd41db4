// Lab only: loaded with `node --require` into wifibox-init's runtime by the fault suite. SIGUSR2
// arms one exception in the passthrough's code path, thrown at its next write to a host
// connection on port 1200, as a bug there would throw. Nothing else changes.
'use strict';
const net = require('node:net');

let armed = false;
process.on('SIGUSR2', () => {
  armed = true;
});
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function writeOrFault(...args) {
  if (armed && this.localPort === 1200) {
    armed = false;
    throw new Error('fault injected by the lab (lab/inject-fault.cjs)');
  }
  return write.apply(this, args);
};
