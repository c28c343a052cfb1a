// SPDX-License-Identifier: MIT
//
// chat.cpp: one chat call, then a tool round trip, with the C++ wrapper (include/aoai.hpp).
//
// Configuration comes from the environment, as with openai-python / LangChain:
//   AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, AZURE_OPENAI_DEPLOYMENT_NAME (or the Entra ID
//   and OpenAI variables described in the README).
//
//   c++ -std=c++17 -Iinclude examples/cpp/chat.cpp -Ltarget/debug -laoai
//       -Wl,-rpath,$PWD/target/debug -o chat
//   ./chat "What is the capital of France?"
#include "aoai.hpp"

#include <iostream>
#include <string>

namespace {

// The "tool" the model may call: a fake weather service.
std::string get_weather(const std::string &arguments_json) {
    return R"({"city_query":)" + arguments_json + R"(,"forecast":"sunny","celsius":21})";
}

int run(const std::string &prompt) {
    aoai::Client client = aoai::Client::from_env();

    // 1. One chat call.
    aoai::Response answer =
        client.send(aoai::Request::chat().system("You are a helpful assistant. Be brief.").user(prompt).max_tokens(200));
    std::cout << answer.text().value_or("(no text)") << "\n";
    aoai::Usage usage = answer.usage();
    std::cerr << "usage: prompt=" << usage.prompt_tokens.value_or(-1)
              << " completion=" << usage.completion_tokens.value_or(-1)
              << " total=" << usage.total_tokens.value_or(-1) << "\n";

    // 2. A tool round trip: declare a function, let the model call it, send the result back.
    const char *schema = R"({"type":"object","properties":{"query":{"type":"string"}},"required":["query"]})";
    aoai::Request req = aoai::Request::chat()
                            .user("What is the weather in Paris?")
                            .function_tool("get_weather", "Current weather for a city", schema)
                            .tool_choice("get_weather"); // make this first turn call the tool
    aoai::Response first = client.send(req);
    std::vector<aoai::ToolCall> calls = first.tool_calls();
    if (calls.empty()) {
        std::cout << "(the model did not call the tool) " << first.text().value_or("") << "\n";
        return 0;
    }
    req.response_message(first); // the assistant turn with its tool calls
    for (const aoai::ToolCall &call : calls) {
        std::cerr << "tool call " << call.id << ": " << call.name << "(" << call.arguments << ")\n";
        req.tool_result(call.id, get_weather(call.arguments));
    }
    req.tool_choice("auto"); // the second turn may answer in text
    aoai::Response final_answer = client.send(req);
    std::cout << final_answer.text().value_or("(no text)") << "\n";
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    std::string prompt = argc > 1 ? argv[1] : "Say hello in one short sentence.";
    int rc = 1;
    try {
        rc = run(prompt);
    } catch (const aoai::Error &e) {
        // status name, HTTP status, service code, request id, ... and the message; never the key.
        std::cerr << "chat: error: " << e.detail() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "chat: error: " << e.what() << "\n";
    }
    aoai_shutdown(); // every client is gone: stop the library's threads
    return rc;
}
