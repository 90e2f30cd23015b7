"""An asyncio client connects to a server of its own and says how it went."""
import asyncio
import socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)


async def main():
    try:
        _, writer = await asyncio.open_connection(*server.getsockname())
        print("connected")
        writer.close()
    except OSError as e:
        print(type(e).__name__, e.errno)

asyncio.run(main())
