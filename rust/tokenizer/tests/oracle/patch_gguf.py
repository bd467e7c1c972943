"""Copies the general.* and tokenizer.* metadata of a GGUF into a new vocabulary-only GGUF,
setting or removing keys, so llama.cpp can be run on variants of a real vocabulary.

    python3 patch_gguf.py IN.gguf OUT.gguf tokenizer.ggml.add_space_prefix=bool:true \
        tokenizer.ggml.pre=str:qwen2 tokenizer.ggml.add_bos_token=remove

Needs `pip install gguf`."""
import sys

import gguf


def main():
    src, dst, *edits = sys.argv[1:]
    r = gguf.GGUFReader(src)
    sets, removes = {}, set()
    for e in edits:
        k, v = e.split("=", 1)
        if v == "remove":
            removes.add(k)
        else:
            t, val = v.split(":", 1)
            sets[k] = {"bool": lambda x: x == "true", "str": str, "u32": int}[t](val), t
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture" or k in removes or k in sets:
            continue
        if not (k.startswith("general.") or k.startswith("tokenizer.") or k.startswith(arch + ".")):
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, f.contents(), vtype, sub_type=f.types[-1])
        else:
            w.add_key_value(k, f.contents(), vtype)
    for k, (v, t) in sets.items():
        {"bool": w.add_bool, "str": w.add_string, "u32": w.add_uint32}[t](k, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
