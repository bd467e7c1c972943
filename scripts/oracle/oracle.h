// Helpers shared by the libllama oracle programs (greedy.cpp, chat.cpp): token pieces, greedy
// picks and the JSON fields both print.
#pragma once

#include "llama.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

static std::string hex(const std::string & s) {
    static const char * digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// Bytes of a token as llama_token_to_piece gives them (special = false: control tokens print
// nothing), which is what llama-completion prints.
static std::string piece(const llama_vocab * vocab, llama_token id) {
    std::vector<char> buf(64);
    int n = llama_token_to_piece(vocab, id, buf.data(), (int) buf.size(), 0, /*special=*/false);
    if (n < 0) {
        buf.resize(-n);
        n = llama_token_to_piece(vocab, id, buf.data(), (int) buf.size(), 0, false);
    }
    return std::string(buf.data(), n);
}

// The argmax of the last logits (ties go to the lowest id) and its lead over the runner-up: a
// small gap marks a step where a runtime with slightly different rounding may pick another token.
struct Pick {
    llama_token id;
    float gap;
};

static Pick greedy_pick(llama_context * ctx, int n_vocab) {
    const float * logits = llama_get_logits_ith(ctx, -1);
    int best = 0;
    for (int i = 1; i < n_vocab; i++) {
        if (logits[i] > logits[best]) best = i;
    }
    float second = -INFINITY;
    for (int i = 0; i < n_vocab; i++) {
        if (i != best && logits[i] > second) second = logits[i];
    }
    return {best, logits[best] - second};
}

// `"key":[1,2,3]`
static void print_ids(const char * key, const std::vector<llama_token> & ids) {
    printf("\"%s\":[", key);
    for (size_t i = 0; i < ids.size(); i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("]");
}

// `"pieces_hex":[...],"gaps":[...]`
static void print_pieces_and_gaps(const llama_vocab * vocab, const std::vector<llama_token> & ids,
                                  const std::vector<float> & gaps) {
    printf("\"pieces_hex\":[");
    for (size_t i = 0; i < ids.size(); i++) printf("%s\"%s\"", i ? "," : "", hex(piece(vocab, ids[i])).c_str());
    printf("],\"gaps\":[");
    for (size_t i = 0; i < gaps.size(); i++) printf("%s%.6g", i ? "," : "", gaps[i]);
    printf("]");
}
