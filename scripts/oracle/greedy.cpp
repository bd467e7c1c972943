// greedy: the oracle for generation goldens. Loads a GGUF with libllama (llama.cpp), tokenizes a
// prompt read verbatim from a file (add_special=true, parse_special=true, as llama-completion does),
// evaluates it in one llama_decode call, then greedily picks n tokens (argmax of the logits, stopping
// after an end-of-generation token), and prints one JSON object on stdout:
//
//   {"prompt_ids":[...], "ids":[...], "pieces_hex":["..", ...], "gaps":[...], "stop":"length"|"eog"}
//
//   pieces_hex  bytes of llama_token_to_piece(id, special=false) per generated id, hex-encoded
//               (pieces may split a UTF-8 character, so they are not JSON strings); their
//               concatenation is exactly what llama-completion prints.
//   gaps        logit(top1) - logit(top2) at each step: a small gap marks a step where a runtime
//               with slightly different rounding may legitimately pick another token.
//
// Context/model parameters are llama.cpp's library defaults except those that llama-completion
// (common_context_params_to_llama) sets differently for the same command line:
//   n_ctx = -c (2048), n_threads = n_threads_batch = -t, swa_full = false (common's default; the
//   library default is true). Flash attention stays AUTO, KV cache F16/F16, n_batch 2048,
//   n_ubatch 512, weight repacking (extra buffer types) on, like llama-completion.
//
// Build: see scripts/oracle/make-generate-goldens.sh (links the static libs of build-llama-cpp.sh).
// Usage: greedy -m MODEL -f PROMPT_FILE [-n 32] [-t 2] [-c 2048] [-v]

#include "llama.h"
#include "oracle.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static bool g_verbose = false;

static void log_cb(enum ggml_log_level level, const char * text, void * /*user_data*/) {
    if (g_verbose || level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

static void usage() {
    fprintf(stderr, "usage: greedy -m MODEL -f PROMPT_FILE [-n 32] [-t 2] [-c 2048] [-v]\n");
    exit(2);
}

int main(int argc, char ** argv) {
    std::string model_path, prompt_path;
    int n_predict = 32, n_threads = 2, n_ctx = 2048;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> const char * { if (i + 1 >= argc) usage(); return argv[++i]; };
        if (a == "-m") model_path = next();
        else if (a == "-f") prompt_path = next();
        else if (a == "-n") n_predict = atoi(next());
        else if (a == "-t") n_threads = atoi(next());
        else if (a == "-c") n_ctx = atoi(next());
        else if (a == "-v") g_verbose = true;
        else usage();
    }
    if (model_path.empty() || prompt_path.empty()) usage();

    std::ifstream in(prompt_path, std::ios::binary);
    if (!in) { fprintf(stderr, "cannot read %s\n", prompt_path.c_str()); return 1; }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string prompt = ss.str();

    llama_log_set(log_cb, nullptr);
    llama_backend_init();

    llama_model_params mparams = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mparams);
    if (!model) { fprintf(stderr, "cannot load model %s\n", model_path.c_str()); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = n_ctx;
    cparams.n_threads = n_threads;
    cparams.n_threads_batch = n_threads;
    cparams.swa_full = false;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create context\n"); return 1; }

    // Tokenize: first call sizes the buffer (returns -needed).
    int n = -llama_tokenize(vocab, prompt.data(), (int) prompt.size(), nullptr, 0, true, true);
    std::vector<llama_token> prompt_ids(n);
    if (llama_tokenize(vocab, prompt.data(), (int) prompt.size(), prompt_ids.data(), n, true, true) != n) {
        fprintf(stderr, "tokenize failed\n");
        return 1;
    }
    if (prompt_ids.empty()) { fprintf(stderr, "empty prompt\n"); return 1; }

    if (llama_decode(ctx, llama_batch_get_one(prompt_ids.data(), (int) prompt_ids.size())) != 0) {
        fprintf(stderr, "decode (prompt) failed\n");
        return 1;
    }

    const int n_vocab = llama_vocab_n_tokens(vocab);
    std::vector<llama_token> ids;
    std::vector<float> gaps;
    std::string stop = "length";
    for (int step = 0; step < n_predict; step++) {
        const Pick pick = greedy_pick(ctx, n_vocab);
        const int best = pick.id;
        ids.push_back(best);
        gaps.push_back(pick.gap);
        if (llama_vocab_is_eog(vocab, best)) { stop = "eog"; break; }
        llama_token tok = best;
        if (step + 1 < n_predict && llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) {
            fprintf(stderr, "decode failed at step %d\n", step);
            return 1;
        }
    }

    printf("{");
    print_ids("prompt_ids", prompt_ids);
    printf(",");
    print_ids("ids", ids);
    printf(",");
    print_pieces_and_gaps(vocab, ids, gaps);
    printf(",\"stop\":\"%s\"}\n", stop.c_str());

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
