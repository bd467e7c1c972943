// Oracle for the tokenizer crate's tests: runs llama.cpp's own tokenizer (through its public C API,
// loading the vocabulary only) over a list of inputs and prints what it produced, so the Rust
// tests can compare against committed outputs. Built by build_oracle.sh; not part of the product.
//
//   llama_oracle MODEL.gguf cases.hex   -> one JSON object per input line:
//        {"hex": input, "ss": ids, "sn": ids, "ns": ids, "nn": ids, "detok": hex}
//      first letter: add_special (s = true, n = false); second: parse_special. To keep the
//      committed files small a list equal to another is left out: "ns" when equal to "ss",
//      "sn" when equal to "ss", "nn" when equal to "ns" (readers fill them back in).
//      "detok" = llama_detokenize(ss ids, remove_special=false, unparse_special=false).
//   llama_oracle MODEL.gguf --vocab     -> a header object, then one object per token:
//        {"id": i, "attr": llama_token_attr bits, "piece": hex of token_to_piece(special=false), "eog": bool}
//
// Input lines are hex-encoded UTF-8 so that any byte sequence (newlines included) survives.
#include "llama.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

static std::string to_hex(const std::string & s) {
    static const char * digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

static std::string from_hex(const std::string & h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) {
        out += (char) std::stoi(h.substr(i, 2), nullptr, 16);
    }
    return out;
}

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text, bool add_special, bool parse_special) {
    std::vector<llama_token> ids(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), ids.data(), (int32_t) ids.size(), add_special, parse_special);
    if (n < 0) {
        ids.resize(-n);
        n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), ids.data(), (int32_t) ids.size(), add_special, parse_special);
    }
    ids.resize(n);
    return ids;
}

static std::string ids_json(const std::vector<llama_token> & ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(ids[i]);
    }
    return s + "]";
}

static void quiet_log(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf (cases.hex | --vocab)\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    if (std::strcmp(argv[2], "--vocab") == 0) {
        const int n = llama_vocab_n_tokens(vocab);
        printf("{\"n_tokens\":%d,\"bos\":%d,\"eos\":%d,\"eot\":%d,\"pad\":%d,\"add_bos\":%s,\"add_eos\":%s}\n", n,
               llama_vocab_bos(vocab), llama_vocab_eos(vocab), llama_vocab_eot(vocab), llama_vocab_pad(vocab),
               llama_vocab_get_add_bos(vocab) ? "true" : "false", llama_vocab_get_add_eos(vocab) ? "true" : "false");
        for (int id = 0; id < n; ++id) {
            char buf[1024];
            int len = llama_token_to_piece(vocab, id, buf, sizeof(buf), 0, false);
            std::string piece = len > 0 ? std::string(buf, len) : std::string();
            printf("{\"id\":%d,\"attr\":%d,\"piece\":\"%s\",\"eog\":%s}\n", id, (int) llama_vocab_get_attr(vocab, id),
                   to_hex(piece).c_str(), llama_vocab_is_eog(vocab, id) ? "true" : "false");
        }
        return 0;
    }

    std::ifstream in(argv[2]);
    std::string line;
    while (std::getline(in, line)) {
        const std::string text = from_hex(line);
        const auto ss = tokenize(vocab, text, true, true);
        const auto sn = tokenize(vocab, text, true, false);
        const auto ns = tokenize(vocab, text, false, true);
        const auto nn = tokenize(vocab, text, false, false);
        std::string detok(text.size() * 4 + 64, '\0');
        int m = llama_detokenize(vocab, ss.data(), (int32_t) ss.size(), detok.data(), (int32_t) detok.size(), false, false);
        if (m < 0) {
            detok.resize(-m);
            m = llama_detokenize(vocab, ss.data(), (int32_t) ss.size(), detok.data(), (int32_t) detok.size(), false, false);
        }
        detok.resize(m);
        std::string line_out = "{\"hex\":\"" + line + "\",\"ss\":" + ids_json(ss);
        if (sn != ss) line_out += ",\"sn\":" + ids_json(sn);
        if (ns != ss) line_out += ",\"ns\":" + ids_json(ns);
        if (nn != ns) line_out += ",\"nn\":" + ids_json(nn);
        line_out += ",\"detok\":\"" + to_hex(detok) + "\"}";
        printf("%s\n", line_out.c_str());
    }
    llama_model_free(model);
    return 0;
}
