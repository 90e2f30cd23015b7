"""Two asyncio echo servers, a client of each, 20 round trips apiece.

argv: the two servers' ports. Prints, per client, the total time of its
round trips, their median and their longest (ms).
"""
import asyncio, sys, time

async def echo(r, w):
    while data := await r.read(100):
        w.write(data); await w.drain()
    w.close()

async def client(port, n, out):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    times = []
    for i in range(n):
        t = time.monotonic(); w.write(b'ping'); await w.drain()
        assert await r.readexactly(4) == b'ping'
        times.append(time.monotonic() - t)
    w.close(); await w.wait_closed()
    out[port] = times

async def main():
    s1 = await asyncio.start_server(echo, '127.0.0.1', int(sys.argv[1]))
    s2 = await asyncio.start_server(echo, '127.0.0.1', int(sys.argv[2]))
    p1 = s1.sockets[0].getsockname()[1]; p2 = s2.sockets[0].getsockname()[1]
    out = {}
    await asyncio.gather(client(p1, 20, out), client(p2, 20, out))
    for p, name in ((p1, 'targeted'), (p2, 'other')):
        t = sorted(out[p]); print(name, round(sum(t), 3), round(t[len(t)//2]*1000, 1), round(t[-1]*1000,1))
asyncio.run(main())
