"""A real pymodbus (3.0) server for the Modbus tests: TCP on 127.0.0.1 port 0, or RTU on a serial device.

Usage: /usr/bin/python3 modbus_server.py SPEC.json (--tcp | --serial PATH [--baud N] [--parity N|E|O] [--stopbits 1|2])

SPEC.json: {"unit": 1, "points": [{"table": "ir", "address": 0, "type": "float32", "value": 230.1,
"order": "ABCD"}, ...]}. Values are encoded by pymodbus' own BinaryPayloadBuilder, so the gateway's decoder
is checked against an encoder nobody here wrote. Tables are sparse: reading an address that no point covers
answers exception 02 (illegal data address), as real meters do for gaps in their map.

Prints one JSON line {"event": "ready", "port": N} on stdout once serving; runs until killed.
"""
import asyncio
import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}


def registers_for(point):
    kind = point["type"]
    value = point["value"]
    if point["table"] in ("co", "di"):
        return [bool(value)]
    byteorder, wordorder = ORDERS[point.get("order", "ABCD")]
    b = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    adders = {
        "int16": b.add_16bit_int,
        "uint16": b.add_16bit_uint,
        "int32": b.add_32bit_int,
        "uint32": b.add_32bit_uint,
        "int64": b.add_64bit_int,
        "uint64": b.add_64bit_uint,
        "float32": b.add_32bit_float,
        "float64": b.add_64bit_float,
    }
    if kind == "raw":
        return list(value)
    if kind == "string":
        b.add_string(value.encode("ascii"))
    else:
        adders[kind](value)
    return b.to_registers()


def build_context(spec):
    tables = {"ir": {}, "hr": {}, "co": {}, "di": {}}
    for point in spec["points"]:
        for i, reg in enumerate(registers_for(point)):
            tables[point["table"]][point["address"] + i] = reg
    # Sparse blocks: an address no point covers is an illegal data address (exception 02).
    blocks = {k: ModbusSparseDataBlock(v or {65535: 0}) for k, v in tables.items()}
    slave = ModbusSlaveContext(di=blocks["di"], co=blocks["co"], hr=blocks["hr"], ir=blocks["ir"], zero_mode=True)
    return ModbusServerContext(slaves={spec.get("unit", 1): slave}, single=False)


async def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    args = sys.argv[2:]
    context = build_context(spec)
    if args[0] == "--tcp":
        server = ModbusTcpServer(context, ModbusSocketFramer, None, ("127.0.0.1", 0))
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        port = server.server.sockets[0].getsockname()[1]
        print(json.dumps({"event": "ready", "port": port}), flush=True)
        await task
    else:
        opts = {"baud": 9600, "parity": "N", "stopbits": 1}
        path = args[1]
        rest = args[2:]
        for i in range(0, len(rest), 2):
            opts[rest[i].lstrip("-")] = rest[i + 1]
        server = ModbusSerialServer(
            context,
            ModbusRtuFramer,
            port=path,
            baudrate=int(opts["baud"]),
            parity=opts["parity"],
            stopbits=int(opts["stopbits"]),
            bytesize=8,
        )
        await server.start()
        if server.transport is None:
            # pymodbus logs and swallows a failed open (e.g. parity on a pty); fail loudly instead.
            sys.exit(f"cannot open serial port {path}")
        print(json.dumps({"event": "ready", "port": 0}), flush=True)
        await server.serve_forever()


asyncio.run(main())
