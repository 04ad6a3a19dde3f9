"""Helpers for the e2e tests: a tiny msgpack codec and JSON checks.

The tests decode records with this module as well as with `git mlp cat`, so a
bug that both the encoder and the decoder of git-mlp share still shows up.
Strings that are not valid UTF-8 decode with 'surrogateescape' and encode
back to the same bytes; msgpack bin values decode to `bytes`.

Command line:
  python3 mlptest.py mp2json [FILE]     msgpack -> JSON on stdout (bin as {"$bin": hex})
  python3 mlptest.py json2mp [FILE]     JSON -> msgpack on stdout
"""
import json
import struct
import sys


class Ext:
    def __init__(self, code, data):
        self.code, self.data = code, data

    def __repr__(self):
        return "Ext(%d, %r)" % (self.code, self.data)


def _str(b):
    return b.decode("utf-8", "surrogateescape")


def _need(buf, i, n):
    if i + n > len(buf):
        raise ValueError("truncated msgpack at byte %d" % i)


def _dec(buf, i, depth):
    if depth > 64:
        raise ValueError("msgpack nested too deeply")
    _need(buf, i, 1)
    t = buf[i]
    i += 1
    if t <= 0x7F:
        return t, i
    if t >= 0xE0:
        return t - 0x100, i
    if 0x80 <= t <= 0x8F:
        return _map(buf, i, t & 0x0F, depth)
    if 0x90 <= t <= 0x9F:
        return _arr(buf, i, t & 0x0F, depth)
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        _need(buf, i, n)
        return _str(buf[i:i + n]), i + n
    if t == 0xC0:
        return None, i
    if t == 0xC2:
        return False, i
    if t == 0xC3:
        return True, i
    fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I",
             0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if t in fixed:
        n = struct.calcsize(fixed[t])
        _need(buf, i, n)
        return struct.unpack_from(fixed[t], buf, i)[0], i + n
    lens = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H",
            0xDB: ">I", 0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I",
            0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}
    if t in lens:
        w = struct.calcsize(lens[t])
        _need(buf, i, w)
        n = struct.unpack_from(lens[t], buf, i)[0]
        i += w
        if t in (0xDC, 0xDD):
            return _arr(buf, i, n, depth)
        if t in (0xDE, 0xDF):
            return _map(buf, i, n, depth)
        if t in (0xC7, 0xC8, 0xC9):
            _need(buf, i, n + 1)
            return Ext(struct.unpack_from(">b", buf, i)[0], bytes(buf[i + 1:i + 1 + n])), i + 1 + n
        _need(buf, i, n)
        raw = bytes(buf[i:i + n])
        return (raw if t in (0xC4, 0xC5, 0xC6) else _str(raw)), i + n
    if 0xD4 <= t <= 0xD8:
        n = 1 << (t - 0xD4)
        _need(buf, i, n + 1)
        return Ext(struct.unpack_from(">b", buf, i)[0], bytes(buf[i + 1:i + 1 + n])), i + 1 + n
    raise ValueError("bad msgpack type byte 0x%02x at %d" % (t, i - 1))


def _arr(buf, i, n, depth):
    out = []
    for _ in range(n):
        v, i = _dec(buf, i, depth + 1)
        out.append(v)
    return out, i


def _map(buf, i, n, depth):
    out = {}
    for _ in range(n):
        k, i = _dec(buf, i, depth + 1)
        v, i = _dec(buf, i, depth + 1)
        if isinstance(k, (list, dict)):
            k = json.dumps(k)
        out[k] = v
    return out, i


def unpackb(buf):
    """Decode exactly one msgpack object; trailing bytes are an error."""
    v, i = _dec(memoryview(buf).tobytes(), 0, 0)
    if i != len(buf):
        raise ValueError("%d trailing bytes after msgpack object" % (len(buf) - i))
    return v


def _hdr(n, fix, fixmax, codes):
    if n <= fixmax and fix is not None:
        return bytes([fix | n])
    for code, fmt in codes:
        if n < (1 << (8 * struct.calcsize(fmt))):
            return bytes([code]) + struct.pack(fmt, n)
    raise ValueError("too long")


def packb(o):
    """Encode o with the smallest msgpack representation."""
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o <= 0x7F:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack(">b", o)
        if o >= 0:
            for code, fmt in ((0xCC, ">B"), (0xCD, ">H"), (0xCE, ">I"), (0xCF, ">Q")):
                if o < (1 << (8 * struct.calcsize(fmt))):
                    return bytes([code]) + struct.pack(fmt, o)
        for code, fmt in ((0xD0, ">b"), (0xD1, ">h"), (0xD2, ">i"), (0xD3, ">q")):
            bits = 8 * struct.calcsize(fmt)
            if -(1 << (bits - 1)) <= o:
                return bytes([code]) + struct.pack(fmt, o)
        raise ValueError("int out of range")
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode("utf-8", "surrogateescape")
        return _hdr(len(b), 0xA0, 31, ((0xD9, ">B"), (0xDA, ">H"), (0xDB, ">I"))) + b
    if isinstance(o, (bytes, bytearray)):
        return _hdr(len(o), None, -1, ((0xC4, ">B"), (0xC5, ">H"), (0xC6, ">I"))) + bytes(o)
    if isinstance(o, (list, tuple)):
        return _hdr(len(o), 0x90, 15, ((0xDC, ">H"), (0xDD, ">I"))) + b"".join(packb(x) for x in o)
    if isinstance(o, dict):
        return _hdr(len(o), 0x80, 15, ((0xDE, ">H"), (0xDF, ">I"))) + b"".join(
            packb(k) + packb(v) for k, v in o.items())
    if isinstance(o, Ext):
        return _hdr(len(o.data), None, -1, ((0xC7, ">B"), (0xC8, ">H"), (0xC9, ">I"))) + \
            struct.pack(">b", o.code) + o.data
    raise TypeError("cannot encode %r" % type(o))


def to_jsonable(o):
    if isinstance(o, bytes):
        return {"$bin": o.hex()}
    if isinstance(o, Ext):
        return {"$ext": o.code, "data": o.data.hex()}
    if isinstance(o, list):
        return [to_jsonable(x) for x in o]
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    return o


def load_mp(path, strict=True):
    """Decode the msgpack file at path.  strict=False ignores trailing
    bytes after the first object (helpers use it; one test checks that
    records are exactly one object)."""
    with open(path, "rb") as f:
        data = f.read()
    if strict:
        return unpackb(data)
    return _dec(data, 0, 0)[0]


def main(argv):
    if len(argv) < 2 or argv[1] not in ("mp2json", "json2mp"):
        sys.stderr.write(__doc__)
        return 2
    src = open(argv[2], "rb") if len(argv) > 2 else sys.stdin.buffer
    data = src.read()
    if argv[1] == "mp2json":
        json.dump(to_jsonable(unpackb(data)), sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.buffer.write(packb(json.loads(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
