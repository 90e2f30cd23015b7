// Connects with Node.js (libuv: a non-blocking socket, epoll, SO_ERROR) to
// a server of its own, for the tests of what a connect fault stands for
// (tests/test_fault_fidelity.py). Prints "node: connected" or
// "node: CODE" (the error's code, ECONNREFUSED...).
const net = require("net");
const server = net.createServer((conn) => conn.end());
server.listen(0, "127.0.0.1", () => {
  const client = net.connect(server.address().port, "127.0.0.1");
  client.on("connect", () => {
    console.log("node: connected");
    client.end();
    server.close();
  });
  client.on("error", (err) => {
    console.log(`node: ${err.code}`);
    server.close();
  });
});
