// An echo server on the port argv[2] names; prints "ready" once it listens.
const net = require('net');
const server = net.createServer((c) => {
  c.on('data', (d) => c.write(d));
  c.on('end', () => c.end());
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
process.stdin.on('end', () => server.close());
process.stdin.resume();
