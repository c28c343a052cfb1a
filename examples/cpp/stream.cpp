// SPDX-License-Identifier: MIT
//
// stream.cpp: streams a chat answer with the C++ wrapper, printing each delta as it arrives.
//
// Configuration comes from the environment (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
// AZURE_OPENAI_DEPLOYMENT_NAME, ...), see the README.
//
//   c++ -std=c++17 -Iinclude examples/cpp/stream.cpp -Ltarget/debug -laoai
//       -Wl,-rpath,$PWD/target/debug -o stream
//   ./stream "Tell me a short story."
//   ./stream --max-chars 40 "Tell me a long story."   # stops the stream from the lambda
#include "aoai.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char **argv) {
    size_t max_chars = 0; // 0 = no limit
    int i = 1;
    if (i + 1 < argc && std::strcmp(argv[i], "--max-chars") == 0) {
        max_chars = static_cast<size_t>(std::strtoul(argv[i + 1], nullptr, 10));
        i += 2;
    }
    std::string prompt = i < argc ? argv[i] : "Count from one to ten in words.";

    int rc = 0;
    try {
        aoai::Client client = aoai::Client::from_env();
        aoai::Request req = aoai::Request::chat().user(prompt).stream_include_usage(true);

        size_t printed = 0;
        aoai::Usage usage;
        try {
            // The lambda runs on this thread, once per event, as the bytes arrive.
            client.stream(req, [&](const aoai::Event &ev) {
                switch (ev.kind()) {
                case aoai::EventKind::TextDelta: {
                    std::string piece = ev.text();
                    std::cout << piece << std::flush;
                    printed += piece.size();
                    break;
                }
                case aoai::EventKind::Usage:
                    usage = ev.usage();
                    break;
                case aoai::EventKind::ContentFilter:
                    if (!ev.filtered_categories().empty()) std::cerr << "\n[content filter annotation]\n";
                    break;
                default:
                    break;
                }
                return max_chars == 0 || printed < max_chars; // false stops the stream
            });
            std::cout << "\n";
        } catch (const aoai::Error &e) {
            if (e.status() != aoai::Status::Cancelled) throw;
            std::cout << "\n[stopped after " << printed << " bytes]\n";
        }
        if (usage.total_tokens)
            std::cerr << "usage: prompt=" << usage.prompt_tokens.value_or(-1)
                      << " completion=" << usage.completion_tokens.value_or(-1) << " total=" << *usage.total_tokens
                      << "\n";
    } catch (const aoai::Error &e) {
        std::cerr << "stream: error: " << e.detail() << "\n";
        rc = 1;
    } catch (const std::exception &e) {
        std::cerr << "stream: error: " << e.what() << "\n";
        rc = 1;
    }
    aoai_shutdown(); // the client is gone: stop the library's threads
    return rc;
}
