// chat-template: the oracle for chat-template goldens. Renders one conversation with llama.cpp and
// writes the prompt text to stdout, byte for byte (no newline added). Two renderers:
//
//   --legacy TEMPLATE   llama_chat_apply_template (libllama): TEMPLATE is a builtin name
//                       ("chatml", "llama3", ...) or a Jinja source, which llama.cpp does not
//                       run but maps to one of its builtins by looking for marker strings
//                       (llm_chat_detect_template); the path of `--no-jinja`.
//   --jinja FILE        llama.cpp's own Jinja engine (common_chat_templates_apply with
//                       use_jinja, libllama-common) on the template source in FILE, with the
//                       given bos_token/eos_token; the path llama-server and llama-cli take by
//                       default. No model is loaded, so nothing is stripped: a template that
//                       prints bos_token keeps it at the start.
//
// Messages follow as ROLE CONTENT pairs. --add-ass 0|1 is add_generation_prompt.
//
// Build: scripts/oracle/make-chat-template-goldens.sh. Usage:
//   chat-template (--legacy TEMPLATE | --jinja FILE [--bos TEXT] [--eos TEXT]) --add-ass 0|1 ROLE CONTENT ...

#include "chat.h"
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

struct Message {
    std::string role, content;
};

static void usage() {
    fprintf(stderr,
            "usage: chat-template (--legacy TEMPLATE | --jinja FILE [--bos TEXT] [--eos TEXT]) --add-ass 0|1 "
            "ROLE CONTENT ...\n");
    exit(2);
}

static std::string render_legacy(const std::string & tmpl, const std::vector<Message> & messages, bool add_ass) {
    std::vector<llama_chat_message> chat;
    for (const auto & m : messages) chat.push_back({m.role.c_str(), m.content.c_str()});
    // The first call asks for the length (llama.cpp returns it even when the buffer is short).
    int n = llama_chat_apply_template(tmpl.c_str(), chat.data(), chat.size(), add_ass, nullptr, 0);
    if (n < 0) {
        fprintf(stderr, "llama_chat_apply_template: template not recognised\n");
        exit(1);
    }
    std::vector<char> buf(n + 1);
    n = llama_chat_apply_template(tmpl.c_str(), chat.data(), chat.size(), add_ass, buf.data(), (int) buf.size());
    return std::string(buf.data(), n);
}

static std::string render_jinja(const std::string & source, const std::string & bos, const std::string & eos,
                                const std::vector<Message> & messages, bool add_ass) {
    auto tmpls = common_chat_templates_init(/* model= */ nullptr, source, bos, eos);
    common_chat_templates_inputs inputs;
    inputs.use_jinja             = true;
    inputs.add_generation_prompt = add_ass;
    for (const auto & m : messages) {
        common_chat_msg msg;
        msg.role    = m.role;
        msg.content = m.content;
        inputs.messages.push_back(msg);
    }
    return common_chat_templates_apply(tmpls.get(), inputs).prompt;
}

int main(int argc, char ** argv) {
    std::string legacy, jinja_file, bos, eos;
    int add_ass = -1;
    std::vector<Message> messages;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { if (i + 1 >= argc) usage(); return argv[++i]; };
        if (a == "--legacy") legacy = next();
        else if (a == "--jinja") jinja_file = next();
        else if (a == "--bos") bos = next();
        else if (a == "--eos") eos = next();
        else if (a == "--add-ass") add_ass = next() == "1";
        else if (a.rfind("--", 0) == 0) usage();
        else { std::string role = a; messages.push_back({role, next()}); }
    }
    if (legacy.empty() == jinja_file.empty() || add_ass < 0) usage();

    std::string out;
    if (!legacy.empty()) {
        out = render_legacy(legacy, messages, add_ass);
    } else {
        std::ifstream f(jinja_file, std::ios::binary);
        if (!f) { fprintf(stderr, "cannot read %s\n", jinja_file.c_str()); return 1; }
        std::stringstream ss;
        ss << f.rdbuf();
        try {
            out = render_jinja(ss.str(), bos, eos, messages, add_ass);
        } catch (const std::exception & e) {
            fprintf(stderr, "jinja: %s\n", e.what());
            return 1;
        }
    }
    fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
