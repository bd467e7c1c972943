#!/usr/bin/env python3
"""The vocabulary-only test GGUFs of tests/data are committed as JSON (model files are never
committed); this converts between the two.

    python3 tests/oracle/gguf_json.py dump X.gguf X.gguf.json    # GGUF -> JSON (once, when made)
    python3 tests/oracle/gguf_json.py build X.gguf.json X.gguf   # JSON -> GGUF (for llama_oracle)

JSON: {"version": 3, "metadata": [{"key": K, "type": T, "value": V}, ...]} in file order, T one of
u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool string, or "array" with "elem": T. The Rust tests build
the same bytes with the gguf crate's writer (tests/common/mod.rs, `fixture`).
"""
import json
import sys

import gguf

T = gguf.GGUFValueType
NAMES = {T.UINT8: "u8", T.INT8: "i8", T.UINT16: "u16", T.INT16: "i16", T.UINT32: "u32",
         T.INT32: "i32", T.UINT64: "u64", T.INT64: "i64", T.FLOAT32: "f32", T.FLOAT64: "f64",
         T.BOOL: "bool", T.STRING: "string"}
TYPES = {v: k for k, v in NAMES.items()}


def dump(src, dst):
    r = gguf.GGUFReader(src)
    assert len(r.tensors) == 0, "vocabulary-only GGUFs only"
    meta = []
    for key, f in r.fields.items():
        if key.startswith("GGUF."):
            continue
        t = T(f.types[0])
        if t == T.ARRAY:
            elem = T(f.types[1])
            vals = [f.parts[i] for i in f.data]
            vals = [bytes(v).decode("utf-8") if elem == T.STRING else v.tolist()[0] for v in vals]
            meta.append({"key": key, "type": "array", "elem": NAMES[elem], "value": vals})
        else:
            v = f.parts[f.data[0]]
            v = bytes(v).decode("utf-8") if t == T.STRING else v.tolist()[0]
            meta.append({"key": key, "type": NAMES[t], "value": v})
    version = int(r.fields["GGUF.version"].parts[-1][0])
    with open(dst, "w", encoding="utf-8") as out:
        json.dump({"version": version, "metadata": meta}, out, ensure_ascii=False, indent=0)
        out.write("\n")


def build(src, dst):
    spec = json.load(open(src, encoding="utf-8"))
    arch = next(m["value"] for m in spec["metadata"] if m["key"] == "general.architecture")
    w = gguf.GGUFWriter(dst, arch)
    w.kv_data = [{}]  # drop the writer's own general.architecture; the JSON has every key in order
    for m in spec["metadata"]:
        if m["type"] == "array":
            w.add_key_value(m["key"], m["value"], T.ARRAY, sub_type=TYPES[m["elem"]])
        else:
            w.add_key_value(m["key"], m["value"], TYPES[m["type"]])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    with open(dst, "ab") as f:  # the data section starts at the next alignment boundary
        f.write(b"\0" * (-f.tell() % 32))


if __name__ == "__main__":
    {"dump": dump, "build": build}[sys.argv[1]](sys.argv[2], sys.argv[3])
