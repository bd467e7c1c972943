// chat: the oracle for multi-turn goldens with prompt caching. Plays a scripted conversation with
// libllama (llama.cpp) the way llama-server does with `cache_prompt: true`: each turn renders the
// whole conversation with llama_chat_apply_template (a builtin template name, e.g. "gemma"),
// tokenizes it (add_special, parse_special), keeps the longest common prefix of those ids with
// the tokens in the KV cache (at least one token is evaluated again, as the server does), drops
// the rest of the cache (llama_memory_seq_rm) and evaluates only the new tokens in one
// llama_decode call (split into 512-token ubatches by the library). Then it picks up to n tokens
// greedily, one llama_decode per token, and the reply (the pieces of the ids before an
// end-of-generation token) becomes the assistant message of the next turn. Prints one JSON object
// per turn on stdout:
//
//   {"turn":0, "prompt_ids":[...], "reused":N, "ids":[...], "pieces_hex":[...], "gaps":[...],
//    "stop":"length"|"eog"}
//
//   reused      prompt tokens kept from the cache (not evaluated again)
//   ids         generated ids (the end-of-generation id last, when it stopped there)
//   pieces_hex, gaps: as greedy.cpp prints them.
//
// The cache after a turn holds the prompt and the reply ids that were evaluated: every generated
// id but the last (the last is sampled, never decoded), as in llama-server.
// Context parameters are those of greedy.cpp (llama-completion's: swa_full = false, n_ubatch 512,
// flash attention auto, f16 cache).
//
// Build: scripts/oracle/make-chat-goldens.sh. Usage:
//   chat -m MODEL --template NAME [--system TEXT] -u TEXT [-u TEXT ...] [-n 32] [-t 2] [-c 2048]

#include "llama.h"
#include "oracle.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static void log_cb(enum ggml_log_level level, const char * text, void * /*user_data*/) {
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text) {
    int n = -llama_tokenize(vocab, text.data(), (int) text.size(), nullptr, 0, true, true);
    std::vector<llama_token> ids(n);
    if (llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), n, true, true) != n) {
        fprintf(stderr, "tokenize failed\n");
        exit(1);
    }
    return ids;
}

struct Message {
    std::string role, content;
};

static std::string render(const char * tmpl, const std::vector<Message> & messages) {
    std::vector<llama_chat_message> chat;
    for (const auto & m : messages) chat.push_back({m.role.c_str(), m.content.c_str()});
    std::vector<char> buf(4096);
    int n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, buf.data(), (int) buf.size());
    if (n > (int) buf.size()) {
        buf.resize(n);
        n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, buf.data(), (int) buf.size());
    }
    if (n < 0) {
        fprintf(stderr, "llama_chat_apply_template(%s) failed\n", tmpl);
        exit(1);
    }
    return std::string(buf.data(), n);
}

static void usage() {
    fprintf(stderr, "usage: chat -m MODEL --template NAME [--system TEXT] -u TEXT [-u TEXT ...] [-n 32] [-t 2] [-c 2048]\n");
    exit(2);
}

int main(int argc, char ** argv) {
    std::string model_path, tmpl;
    std::vector<Message> messages;
    std::vector<std::string> users;
    int n_predict = 32, n_threads = 2, n_ctx = 2048;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> const char * { if (i + 1 >= argc) usage(); return argv[++i]; };
        if (a == "-m") model_path = next();
        else if (a == "--template") tmpl = next();
        else if (a == "--system") messages.push_back({"system", next()});
        else if (a == "-u") users.push_back(next());
        else if (a == "-n") n_predict = atoi(next());
        else if (a == "-t") n_threads = atoi(next());
        else if (a == "-c") n_ctx = atoi(next());
        else usage();
    }
    if (model_path.empty() || tmpl.empty() || users.empty()) usage();

    llama_log_set(log_cb, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(model_path.c_str(), llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load model %s\n", model_path.c_str()); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = n_ctx;
    cparams.n_threads = n_threads;
    cparams.n_threads_batch = n_threads;
    cparams.swa_full = false;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create context\n"); return 1; }
    llama_memory_t mem = llama_get_memory(ctx);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    std::vector<llama_token> cached;  // the tokens in the KV cache, in position order
    for (size_t turn = 0; turn < users.size(); turn++) {
        messages.push_back({"user", users[turn]});
        std::vector<llama_token> prompt = tokenize(vocab, render(tmpl.c_str(), messages));

        size_t reused = 0;
        while (reused < cached.size() && reused < prompt.size() && cached[reused] == prompt[reused]) reused++;
        if (reused == prompt.size()) reused--;  // the last prompt token is evaluated for its logits
        if (!llama_memory_seq_rm(mem, 0, (llama_pos) reused, -1)) {
            fprintf(stderr, "turn %zu: the cache cannot be cut back to %zu tokens\n", turn, reused);
            return 1;
        }
        cached.assign(prompt.begin(), prompt.begin() + reused);
        std::vector<llama_token> suffix(prompt.begin() + reused, prompt.end());
        if (llama_decode(ctx, llama_batch_get_one(suffix.data(), (int) suffix.size())) != 0) {
            fprintf(stderr, "turn %zu: decode (prompt) failed\n", turn);
            return 1;
        }
        cached.insert(cached.end(), suffix.begin(), suffix.end());

        std::vector<llama_token> ids;
        std::vector<float> gaps;
        std::string stop = "length", reply;
        for (int step = 0; step < n_predict; step++) {
            const Pick pick = greedy_pick(ctx, n_vocab);
            const int best = pick.id;
            ids.push_back(best);
            gaps.push_back(pick.gap);
            if (llama_vocab_is_eog(vocab, best)) { stop = "eog"; break; }
            reply += piece(vocab, best);
            llama_token tok = best;
            if (step + 1 < n_predict) {
                if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) {
                    fprintf(stderr, "turn %zu: decode failed at step %d\n", turn, step);
                    return 1;
                }
                cached.push_back(tok);
            }
        }
        messages.push_back({"assistant", reply});

        printf("{\"turn\":%zu,", turn);
        print_ids("prompt_ids", prompt);
        printf(",\"reused\":%zu,", reused);
        print_ids("ids", ids);
        printf(",");
        print_pieces_and_gaps(vocab, ids, gaps);
        printf(",\"stop\":\"%s\"}\n", stop.c_str());
        fflush(stdout);
    }

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
