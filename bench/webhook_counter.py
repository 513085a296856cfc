"""A loopback webhook receiver for benchmarks: HTTP/1.1 with keep-alive on asyncio,
answering every request 200 with DingTalk's `{"errcode":0}` and counting them (the count
and the bodies' sizes are printed on SIGTERM, and written to the file given).

    python3 bench/webhook_counter.py PORT COUNT_FILE
"""
import asyncio
import signal
import sys

REPLY = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"errcode":0}\n'


async def main(port, count_file):
    stats = {"requests": 0, "bytes": 0}

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                stats["requests"] += 1
                stats["bytes"] += length
                with open(count_file, "w") as f:
                    f.write(f"{stats['requests']} {stats['bytes']}\n")
                writer.write(REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
