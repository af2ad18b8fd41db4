// The lab's web server (wireless network, or the host in the access-point flavor): it answers
// every request with the address it sees the client at, so a test can tell NAT happened.
'use strict';
const http = require('node:http');
const [host, port] = process.argv.slice(2);
http
  .createServer((req, res) => {
    res.end(`${req.socket.remoteAddress}\n`);
  })
  .listen(Number(port), host);
