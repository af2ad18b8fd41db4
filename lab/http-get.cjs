// GET a URL and print the body (the lab's stand-in for a browser; busybox wget crashes here).
'use strict';
const http = require('node:http');
const req = http.get(process.argv[2], { timeout: 3000 }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => process.stdout.write(body));
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
