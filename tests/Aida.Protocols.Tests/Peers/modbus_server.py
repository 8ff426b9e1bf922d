#!/usr/bin/python3
"""A power meter on Modbus TCP for Aida's peer tests (Debian 12 python3-pymodbus 3.0).

Usage: modbus_server.py PORT. Serves on 127.0.0.1, answers any unit id, addresses are zero-based (zero_mode).

Input registers (function 4), every data type and both word orders, packed here with struct so the values do not
depend on Aida's codec:
   0      uint16            voltage 230.1 V as 2301 (scale 0.1)
   1      int16             current -12.34 A as -1234 (scale 0.01)
   2-3    int32   big       active power -1500000 W
   4-5    uint32  little    energy 3000000000 Wh
   6-7    float32 big       frequency 50.02 Hz
   8-9    float32 little    power factor 0.95
  10-13   float64 big       energy 123456.789 kWh
  14-17   float64 little    reactive energy -0.5 kvarh
  18      uint16  byte order little: 4660 (0x1234) stored as 0x3412
  19-20   int32   little    -7
 100-109  not mapped: exception 02 (illegal data address)
 150-151  reading them closes the connection instead of answering (a meter dropping the link mid-poll)
Holding registers (function 3, 6, 16): 0 uint16 mode = 1, 2-3 float32 big setpoint 22.5, the rest zero.
"""
import logging
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

DROP = 0xDEAD


def words(fmt, value, word_order="big", byte_order="big"):
    raw = struct.pack(">" + fmt, value)
    regs = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if byte_order == "little":
        regs = [((r & 0xFF) << 8) | (r >> 8) for r in regs]
    if word_order == "little":
        regs.reverse()
    return regs


class MeterInputs(ModbusSequentialDataBlock):
    """Input registers with a hole at 100..109."""

    def validate(self, address, count=1):
        if address < 110 and address + count > 100:
            return False
        return super().validate(address, count)


def main():
    port = int(sys.argv[1])
    inputs = [0] * 200
    layout = [
        (0, words("H", 2301)),
        (1, words("h", -1234)),
        (2, words("i", -1500000)),
        (4, words("I", 3000000000, "little")),
        (6, words("f", 50.02)),
        (8, words("f", 0.95, "little")),
        (10, words("d", 123456.789)),
        (14, words("d", -0.5, "little")),
        (18, words("H", 0x1234, "big", "little")),
        (19, words("i", -7, "little")),
        (150, [DROP, DROP]),
    ]
    for address, regs in layout:
        inputs[address:address + len(regs)] = regs
    holding = [0] * 200
    holding[0] = 1
    holding[2:4] = words("f", 22.5)

    slave = ModbusSlaveContext(
        ir=MeterInputs(0, inputs),
        hr=ModbusSequentialDataBlock(0, holding),
        co=ModbusSequentialDataBlock(0, [0] * 8),
        di=ModbusSequentialDataBlock(0, [0] * 8),
        zero_mode=True)
    context = ModbusServerContext(slaves=slave, single=True)

    def drop_mid_poll(response):
        # pymodbus closes the connection when its handler raises outside the datastore call.
        if DROP in (getattr(response, "registers", None) or []):
            raise ConnectionAbortedError("dropping the connection mid-poll")
        return response, False

    logging.basicConfig(level=logging.WARNING)
    StartTcpServer(context=context, address=("127.0.0.1", port), response_manipulator=drop_mid_poll)


if __name__ == "__main__":
    main()
