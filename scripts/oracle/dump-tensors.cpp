// dump-tensors: an investigation tool, not part of any test. Evaluates a prompt (read verbatim
// from a file) with libllama in one llama_decode call, with the same context parameters as
// greedy.cpp, and writes every contiguous f32 tensor the graph computes to a binary file in the
// format of rust/cpu/tests/trace_dump.rs, so that scripts/oracle/diff-tensors.py can find the
// first tensor where our CPU backend and llama.cpp part, bit for bit:
//
//   [u32 keylen][key = "NAME OP"][u32 step = 0][i64 ne0..ne3][f32 data]
//
// Build: like greedy in scripts/oracle/make-generate-goldens.sh.
// Usage: dump-tensors -m MODEL -f PROMPT_FILE -o OUT.bin [-t 2] [-c 2048]

#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static bool dump_tensor(struct ggml_tensor * t, bool ask, void * user_data) {
    if (ask) {
        return true; // we want to see every tensor
    }
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
        return true;
    }
    FILE * out = (FILE *) user_data;
    const std::string key = std::string(t->name) + " " + ggml_op_desc(t);
    const uint32_t keylen = (uint32_t) key.size(), step = 0;
    fwrite(&keylen, 4, 1, out);
    fwrite(key.data(), 1, keylen, out);
    fwrite(&step, 4, 1, out);
    for (int i = 0; i < 4; i++) {
        const int64_t ne = t->ne[i];
        fwrite(&ne, 8, 1, out);
    }
    std::vector<float> data(ggml_nelements(t));
    ggml_backend_tensor_get(t, data.data(), 0, ggml_nbytes(t));
    fwrite(data.data(), 4, data.size(), out);
    return true;
}

int main(int argc, char ** argv) {
    std::string model_path, prompt_path, out_path;
    int n_threads = 2, n_ctx = 2048;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "-m") model_path = argv[i + 1];
        else if (a == "-f") prompt_path = argv[i + 1];
        else if (a == "-o") out_path = argv[i + 1];
        else if (a == "-t") n_threads = atoi(argv[i + 1]);
        else if (a == "-c") n_ctx = atoi(argv[i + 1]);
    }
    if (model_path.empty() || prompt_path.empty() || out_path.empty()) {
        fprintf(stderr, "usage: dump-tensors -m MODEL -f PROMPT_FILE -o OUT.bin [-t 2] [-c 2048]\n");
        return 2;
    }
    std::ifstream in(prompt_path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string prompt = ss.str();
    FILE * out = fopen(out_path.c_str(), "wb");
    if (!out) { fprintf(stderr, "cannot write %s\n", out_path.c_str()); return 1; }

    llama_backend_init();
    llama_model * model = llama_model_load_from_file(model_path.c_str(), llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", model_path.c_str()); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = n_ctx;
    cparams.n_threads = n_threads;
    cparams.n_threads_batch = n_threads;
    cparams.swa_full = false;
    cparams.cb_eval = dump_tensor;
    cparams.cb_eval_user_data = out;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create context\n"); return 1; }

    int n = -llama_tokenize(vocab, prompt.data(), (int) prompt.size(), nullptr, 0, true, true);
    std::vector<llama_token> ids(n);
    llama_tokenize(vocab, prompt.data(), (int) prompt.size(), ids.data(), n, true, true);
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), (int) ids.size())) != 0) {
        fprintf(stderr, "decode failed\n");
        return 1;
    }
    fclose(out);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
