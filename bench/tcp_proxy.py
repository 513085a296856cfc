#!/usr/bin/env python3
"""A TCP proxy for bench/outage.sh: `tcp_proxy.py LISTEN_PORT UPSTREAM_HOST:PORT`.

Killing it stands for a database server that stopped (live connections close, new ones
are refused) without touching the real server, which other people's tests share;
starting it again on the same port brings "the database" back.
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(port, upstream):
    host, up_port = upstream.rsplit(":", 1)

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection(host, int(up_port))
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
