/* SPDX-License-Identifier: MIT */
/**
 * @file aoai.hpp
 * @brief A header-only C++17 wrapper over the C API in aoai.h (see bindings/cpp/README.md).
 *
 * Everything lives in namespace `aoai`:
 *
 *  - RAII handles: Options, Client, Request, Response, Event, Operation. All are move-only; a
 *    moved-from object is empty (`!obj`, `obj.get() == nullptr`) and its destructor does nothing.
 *  - Failures throw aoai::Error (a std::runtime_error) carrying the full detail of the C error
 *    (status, status name, HTTP status, service code, type, param, request id, retry-after,
 *    filtered categories, attempts, body), read right after the failing call.
 *  - Strings in are `std::string_view` (copied to a NUL-terminated string before the C call; a
 *    view with an embedded NUL throws Error with Status::InvalidArgument instead of being
 *    silently cut); strings out are `std::string`, or `std::optional<std::string>` where the C
 *    API may return NULL.
 *  - Callbacks (stream lambdas, notify, token and log callbacks) go through static trampolines
 *    with a `user_data` pointer. No C++ exception ever crosses the C boundary: an exception
 *    thrown by a stream lambda stops the stream and is rethrown on the caller's thread once the
 *    C call has returned; exceptions thrown on library threads (notify, token, log callbacks)
 *    are caught and discarded (a token callback that throws counts as a failed fetch).
 *
 * Threading (same rules as aoai.h):
 *  - Client: thread-safe; share one across threads (its methods are const).
 *  - Options, Request: builders, one thread at a time.
 *  - Response: immutable; its const accessors may be called from several threads.
 *  - Event: one thread at a time.
 *  - Operation: one thread at a time, except cancel(), which any thread may call at any time.
 *  - Notify callbacks (Operation::on_notify, Client::start with a callback, the machinery of
 *    Client::send_async) run on a library worker thread. Token and log callbacks also run on
 *    library threads.
 *
 * Requires C++17. Link like the C API: -laoai (shared), or libaoai.a with -lpthread -ldl -lm.
 */

#ifndef AOAI_HPP
#define AOAI_HPP

#pragma once

#include "aoai.h"

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

/* aoai.h does not (yet) define the event kinds and operation states as macros (cbindgen drops
 * constants written as `Enum::Variant as i32`); the values below are the library's. When the
 * header gains them, these checks keep both in step. */
#ifdef AOAI_EVENT_TEXT_DELTA
static_assert(AOAI_EVENT_TEXT_DELTA == 1 && AOAI_EVENT_TOOL_CALL_DELTA == 2 && AOAI_EVENT_FINISH == 3 &&
                  AOAI_EVENT_USAGE == 4 && AOAI_EVENT_CONTENT_FILTER == 5 && AOAI_EVENT_REFUSAL_DELTA == 6,
              "aoai.hpp: AOAI_EVENT_* values changed");
#endif
#ifdef AOAI_OP_PENDING
static_assert(AOAI_OP_PENDING == 0 && AOAI_OP_DONE == 1 && AOAI_OP_FAILED == 2 && AOAI_OP_CANCELLED == 3,
              "aoai.hpp: AOAI_OP_* values changed");
#endif

/// The C++17 wrapper of the aoai C API.
namespace aoai {

// ------------------------------------------------------------------------------------------
// Enumerations
// ------------------------------------------------------------------------------------------

/// Status codes (the values of AoaiStatus). Stable numbers, never reused.
enum class Status : int32_t {
    Ok = AOAI_STATUS_OK,                               ///< Success.
    NullArgument = AOAI_STATUS_NULL_ARGUMENT,          ///< A required pointer was NULL (e.g. a moved-from object).
    InvalidArgument = AOAI_STATUS_INVALID_ARGUMENT,    ///< Out of range or malformed argument.
    InvalidUtf8 = AOAI_STATUS_INVALID_UTF8,            ///< A string was not valid UTF-8.
    InvalidJson = AOAI_STATUS_INVALID_JSON,            ///< A JSON argument did not parse or had the wrong shape.
    InvalidConfig = AOAI_STATUS_INVALID_CONFIG,        ///< Incomplete or inconsistent configuration.
    InvalidState = AOAI_STATUS_INVALID_STATE,          ///< Not allowed in the object's current state.
    Empty = AOAI_STATUS_EMPTY,                         ///< Nothing available right now.
    Timeout = AOAI_STATUS_TIMEOUT,                     ///< A time limit was reached.
    Cancelled = AOAI_STATUS_CANCELLED,                 ///< Cancelled by the caller.
    WrongThread = AOAI_STATUS_WRONG_THREAD,            ///< A blocking call from a library thread.
    Panic = AOAI_STATUS_PANIC,                         ///< A library bug caught at the boundary.
    Shutdown = AOAI_STATUS_SHUTDOWN,                   ///< The runtime was shut down.
    Connection = AOAI_STATUS_CONNECTION,               ///< Connect, resolve or connection failure.
    Tls = AOAI_STATUS_TLS,                             ///< TLS handshake failure.
    Http = AOAI_STATUS_HTTP,                           ///< Another HTTP error.
    BadRequest = AOAI_STATUS_BAD_REQUEST,              ///< HTTP 400.
    Authentication = AOAI_STATUS_AUTHENTICATION,       ///< HTTP 401.
    PermissionDenied = AOAI_STATUS_PERMISSION_DENIED,  ///< HTTP 403.
    NotFound = AOAI_STATUS_NOT_FOUND,                  ///< HTTP 404 (e.g. DeploymentNotFound).
    RateLimited = AOAI_STATUS_RATE_LIMITED,            ///< HTTP 429; see Error::retry_after().
    ContentFiltered = AOAI_STATUS_CONTENT_FILTERED,    ///< Blocked by the content filter.
    Server = AOAI_STATUS_SERVER,                       ///< HTTP 5xx.
    ResponseParse = AOAI_STATUS_RESPONSE_PARSE,        ///< The body was not what the API returns.
    Stream = AOAI_STATUS_STREAM,                       ///< A stream broke off or carried an error.
    ResponseTooLarge = AOAI_STATUS_RESPONSE_TOO_LARGE, ///< The body exceeded the configured maximum.
    Credential = AOAI_STATUS_CREDENTIAL,               ///< No token could be obtained.
};

/// A static English description of a status ("rate limited").
inline std::string status_name(Status s) { return aoai_status_str(static_cast<int32_t>(s)); }

/// API flavours for Options::api_type.
enum class ApiType : int32_t {
    Azure = AOAI_API_AZURE,      ///< Azure classic: /openai/deployments/{d}/...?api-version=
    AzureV1 = AOAI_API_AZURE_V1, ///< Azure v1: /openai/v1/..., deployment in the body.
    OpenAI = AOAI_API_OPENAI,    ///< OpenAI or any OpenAI-compatible server.
    AzureAD = AOAI_API_AZURE_AD, ///< Azure with Entra ID tokens.
};

/// Message roles for Request::message.
enum class Role : int32_t {
    System = AOAI_ROLE_SYSTEM,
    Developer = AOAI_ROLE_DEVELOPER,
    User = AOAI_ROLE_USER,
    Assistant = AOAI_ROLE_ASSISTANT,
    Tool = AOAI_ROLE_TOOL, ///< Not accepted by Request::message: use Request::tool_result.
};

/// What a Request asks for.
enum class RequestKind : int32_t {
    Chat = AOAI_REQUEST_CHAT,
    Completion = AOAI_REQUEST_COMPLETION,
    Embedding = AOAI_REQUEST_EMBEDDING,
};

/// Kinds of stream events (Event::kind).
enum class EventKind : int32_t {
    None = 0,          ///< Only for an empty (moved-from) Event.
    TextDelta = 1,     ///< A piece of a choice's text (whole UTF-8 code points).
    ToolCallDelta = 2, ///< A piece of a tool call: index, id/name on the first piece, argument fragment.
    Finish = 3,        ///< A choice finished; Event::finish_reason().
    Usage = 4,         ///< Token usage (stream_include_usage); Event::usage().
    ContentFilter = 5, ///< Content-filter results of the prompt (choice -1) or a choice.
    RefusalDelta = 6,  ///< A piece of a refusal message.
};

/// States of an Operation (Operation::poll).
enum class State : int32_t {
    Pending = 0,   ///< Still running.
    Done = 1,      ///< Succeeded: Operation::take_response().
    Failed = 2,    ///< Failed: Operation::error().
    Cancelled = 3, ///< Cancelled (cancel(), destroyed client): Operation::error().
};

// ------------------------------------------------------------------------------------------
// Error
// ------------------------------------------------------------------------------------------

/// A failed call, with everything the library knows about the failure.
///
/// Thrown by every wrapper function whose C call returns a status other than AOAI_STATUS_OK
/// (Operation::next_event turns AOAI_STATUS_EMPTY into std::nullopt instead). The detail is
/// copied from aoai_last_error() right after the failing call (or from aoai_op_error() for an
/// operation), so the object stays valid forever and may move between threads.
class Error : public std::runtime_error {
public:
    /// An error raised by the wrapper itself (no HTTP detail).
    Error(Status status, const std::string &message)
        : std::runtime_error(message), status_(status), status_name_(aoai::status_name(status)) {}

    /// Copies the detail of a C error object. `status` is the status the failing call returned
    /// (the truth); `err` may be NULL. Every field is read before any other aoai call.
    static Error from_c(int32_t status, const AoaiError *err) {
        std::string message;
        Fields f;
        if (err != nullptr) {
            // (The length is read after the call that writes it: never in the same expression.)
            auto get = [err](const char *(*fn)(const AoaiError *, size_t *)) -> std::optional<std::string> {
                size_t n = 0;
                const char *p = fn(err, &n);
                if (p == nullptr) return std::nullopt;
                return std::string(p, n);
            };
            message = get(&aoai_error_message).value_or(std::string());
            f.http_status = aoai_error_http_status(err);
            f.code = get(&aoai_error_code);
            f.type = get(&aoai_error_type);
            f.param = get(&aoai_error_param);
            f.request_id = get(&aoai_error_request_id);
            f.body = get(&aoai_error_body);
            int64_t ra = aoai_error_retry_after_ms(err);
            if (ra >= 0) f.retry_after = std::chrono::milliseconds(ra);
            if (auto cats = get(&aoai_error_filtered_categories)) f.categories = split(*cats);
            f.attempts = aoai_error_attempts(err);
            for (const char *name : captured_headers()) {
                size_t n = 0;
                const char *v = aoai_error_header(err, name, &n);
                if (v != nullptr) f.headers.emplace_back(name, std::string(v, n));
            }
        }
        std::string name = aoai_status_str(status);
        if (message.empty()) message = name;
        return Error(static_cast<Status>(status), message, std::move(name), std::move(f));
    }

    /// The error of the calling thread's last failed call (aoai_last_error()).
    static Error last(int32_t status) { return from_c(status, aoai_last_error()); }

    /// The status (Status::RateLimited, ...).
    Status status() const noexcept { return status_; }
    /// The status as an English name ("rate limited").
    const std::string &status_name() const noexcept { return status_name_; }
    /// The library's message (same as what()).
    std::string message() const { return what(); }
    /// HTTP status of the failing response; 0 when there was none.
    int32_t http_status() const noexcept { return http_status_; }
    /// Service error code ("content_filter", "DeploymentNotFound", "401", ...).
    const std::optional<std::string> &code() const noexcept { return code_; }
    /// OpenAI error `type` ("invalid_request_error").
    const std::optional<std::string> &type() const noexcept { return type_; }
    /// OpenAI error `param` ("prompt", "messages").
    const std::optional<std::string> &param() const noexcept { return param_; }
    /// Request id of the failing response (apim-request-id, else x-request-id).
    const std::optional<std::string> &request_id() const noexcept { return request_id_; }
    /// The server's retry hint (retry-after-ms, x-ms-retry-after-ms, Retry-After).
    const std::optional<std::chrono::milliseconds> &retry_after() const noexcept { return retry_after_; }
    /// Content-filter categories that blocked the request ("violence", "hate", ...).
    const std::vector<std::string> &filtered_categories() const noexcept { return categories_; }
    /// HTTP attempts made (1 + retries); 0 when no request was sent.
    int32_t attempts() const noexcept { return attempts_; }
    /// Raw body of the failing response (the service's error JSON).
    const std::optional<std::string> &body() const noexcept { return body_; }

    /// A header of the failing response, among those copied when the error was made (the
    /// C API has no way to list them all): request ids, region, content-type, the retry
    /// headers and the x-ratelimit-* headers. Name case-insensitive.
    std::optional<std::string> header(std::string_view name) const {
        for (const auto &h : headers_) {
            if (h.first.size() != name.size()) continue;
            bool same = true;
            for (size_t i = 0; i < name.size() && same; ++i) {
                char a = h.first[i], b = name[i];
                if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
                same = a == b;
            }
            if (same) return h.second;
        }
        return std::nullopt;
    }
    /// The names header() can answer for.
    static const std::vector<const char *> &captured_headers() {
        static const std::vector<const char *> names = {
            "apim-request-id", "x-request-id", "x-ms-client-request-id", "x-ms-region", "content-type",
            "retry-after", "retry-after-ms", "x-ms-retry-after-ms", "x-ratelimit-limit-requests",
            "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"};
        return names;
    }

    /// Everything in one line: "rate limited (HTTP 429, code 429, retry after 1000 ms, ...): message".
    std::string detail() const {
        std::string s = status_name_;
        std::string extra;
        auto add = [&extra](const std::string &part) {
            if (!extra.empty()) extra += ", ";
            extra += part;
        };
        if (http_status_ != 0) add("HTTP " + std::to_string(http_status_));
        if (code_) add("code " + *code_);
        if (type_) add("type " + *type_);
        if (param_) add("param " + *param_);
        if (retry_after_) add("retry after " + std::to_string(retry_after_->count()) + " ms");
        if (!categories_.empty()) {
            std::string c;
            for (const auto &x : categories_) c += (c.empty() ? "" : ",") + x;
            add("filtered " + c);
        }
        if (attempts_ > 1) add(std::to_string(attempts_) + " attempts");
        if (request_id_) add("request id " + *request_id_);
        if (!extra.empty()) s += " (" + extra + ")";
        return s + ": " + what();
    }

    /// Splits a comma-separated category list ("violence,hate").
    static std::vector<std::string> split(std::string_view s) {
        std::vector<std::string> out;
        while (!s.empty()) {
            size_t comma = s.find(',');
            std::string_view part = s.substr(0, comma);
            if (!part.empty()) out.emplace_back(part);
            if (comma == std::string_view::npos) break;
            s.remove_prefix(comma + 1);
        }
        return out;
    }

private:
    struct Fields {
        int32_t http_status = 0;
        std::optional<std::string> code, type, param, request_id, body;
        std::optional<std::chrono::milliseconds> retry_after;
        std::vector<std::string> categories;
        int32_t attempts = 0;
        std::vector<std::pair<std::string, std::string>> headers;
    };
    Error(Status status, const std::string &message, std::string status_name, Fields f)
        : std::runtime_error(message), status_(status), status_name_(std::move(status_name)),
          http_status_(f.http_status), code_(std::move(f.code)), type_(std::move(f.type)),
          param_(std::move(f.param)), request_id_(std::move(f.request_id)), body_(std::move(f.body)),
          retry_after_(f.retry_after), categories_(std::move(f.categories)), attempts_(f.attempts),
          headers_(std::move(f.headers)) {}

    Status status_;
    std::string status_name_;
    int32_t http_status_ = 0;
    std::optional<std::string> code_, type_, param_, request_id_, body_;
    std::optional<std::chrono::milliseconds> retry_after_;
    std::vector<std::string> categories_;
    int32_t attempts_ = 0;
    std::vector<std::pair<std::string, std::string>> headers_;
};

/// Throws Error (read from aoai_last_error()) unless `status` is AOAI_STATUS_OK. Use it right
/// after a C call when mixing the C API with the wrapper.
inline void check(int32_t status) {
    if (status != AOAI_STATUS_OK) throw Error::last(status);
}

/// The library version ("0.1.0").
inline std::string version() { return aoai_version(); }
/// The library version as (MAJOR << 16) | (MINOR << 8) | PATCH; compare with AOAI_VERSION_NUMBER.
inline uint32_t version_number() { return aoai_version_number(); }

/// Stops the library runtime and its threads (aoai_shutdown). Destroy every Client first. Not
/// from a callback (throws Status::WrongThread there).
inline void shutdown() { check(aoai_shutdown()); }

// ------------------------------------------------------------------------------------------
// Internals
// ------------------------------------------------------------------------------------------

namespace detail {

/// A NUL-terminated copy of `s` for the C API; refuses embedded NULs (C would cut there).
inline std::string c_str(std::string_view s, const char *what = "string argument") {
    if (s.find('\0') != std::string_view::npos)
        throw Error(Status::InvalidArgument, std::string(what) + " contains a NUL byte");
    return std::string(s);
}

inline std::optional<std::string> opt_str(const char *p, size_t n) {
    if (p == nullptr) return std::nullopt;
    return std::string(p, n);
}

inline std::string owned_str(char *p) {
    std::string s = p != nullptr ? std::string(p) : std::string();
    aoai_string_free(p);
    return s;
}

inline std::vector<std::string> split_csv(const char *p, size_t n) {
    if (p == nullptr) return {};
    return Error::split(std::string_view(p, n));
}

inline int32_t clamp_ms(std::chrono::milliseconds ms) {
    if (ms.count() < 0) return 0;
    if (ms.count() > INT32_MAX) return INT32_MAX;
    return static_cast<int32_t>(ms.count());
}

inline uint64_t unsigned_ms(std::chrono::milliseconds ms) {
    return ms.count() < 0 ? 0 : static_cast<uint64_t>(ms.count());
}

struct OptionsDeleter {
    void operator()(AoaiOptions *p) const noexcept { aoai_options_free(p); }
};
struct RequestDeleter {
    void operator()(AoaiRequest *p) const noexcept { aoai_request_free(p); }
};
struct ResponseDeleter {
    void operator()(AoaiResponse *p) const noexcept { aoai_response_free(p); }
};

} // namespace detail

/// Defines the rvalue twin of a fluent setter, so that `auto r = Request::chat().user("hi");`
/// moves the temporary instead of needing a copy. Undefined at the end of this header.
#define AOAI_HPP_RVALUE(Type, name, params, args)                                                      \
    Type &&name params && { return std::move(this->name args); }

// ------------------------------------------------------------------------------------------
// Usage, tool calls, filters
// ------------------------------------------------------------------------------------------

/// Token usage; a field is empty when the service did not report it.
struct Usage {
    std::optional<int64_t> prompt_tokens;
    std::optional<int64_t> completion_tokens;
    std::optional<int64_t> total_tokens;
    std::optional<int64_t> cached_tokens;
    std::optional<int64_t> reasoning_tokens;
    std::optional<int64_t> prompt_audio_tokens;
    std::optional<int64_t> completion_audio_tokens;
    std::optional<int64_t> accepted_prediction_tokens;
    std::optional<int64_t> rejected_prediction_tokens;

    /// Builds a Usage from a getter of AOAI_USAGE_* fields returning -1 for "absent".
    template <class Get> static Usage from(Get &&get) {
        auto f = [&get](int32_t field) -> std::optional<int64_t> {
            int64_t v = get(field);
            if (v < 0) return std::nullopt;
            return v;
        };
        Usage u;
        u.prompt_tokens = f(AOAI_USAGE_PROMPT_TOKENS);
        u.completion_tokens = f(AOAI_USAGE_COMPLETION_TOKENS);
        u.total_tokens = f(AOAI_USAGE_TOTAL_TOKENS);
        u.cached_tokens = f(AOAI_USAGE_CACHED_TOKENS);
        u.reasoning_tokens = f(AOAI_USAGE_REASONING_TOKENS);
        u.prompt_audio_tokens = f(AOAI_USAGE_PROMPT_AUDIO_TOKENS);
        u.completion_audio_tokens = f(AOAI_USAGE_COMPLETION_AUDIO_TOKENS);
        u.accepted_prediction_tokens = f(AOAI_USAGE_ACCEPTED_PREDICTION_TOKENS);
        u.rejected_prediction_tokens = f(AOAI_USAGE_REJECTED_PREDICTION_TOKENS);
        return u;
    }
};

/// One complete tool call of a response.
struct ToolCall {
    std::string id;        ///< "call_..."
    std::string name;      ///< The function name.
    std::string arguments; ///< The arguments, a JSON text.
};

/// The severity of one content-filter category.
struct FilterSeverity {
    std::string severity; ///< "safe", "low", "medium", "high"; "detected"/"not_detected".
    bool filtered = false; ///< Whether it blocked.
};

/// Offsets of an asynchronous content-filter annotation (Event::filter_offsets).
struct FilterOffsets {
    int64_t check_offset = -1;
    int64_t start_offset = -1;
    int64_t end_offset = -1;
};

// ------------------------------------------------------------------------------------------
// Response
// ------------------------------------------------------------------------------------------

/// A completed (or assembled streamed) response. Immutable: the const accessors may be called
/// from several threads. Each accessor copies into C++ memory.
class Response {
public:
    /// An empty response (no handle).
    Response() noexcept = default;
    /// Takes ownership of a C response (freed with aoai_response_free).
    explicit Response(AoaiResponse *owned) noexcept : h_(owned) {}

    /// True when this object holds a response.
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The C handle, still owned by this object.
    AoaiResponse *get() const noexcept { return h_.get(); }
    /// Gives up ownership of the C handle (free it with aoai_response_free).
    AoaiResponse *release() noexcept { return h_.release(); }

    /// Number of choices.
    uint32_t choices() const noexcept { return aoai_response_choice_count(h_.get()); }
    /// Text of a choice; empty when the choice does not exist or its content is null (tool
    /// calls). May be "" (a reasoning model that spent its budget thinking).
    std::optional<std::string> text(uint32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_text(h_.get(), choice, &n);
        return detail::opt_str(p, n);
    }
    /// Finish reason of a choice ("stop", "length", "tool_calls", "content_filter").
    std::optional<std::string> finish_reason(uint32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_finish_reason(h_.get(), choice, &n);
        return detail::opt_str(p, n);
    }
    /// Refusal message of a choice (structured outputs).
    std::optional<std::string> refusal(uint32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_refusal(h_.get(), choice, &n);
        return detail::opt_str(p, n);
    }
    /// The choice's `content_filter_results` JSON.
    std::optional<std::string> content_filter_json(uint32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_content_filter_json(h_.get(), choice, &n);
        return detail::opt_str(p, n);
    }
    /// The choice's `logprobs` JSON.
    std::optional<std::string> logprobs_json(uint32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_logprobs_json(h_.get(), choice, &n);
        return detail::opt_str(p, n);
    }
    /// The tool calls of a choice, in order.
    std::vector<ToolCall> tool_calls(uint32_t choice = 0) const {
        std::vector<ToolCall> out;
        uint32_t count = aoai_response_tool_call_count(h_.get(), choice);
        out.reserve(count);
        for (uint32_t i = 0; i < count; ++i) {
            size_t n = 0;
            ToolCall tc;
            const char *p = aoai_response_tool_call_id(h_.get(), choice, i, &n);
            if (p != nullptr) tc.id.assign(p, n);
            p = aoai_response_tool_call_name(h_.get(), choice, i, &n);
            if (p != nullptr) tc.name.assign(p, n);
            p = aoai_response_tool_call_arguments(h_.get(), choice, i, &n);
            if (p != nullptr) tc.arguments.assign(p, n);
            out.push_back(std::move(tc));
        }
        return out;
    }
    /// Response id ("chatcmpl-...").
    std::optional<std::string> id() const {
        size_t n = 0;
        const char *p = aoai_response_id(h_.get(), &n);
        return detail::opt_str(p, n);
    }
    /// The model that answered (the real model, not the deployment).
    std::optional<std::string> model() const {
        size_t n = 0;
        const char *p = aoai_response_model(h_.get(), &n);
        return detail::opt_str(p, n);
    }
    /// `system_fingerprint`.
    std::optional<std::string> system_fingerprint() const {
        size_t n = 0;
        const char *p = aoai_response_system_fingerprint(h_.get(), &n);
        return detail::opt_str(p, n);
    }
    /// The raw response body (for a stream: the assembled body in the non-stream shape).
    std::string json() const {
        size_t n = 0;
        const char *p = aoai_response_json(h_.get(), &n);
        return p != nullptr ? std::string(p, n) : std::string();
    }
    /// Request id (apim-request-id, else x-request-id).
    std::optional<std::string> request_id() const {
        size_t n = 0;
        const char *p = aoai_response_request_id(h_.get(), &n);
        return detail::opt_str(p, n);
    }
    /// Azure region that served the call (x-ms-region).
    std::optional<std::string> region() const {
        size_t n = 0;
        const char *p = aoai_response_region(h_.get(), &n);
        return detail::opt_str(p, n);
    }
    /// A response header (name case-insensitive).
    std::optional<std::string> header(std::string_view name) const {
        std::string c = detail::c_str(name, "header name");
        size_t n = 0;
        const char *p = aoai_response_header(h_.get(), c.c_str(), &n);
        return detail::opt_str(p, n);
    }
    /// HTTP status of the response (200).
    int32_t http_status() const noexcept { return aoai_response_http_status(h_.get()); }
    /// HTTP attempts it took (1 + retries).
    int32_t attempts() const noexcept { return aoai_response_attempts(h_.get()); }
    /// Unix time the response was created.
    std::optional<int64_t> created() const noexcept {
        int64_t v = aoai_response_created(h_.get());
        if (v < 0) return std::nullopt;
        return v;
    }
    /// Token usage.
    Usage usage() const {
        AoaiResponse *r = h_.get();
        return Usage::from([r](int32_t f) { return aoai_response_usage(r, f); });
    }
    /// Number of prompt filter results (one per prompt).
    uint32_t prompt_filter_count() const noexcept { return aoai_response_prompt_filter_count(h_.get()); }
    /// The `content_filter_results` JSON of prompt filter entry `index`.
    std::optional<std::string> prompt_filter_json(uint32_t index) const {
        size_t n = 0;
        const char *p = aoai_response_prompt_filter_json(h_.get(), index, &n);
        return detail::opt_str(p, n);
    }
    /// Filtered categories of a choice, or with `choice` -1 of the prompt filter results.
    /// Empty when none were filtered or the choice does not exist.
    std::vector<std::string> filtered_categories(int32_t choice = 0) const {
        size_t n = 0;
        const char *p = aoai_response_filtered_categories(h_.get(), choice, &n);
        return detail::split_csv(p, n);
    }
    /// Severity of a filter category of a choice (or with -1 of the first prompt).
    std::optional<FilterSeverity> filter_severity(int32_t choice, std::string_view category) const {
        std::string c = detail::c_str(category, "category");
        int32_t filtered = 0;
        const char *p = aoai_response_filter_severity(h_.get(), choice, c.c_str(), &filtered);
        if (p == nullptr) return std::nullopt;
        return FilterSeverity{p, filtered != 0};
    }
    /// Number of embedding vectors.
    uint32_t embedding_count() const noexcept { return aoai_response_embedding_count(h_.get()); }
    /// Embedding vector `index` (empty when absent).
    std::vector<float> embedding(uint32_t index = 0) const {
        size_t dims = 0;
        const float *p = aoai_response_embedding(h_.get(), index, &dims);
        if (p == nullptr) return {};
        return std::vector<float>(p, p + dims);
    }
    /// Every embedding vector, in input order.
    std::vector<std::vector<float>> embeddings() const {
        std::vector<std::vector<float>> out;
        uint32_t count = embedding_count();
        out.reserve(count);
        for (uint32_t i = 0; i < count; ++i) out.push_back(embedding(i));
        return out;
    }

private:
    std::unique_ptr<AoaiResponse, detail::ResponseDeleter> h_;
};

// ------------------------------------------------------------------------------------------
// Event
// ------------------------------------------------------------------------------------------

/// One typed stream event: borrowed in a Client::stream callback (valid for the call only; do
/// not keep it), owned when it comes from Operation::next_event.
class Event {
public:
    /// An empty event.
    Event() noexcept = default;
    /// Takes ownership of an event from aoai_op_next_event (freed with aoai_event_free).
    explicit Event(AoaiEvent *owned) noexcept : ev_(owned), owned_(owned != nullptr) {}
    /// A non-owning view of a borrowed event (a stream callback's argument).
    static Event borrow(const AoaiEvent *ev) noexcept {
        Event e;
        e.ev_ = const_cast<AoaiEvent *>(ev);
        e.owned_ = false;
        return e;
    }
    ~Event() { reset(); }
    Event(Event &&o) noexcept : ev_(std::exchange(o.ev_, nullptr)), owned_(std::exchange(o.owned_, false)) {}
    Event &operator=(Event &&o) noexcept {
        if (this != &o) {
            reset();
            ev_ = std::exchange(o.ev_, nullptr);
            owned_ = std::exchange(o.owned_, false);
        }
        return *this;
    }
    Event(const Event &) = delete;
    Event &operator=(const Event &) = delete;

    /// True when this object refers to an event.
    explicit operator bool() const noexcept { return ev_ != nullptr; }
    /// The C handle.
    const AoaiEvent *get() const noexcept { return ev_; }
    /// Whether this object frees the event.
    bool owned() const noexcept { return owned_; }

    /// The kind (EventKind::None for an empty event).
    EventKind kind() const noexcept { return static_cast<EventKind>(aoai_event_kind(ev_)); }
    /// Choice index, or -1 for prompt-level and usage events.
    int32_t choice() const noexcept { return aoai_event_choice(ev_); }
    /// TextDelta / RefusalDelta: the text piece; ToolCallDelta: the argument fragment; Finish:
    /// the finish reason; "" for other kinds.
    std::string text() const {
        size_t n = 0;
        const char *p = aoai_event_text(ev_, &n);
        return p != nullptr ? std::string(p, n) : std::string();
    }
    /// Finish: the finish reason.
    std::optional<std::string> finish_reason() const {
        if (kind() != EventKind::Finish) return std::nullopt;
        size_t n = 0;
        const char *p = aoai_event_text(ev_, &n);
        return detail::opt_str(p, n);
    }
    /// ToolCallDelta: the index of the tool call within the choice; -1 otherwise.
    int32_t tool_call_index() const noexcept { return aoai_event_tool_call_index(ev_); }
    /// ToolCallDelta: the call id (on the call's first piece only).
    std::optional<std::string> tool_call_id() const {
        size_t n = 0;
        const char *p = aoai_event_tool_call_id(ev_, &n);
        return detail::opt_str(p, n);
    }
    /// ToolCallDelta: the function name (on the call's first piece only).
    std::optional<std::string> tool_call_name() const {
        size_t n = 0;
        const char *p = aoai_event_tool_call_name(ev_, &n);
        return detail::opt_str(p, n);
    }
    /// ToolCallDelta: the argument fragment ("" otherwise).
    std::string tool_call_arguments() const {
        return kind() == EventKind::ToolCallDelta ? text() : std::string();
    }
    /// Usage: the counts (all empty for other kinds).
    Usage usage() const {
        const AoaiEvent *e = ev_;
        return Usage::from([e](int32_t f) { return aoai_event_usage(e, f); });
    }
    /// ContentFilter: the `content_filter_results` JSON.
    std::optional<std::string> filter_json() const {
        size_t n = 0;
        const char *p = aoai_event_filter_json(ev_, &n);
        return detail::opt_str(p, n);
    }
    /// ContentFilter: the filtered categories (empty when none, or for other kinds).
    std::vector<std::string> filtered_categories() const {
        size_t n = 0;
        const char *p = aoai_event_filtered_categories(ev_, &n);
        return detail::split_csv(p, n);
    }
    /// ContentFilter of the prompt: its prompt index; -1 otherwise.
    int32_t prompt_index() const noexcept { return aoai_event_prompt_index(ev_); }
    /// ContentFilter annotation (asynchronous filter): the offsets into the choice's text.
    std::optional<FilterOffsets> filter_offsets() const noexcept {
        FilterOffsets o;
        if (aoai_event_filter_offsets(ev_, &o.check_offset, &o.start_offset, &o.end_offset) == 0)
            return std::nullopt;
        return o;
    }
    /// The whole chunk JSON the event came from.
    std::string json() const {
        size_t n = 0;
        const char *p = aoai_event_json(ev_, &n);
        return p != nullptr ? std::string(p, n) : std::string();
    }

private:
    void reset() noexcept {
        if (owned_) aoai_event_free(ev_);
        ev_ = nullptr;
        owned_ = false;
    }
    AoaiEvent *ev_ = nullptr;
    bool owned_ = false;
};

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

/// An Entra ID access token supplied by the host (Options::token_callback).
struct Token {
    std::string token;       ///< The bearer token.
    int64_t expires_on = 0;  ///< Expiry in unix seconds; 0 = unknown.
};

/// Host token provider: returns a token for `scope`; throwing means failure.
using TokenProvider = std::function<Token(std::string_view scope)>;

namespace detail {
struct TokenState {
    TokenProvider fn;
    static int32_t trampoline(void *user_data, const char *scope, char *buf, size_t cap,
                              int64_t *expires_on_out) noexcept {
        try {
            auto *st = static_cast<TokenState *>(user_data);
            if (st == nullptr || !st->fn) return 1;
            Token t = st->fn(scope != nullptr ? std::string_view(scope) : std::string_view());
            if (t.token.empty() || t.token.size() + 1 > cap || t.token.find('\0') != std::string::npos) return 2;
            std::memcpy(buf, t.token.data(), t.token.size());
            buf[t.token.size()] = '\0';
            if (expires_on_out != nullptr) *expires_on_out = t.expires_on;
            return 0;
        } catch (...) {
            return 3;
        }
    }
};
} // namespace detail

/// Client configuration under construction (explicit options > JSON config > environment).
/// One thread at a time. Every setter throws Error when the library rejects the value.
///
/// String options take a `std::string_view`, or `std::nullopt` to clear the option (it then
/// falls back to the JSON config and the environment).
class Options {
public:
    /// An empty builder (aoai_options_new).
    Options() {
        AoaiOptions *p = nullptr;
        check(aoai_options_new(&p));
        h_.reset(p);
    }

    /// True when this object holds a builder.
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The C handle, still owned by this object.
    AoaiOptions *get() const noexcept { return h_.get(); }

#define AOAI_HPP_OPT_STR(name, fn)                                                                     \
    Options &name(std::string_view v) & {                                                              \
        std::string c = detail::c_str(v, #name);                                                       \
        check(fn(h_.get(), c.c_str()));                                                                \
        return *this;                                                                                  \
    }                                                                                                  \
    Options &name(std::nullopt_t) & {                                                                  \
        check(fn(h_.get(), nullptr));                                                                  \
        return *this;                                                                                  \
    }                                                                                                  \
    AOAI_HPP_RVALUE(Options, name, (std::string_view v), (v))                                          \
    AOAI_HPP_RVALUE(Options, name, (std::nullopt_t v), (v))

    /// Azure resource URL (https://NAME.openai.azure.com).
    AOAI_HPP_OPT_STR(endpoint, aoai_options_set_endpoint)
    /// OpenAI-compatible base URL (https://api.openai.com/v1).
    AOAI_HPP_OPT_STR(base_url, aoai_options_set_base_url)
    /// Default deployment (Azure) or model (OpenAI).
    AOAI_HPP_OPT_STR(deployment, aoai_options_set_deployment)
    /// Azure api-version (default 2024-10-21); "v1" or "preview" select the v1 API.
    AOAI_HPP_OPT_STR(api_version, aoai_options_set_api_version)
    /// OpenAI-Organization header.
    AOAI_HPP_OPT_STR(organization, aoai_options_set_organization)
    /// OpenAI-Project header.
    AOAI_HPP_OPT_STR(project, aoai_options_set_project)
    /// Entra ID token scope (default https://cognitiveservices.azure.com/.default).
    AOAI_HPP_OPT_STR(token_scope, aoai_options_set_token_scope)
    /// Proxy URL for all requests, or "none" to ignore HTTPS_PROXY/HTTP_PROXY.
    AOAI_HPP_OPT_STR(proxy, aoai_options_set_proxy)
    /// PEM file with extra trusted root certificates.
    AOAI_HPP_OPT_STR(ca_file, aoai_options_set_ca_file)
    /// API key (api-key header for Azure, Authorization: Bearer for OpenAI). Never printed.
    AOAI_HPP_OPT_STR(api_key, aoai_options_set_api_key)
    /// A fixed Entra ID access token. Never printed.
    AOAI_HPP_OPT_STR(ad_token, aoai_options_set_ad_token)
    /// Entra ID credential: a name ("default", "managed_identity", "azure_cli", ...) or a JSON
    /// object/array describing a source or a chain.
    AOAI_HPP_OPT_STR(credential, aoai_options_set_credential)
#undef AOAI_HPP_OPT_STR

#define AOAI_HPP_OPT_MS(name, fn)                                                                      \
    Options &name(std::chrono::milliseconds v) & {                                                     \
        check(fn(h_.get(), detail::unsigned_ms(v)));                                                   \
        return *this;                                                                                  \
    }                                                                                                  \
    AOAI_HPP_RVALUE(Options, name, (std::chrono::milliseconds v), (v))

    /// Connect time limit (default 10 s; 0 = none).
    AOAI_HPP_OPT_MS(connect_timeout, aoai_options_set_connect_timeout_ms)
    /// Time limit from sending to the response head (default 0 = none).
    AOAI_HPP_OPT_MS(first_byte_timeout, aoai_options_set_first_byte_timeout_ms)
    /// Longest silence between body chunks (default 60 s; 0 = none).
    AOAI_HPP_OPT_MS(idle_timeout, aoai_options_set_idle_timeout_ms)
    /// Time limit for a whole call including retries (default 600 s; 0 = none).
    AOAI_HPP_OPT_MS(total_timeout, aoai_options_set_total_timeout_ms)
    /// Longest server-requested retry wait that is honoured (default 60 s).
    AOAI_HPP_OPT_MS(max_retry_after, aoai_options_set_max_retry_after_ms)
#undef AOAI_HPP_OPT_MS

    /// Largest response body accepted, in bytes (default 64 MiB; minimum 1024).
    Options &max_response_bytes(uint64_t bytes) & {
        check(aoai_options_set_max_response_bytes(h_.get(), bytes));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, max_response_bytes, (uint64_t bytes), (bytes))

    /// The API flavour.
    Options &api_type(ApiType t) & {
        check(aoai_options_set_api_type(h_.get(), static_cast<int32_t>(t)));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, api_type, (ApiType t), (t))

    /// Tokens come from the host: `fn` is asked for a token when one is needed (on a library
    /// thread, one call at a time, never after the client is destroyed); throwing from it, or
    /// returning an empty token, fails the fetch. The clients created from these options keep
    /// their own reference to `fn`.
    Options &token_callback(TokenProvider fn) & {
        auto st = std::make_shared<detail::TokenState>();
        st->fn = std::move(fn);
        check(aoai_options_set_token_callback(h_.get(), &detail::TokenState::trampoline, st.get()));
        token_ = std::move(st);
        return *this;
    }
    /// Tokens come from the host only through Client::set_token (no callback).
    Options &token_callback(std::nullptr_t) & {
        check(aoai_options_set_token_callback(h_.get(), nullptr, nullptr));
        token_.reset();
        return *this;
    }
    AOAI_HPP_RVALUE(Options, token_callback, (TokenProvider fn), (std::move(fn)))
    AOAI_HPP_RVALUE(Options, token_callback, (std::nullptr_t v), (v))

    /// Allows http:// to a non-loopback host (keys in clear text: trusted networks only).
    Options &allow_insecure_http(bool allow) & {
        check(aoai_options_set_allow_insecure_http(h_.get(), allow ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, allow_insecure_http, (bool allow), (allow))

    /// Retries after a failed attempt (default 2, max 20).
    Options &max_retries(uint32_t retries) & {
        check(aoai_options_set_max_retries(h_.get(), retries));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, max_retries, (uint32_t retries), (retries))

    /// Adds a header to every request (not api-key/authorization).
    Options &header(std::string_view name, std::string_view value) & {
        std::string n = detail::c_str(name, "header name"), v = detail::c_str(value, "header value");
        check(aoai_options_add_header(h_.get(), n.c_str(), v.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, header, (std::string_view name, std::string_view value), (name, value))

    /// A default request parameter for every call (key "temperature", value JSON "0.2").
    Options &default_json(std::string_view key, std::string_view value_json) & {
        std::string k = detail::c_str(key, "key"), v = detail::c_str(value_json, "value_json");
        check(aoai_options_set_default_json(h_.get(), k.c_str(), v.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, default_json, (std::string_view key, std::string_view value_json), (key, value_json))

    /// false ignores environment variables (tests, sandboxes); true reads them (the default).
    Options &use_environment(bool use) & {
        check(aoai_options_set_use_environment(h_.get(), use ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, use_environment, (bool use), (use))

    /// Loads a JSON config (text starting with `{`, else a file path) as the layer between
    /// explicit options and the environment.
    Options &load_json(std::string_view json_or_path) & {
        std::string c = detail::c_str(json_or_path, "json_or_path");
        check(aoai_options_load_json(h_.get(), c.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Options, load_json, (std::string_view json_or_path), (json_or_path))

private:
    friend class Client;
    std::unique_ptr<AoaiOptions, detail::OptionsDeleter> h_;
    std::shared_ptr<detail::TokenState> token_;
};

// ------------------------------------------------------------------------------------------
// Request
// ------------------------------------------------------------------------------------------

/// A chat, completion or embeddings request: made with Request::chat(), ::completion(),
/// ::embedding() or ::from_json(). Fluent setters throw Error when the library rejects a value
/// (the message names it). One thread at a time; a Client may send it any number of times.
class Request {
public:
    /// An empty request (no handle): fill it by assigning a factory result.
    Request() noexcept = default;
    /// Takes ownership of a C request of the given kind.
    Request(AoaiRequest *owned, RequestKind kind) noexcept : h_(owned), kind_(kind) {}

    /// A new chat request.
    static Request chat() {
        AoaiRequest *p = nullptr;
        check(aoai_chat_request_new(&p));
        return Request(p, RequestKind::Chat);
    }
    /// A new legacy completion request.
    static Request completion() {
        AoaiRequest *p = nullptr;
        check(aoai_completion_request_new(&p));
        return Request(p, RequestKind::Completion);
    }
    /// A new embeddings request.
    static Request embedding() {
        AoaiRequest *p = nullptr;
        check(aoai_embedding_request_new(&p));
        return Request(p, RequestKind::Embedding);
    }
    /// A request from a whole JSON body (passed through; the library adds only `model` where
    /// the API needs it and `stream`).
    static Request from_json(RequestKind kind, std::string_view json) {
        std::string c = detail::c_str(json, "json");
        AoaiRequest *p = nullptr;
        check(aoai_request_from_json(static_cast<int32_t>(kind), c.c_str(), &p));
        return Request(p, kind);
    }

    /// True when this object holds a request.
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The C handle, still owned by this object.
    AoaiRequest *get() const noexcept { return h_.get(); }
    /// Gives up ownership of the C handle (free it with aoai_request_free).
    AoaiRequest *release() noexcept { return h_.release(); }
    /// What the request asks for.
    RequestKind kind() const noexcept { return kind_; }

    /// The body as JSON (what would be sent, before the library adds `model`/`stream`).
    std::string to_json() const {
        char *p = nullptr;
        check(aoai_request_to_json(h_.get(), &p));
        return detail::owned_str(p);
    }

#define AOAI_HPP_REQ_NUM(name, type, fn)                                                               \
    Request &name(type v) & {                                                                          \
        check(fn(h_.get(), v));                                                                        \
        return *this;                                                                                  \
    }                                                                                                  \
    AOAI_HPP_RVALUE(Request, name, (type v), (v))

#define AOAI_HPP_REQ_STR(name, fn)                                                                     \
    Request &name(std::string_view v) & {                                                              \
        std::string c = detail::c_str(v, #name);                                                       \
        check(fn(h_.get(), c.c_str()));                                                                \
        return *this;                                                                                  \
    }                                                                                                  \
    AOAI_HPP_RVALUE(Request, name, (std::string_view v), (v))

    /// Sampling temperature, 0..2.
    AOAI_HPP_REQ_NUM(temperature, double, aoai_request_set_temperature)
    /// Nucleus sampling, 0..1.
    AOAI_HPP_REQ_NUM(top_p, double, aoai_request_set_top_p)
    /// -2..2.
    AOAI_HPP_REQ_NUM(frequency_penalty, double, aoai_request_set_frequency_penalty)
    /// -2..2.
    AOAI_HPP_REQ_NUM(presence_penalty, double, aoai_request_set_presence_penalty)
    /// Token limit of the answer (not for o-series models: use max_completion_tokens).
    AOAI_HPP_REQ_NUM(max_tokens, int64_t, aoai_request_set_max_tokens)
    /// Chat: token limit including reasoning tokens (o-series models).
    AOAI_HPP_REQ_NUM(max_completion_tokens, int64_t, aoai_request_set_max_completion_tokens)
    /// Number of choices, 1..128.
    AOAI_HPP_REQ_NUM(n, int64_t, aoai_request_set_n)
    /// Sampling seed for best-effort determinism.
    AOAI_HPP_REQ_NUM(seed, int64_t, aoai_request_set_seed)
    /// Chat: 0/1 to return token log probabilities. Completions: 0..5 top log probabilities.
    AOAI_HPP_REQ_NUM(logprobs, int64_t, aoai_request_set_logprobs)
    /// Chat: 0..20 most likely tokens per position (needs logprobs 1).
    AOAI_HPP_REQ_NUM(top_logprobs, int64_t, aoai_request_set_top_logprobs)
    /// Completions: server-side candidates, 1..20 (>= n).
    AOAI_HPP_REQ_NUM(best_of, int64_t, aoai_request_set_best_of)
    /// Embeddings: output dimensions (text-embedding-3 models).
    AOAI_HPP_REQ_NUM(dimensions, int64_t, aoai_request_set_dimensions)

    /// End-user id for abuse monitoring (the request's `user` field; aoai_request_set_user).
    AOAI_HPP_REQ_STR(end_user, aoai_request_set_user)
    /// Adds a stop sequence (at most 4).
    AOAI_HPP_REQ_STR(stop, aoai_request_add_stop)
    /// Deployment (Azure) or model (OpenAI, Azure v1) for this request only.
    AOAI_HPP_REQ_STR(deployment, aoai_request_set_deployment)
    /// Completions: the prompt (replaces any earlier prompt).
    AOAI_HPP_REQ_STR(prompt, aoai_request_set_prompt)
    /// Completions: appends a prompt, making `prompt` an array (one choice set per prompt).
    AOAI_HPP_REQ_STR(add_prompt, aoai_request_add_prompt)
    /// Completions: text after the completion.
    AOAI_HPP_REQ_STR(suffix, aoai_request_set_suffix)
    /// Embeddings: appends an input text.
    AOAI_HPP_REQ_STR(input, aoai_request_add_input)
    /// Chat: "auto", "none", "required", or the name of a function to call.
    AOAI_HPP_REQ_STR(tool_choice, aoai_request_set_tool_choice)
    /// Chat: "minimal", "low", "medium" or "high" (o-series models).
    AOAI_HPP_REQ_STR(reasoning_effort, aoai_request_set_reasoning_effort)
    /// Chat: appends a text part to the last message (its content becomes a part array).
    AOAI_HPP_REQ_STR(text_part, aoai_request_add_text_part)
    /// Chat: appends a whole message given as a JSON object (any role, parts, tool calls).
    AOAI_HPP_REQ_STR(message_json, aoai_request_add_message_json)
    /// Merges a JSON object into the request body (top-level keys replace).
    AOAI_HPP_REQ_STR(merge_json, aoai_request_merge_json)

    /// Chat: appends a message (System, Developer, User or Assistant).
    Request &message(Role role, std::string_view content) & {
        std::string c = detail::c_str(content, "content");
        check(aoai_request_add_message(h_.get(), static_cast<int32_t>(role), c.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, message, (Role role, std::string_view content), (role, content))
    /// Chat: appends a system message.
    Request &system(std::string_view content) & { return message(Role::System, content); }
    AOAI_HPP_RVALUE(Request, system, (std::string_view content), (content))
    /// Chat: appends a developer message.
    Request &developer(std::string_view content) & { return message(Role::Developer, content); }
    AOAI_HPP_RVALUE(Request, developer, (std::string_view content), (content))
    /// Chat: appends a user message.
    Request &user(std::string_view content) & { return message(Role::User, content); }
    AOAI_HPP_RVALUE(Request, user, (std::string_view content), (content))
    /// Chat: appends an assistant message.
    Request &assistant(std::string_view content) & { return message(Role::Assistant, content); }
    AOAI_HPP_RVALUE(Request, assistant, (std::string_view content), (content))

    /// Chat: appends the result of tool call `tool_call_id`.
    Request &tool_result(std::string_view tool_call_id, std::string_view content) & {
        std::string id = detail::c_str(tool_call_id, "tool_call_id"), c = detail::c_str(content, "content");
        check(aoai_request_add_tool_message(h_.get(), id.c_str(), c.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, tool_result, (std::string_view tool_call_id, std::string_view content),
                    (tool_call_id, content))

    /// Chat: appends the assistant message of `choice` in `resp` (text and tool calls), for
    /// multi-turn conversations and tool round trips.
    Request &response_message(const Response &resp, uint32_t choice = 0) & {
        check(aoai_request_add_response_message(h_.get(), resp.get(), choice));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, response_message, (const Response &resp, uint32_t choice = 0), (resp, choice))

    /// Chat: appends an image part (URL or data: URL) to the last message; `detail` "auto",
    /// "low" or "high".
    Request &image(std::string_view url, std::optional<std::string_view> detail_level = std::nullopt) & {
        std::string u = detail::c_str(url, "url");
        std::string d = detail_level ? detail::c_str(*detail_level, "detail") : std::string();
        check(aoai_request_add_image_part(h_.get(), u.c_str(), detail_level ? d.c_str() : nullptr));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, image,
                    (std::string_view url, std::optional<std::string_view> detail_level = std::nullopt),
                    (url, detail_level))

    /// Chat: declares a function tool; `parameters_json` is a JSON schema object.
    Request &function_tool(std::string_view name, std::optional<std::string_view> description = std::nullopt,
                           std::optional<std::string_view> parameters_json = std::nullopt, bool strict = false) & {
        std::string n = detail::c_str(name, "name");
        std::string d = description ? detail::c_str(*description, "description") : std::string();
        std::string p = parameters_json ? detail::c_str(*parameters_json, "parameters_json") : std::string();
        check(aoai_request_add_function_tool(h_.get(), n.c_str(), description ? d.c_str() : nullptr,
                                             parameters_json ? p.c_str() : nullptr, strict ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, function_tool,
                    (std::string_view name, std::optional<std::string_view> description = std::nullopt,
                     std::optional<std::string_view> parameters_json = std::nullopt, bool strict = false),
                    (name, description, parameters_json, strict))

    /// Chat: whether the model may call several tools in one turn.
    Request &parallel_tool_calls(bool on) & {
        check(aoai_request_set_parallel_tool_calls(h_.get(), on ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, parallel_tool_calls, (bool on), (on))

    /// Chat: answer as a JSON object.
    Request &response_format_json_object() & {
        check(aoai_request_set_response_format_json_object(h_.get()));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, response_format_json_object, (), ())

    /// Chat: structured output following `schema_json` named `name`.
    Request &response_format_json_schema(std::string_view name, std::string_view schema_json, bool strict = true) & {
        std::string n = detail::c_str(name, "name"), s = detail::c_str(schema_json, "schema_json");
        check(aoai_request_set_response_format_json_schema(h_.get(), n.c_str(), s.c_str(), strict ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, response_format_json_schema,
                    (std::string_view name, std::string_view schema_json, bool strict = true),
                    (name, schema_json, strict))

    /// Completions: whether the prompt is echoed before the completion.
    Request &echo(bool on) & {
        check(aoai_request_set_echo(h_.get(), on ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, echo, (bool on), (on))

    /// Token id `token` gets `bias` (-100..100).
    Request &logit_bias(int64_t token, int64_t bias) & {
        check(aoai_request_set_logit_bias(h_.get(), token, bias));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, logit_bias, (int64_t token, int64_t bias), (token, bias))

    /// Streaming: ask for a final usage event (`stream_options.include_usage`).
    Request &stream_include_usage(bool on) & {
        check(aoai_request_set_stream_include_usage(h_.get(), on ? 1 : 0));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, stream_include_usage, (bool on), (on))

    /// Sets any top-level field to a JSON value ("logprobs", "true"). `stream` is refused.
    Request &field_json(std::string_view key, std::string_view value_json) & {
        std::string k = detail::c_str(key, "key"), v = detail::c_str(value_json, "value_json");
        check(aoai_request_set_field_json(h_.get(), k.c_str(), v.c_str()));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, field_json, (std::string_view key, std::string_view value_json), (key, value_json))

    /// Per-request idle limit between chunks (0 = none), overriding the client's.
    Request &idle_timeout(std::chrono::milliseconds ms) & {
        check(aoai_request_set_idle_timeout_ms(h_.get(), detail::unsigned_ms(ms)));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, idle_timeout, (std::chrono::milliseconds ms), (ms))

    /// Per-request limit from sending to the response head (0 = none), overriding the client's.
    Request &first_byte_timeout(std::chrono::milliseconds ms) & {
        check(aoai_request_set_first_byte_timeout_ms(h_.get(), detail::unsigned_ms(ms)));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, first_byte_timeout, (std::chrono::milliseconds ms), (ms))

    /// Per-request total limit (0 = none), overriding the client's.
    Request &total_timeout(std::chrono::milliseconds ms) & {
        check(aoai_request_set_total_timeout_ms(h_.get(), detail::unsigned_ms(ms)));
        return *this;
    }
    AOAI_HPP_RVALUE(Request, total_timeout, (std::chrono::milliseconds ms), (ms))

#undef AOAI_HPP_REQ_NUM
#undef AOAI_HPP_REQ_STR

private:
    std::unique_ptr<AoaiRequest, detail::RequestDeleter> h_;
    RequestKind kind_ = RequestKind::Chat;
};

// ------------------------------------------------------------------------------------------
// Operation
// ------------------------------------------------------------------------------------------

class Operation;

/// A notify callback: runs on a library worker thread (see Operation::on_notify).
using NotifyFn = std::function<void(Operation &)>;

namespace detail {
struct NotifyState {
    std::shared_ptr<NotifyFn> fn;
    static void trampoline(void *user_data, AoaiOp *op) noexcept;
};
} // namespace detail

/// A running or finished call (Client::start). One thread at a time, except cancel(), which
/// any thread may call at any time. Destroying it cancels the call if still running and
/// returns only when its notify callback is not running and never will again.
class Operation {
public:
    /// An empty operation (no handle).
    Operation() noexcept = default;
    /// Takes ownership of a C operation (freed with aoai_op_free).
    explicit Operation(AoaiOp *owned) noexcept : op_(owned), owned_(owned != nullptr) {}
    ~Operation() { reset(); }
    Operation(Operation &&o) noexcept
        : op_(std::exchange(o.op_, nullptr)), owned_(std::exchange(o.owned_, false)), notify_(std::move(o.notify_)) {}
    Operation &operator=(Operation &&o) noexcept {
        if (this != &o) {
            reset();
            op_ = std::exchange(o.op_, nullptr);
            owned_ = std::exchange(o.owned_, false);
            notify_ = std::move(o.notify_);
        }
        return *this;
    }
    Operation(const Operation &) = delete;
    Operation &operator=(const Operation &) = delete;

    /// True when this object refers to an operation.
    explicit operator bool() const noexcept { return op_ != nullptr; }
    /// The C handle.
    AoaiOp *get() const noexcept { return op_; }
    /// Whether this object frees the operation (false for the view a notify callback gets).
    bool owned() const noexcept { return owned_; }

    /// The state; never blocks.
    State poll() const {
        int32_t s = 0;
        check(aoai_op_poll(op_, &s));
        return static_cast<State>(s);
    }
    /// True once the operation has ended (Done, Failed or Cancelled).
    bool ended() const { return poll() != State::Pending; }

    /// Takes the next queued event, or std::nullopt when none is queued right now. Events stay
    /// available after the end.
    std::optional<Event> next_event() {
        AoaiEvent *e = nullptr;
        int32_t st = aoai_op_next_event(op_, &e);
        if (st == AOAI_STATUS_EMPTY) return std::nullopt;
        check(st);
        return Event(e);
    }

    /// Waits until the operation has ended or `timeout` passed; true when it has ended. Not
    /// from a callback (throws Status::WrongThread there).
    bool wait(std::chrono::milliseconds timeout) const {
        int32_t st = aoai_op_wait(op_, detail::clamp_ms(timeout));
        if (st == AOAI_STATUS_TIMEOUT) return false;
        check(st);
        return true;
    }
    /// Waits until the operation has ended, however long it takes.
    void wait() const { check(aoai_op_wait(op_, -1)); }

    /// Waits until an event is queued or the operation has ended (true), or `timeout` passed
    /// (false). Not from a callback.
    bool wait_event(std::chrono::milliseconds timeout) const {
        int32_t st = aoai_op_wait_event(op_, detail::clamp_ms(timeout));
        if (st == AOAI_STATUS_TIMEOUT) return false;
        check(st);
        return true;
    }

    /// Cancels: the connection is closed and, if it had not ended yet, the state becomes
    /// Cancelled at once. Idempotent; any thread.
    void cancel() const { check(aoai_op_cancel(op_)); }

    /// Whether the worker has fully ended (after a cancel it may still be closing the
    /// connection for a moment).
    bool is_finished() const {
        int32_t f = 0;
        check(aoai_op_is_finished(op_, &f));
        return f != 0;
    }

    /// Moves out the response of a Done operation. Once only; before Done, or after a
    /// failure, throws Error with Status::InvalidState.
    Response take_response() {
        AoaiResponse *r = nullptr;
        check(aoai_op_take_response(op_, &r));
        return Response(r);
    }
    /// For a Failed or Cancelled stream: what arrived before the end, assembled like a
    /// response. Once only.
    Response take_partial_response() {
        AoaiResponse *r = nullptr;
        check(aoai_op_take_partial_response(op_, &r));
        return Response(r);
    }
    /// The error of a Failed or Cancelled operation (a copy of its own error object);
    /// std::nullopt while pending or when Done.
    std::optional<Error> error() const {
        const AoaiError *e = aoai_op_error(op_);
        if (e == nullptr) return std::nullopt;
        return Error::from_c(aoai_error_status(e), e);
    }

    /// Waits for the end, then returns the response or throws the operation's Error.
    Response result() {
        wait();
        if (auto e = error()) throw *e;
        return take_response();
    }

    /// Sets (or with an empty function removes) the notify callback.
    ///
    /// The callback runs **on a library worker thread** when the event queue becomes non-empty
    /// and once when the operation ends (and soon after this call if either already happened).
    /// It gets a non-owning view of this operation. It should only signal (set a flag, post to
    /// a queue, fulfil a promise) and return: it must not block, must not call wait(),
    /// wait_event() or Client::send/stream (they throw Status::WrongThread there), must not
    /// call on_notify(), and must not destroy this Operation. It may call poll(), ended(),
    /// next_event(), cancel() and error() on the view (remember that the Operation is for one
    /// thread at a time: do not drain events from the callback and the owning thread at once).
    /// Exceptions thrown by the callback are caught and discarded. Replacing or removing the
    /// callback waits until a running call of the previous one has returned; after the
    /// Operation is destroyed the callback never runs again.
    void on_notify(NotifyFn fn) {
        if (!owned_ && op_ != nullptr)
            throw Error(Status::InvalidState, "on_notify cannot be called on the view a notify callback gets");
        std::unique_ptr<detail::NotifyState> st;
        if (fn) {
            st.reset(new detail::NotifyState());
            st->fn = std::make_shared<NotifyFn>(std::move(fn));
        }
        check(aoai_op_set_notify(op_, st ? &detail::NotifyState::trampoline : nullptr, st.get()));
        // The library has swapped the callback and waited for a running call of the old one.
        notify_ = std::move(st);
    }

    /// Gives up ownership of the C handle (free it with aoai_op_free). Only for an operation
    /// without a notify callback (throws Status::InvalidState otherwise).
    AoaiOp *release() {
        if (notify_) throw Error(Status::InvalidState, "release() of an operation with a notify callback");
        owned_ = false;
        return std::exchange(op_, nullptr);
    }

private:
    friend class Client;
    friend struct detail::NotifyState;
    Operation(AoaiOp *op, bool owned) noexcept : op_(op), owned_(owned) {}

    void reset() noexcept {
        // Free first: afterwards the callback cannot run, so its state may go.
        if (owned_) aoai_op_free(op_);
        op_ = nullptr;
        owned_ = false;
        notify_.reset();
    }

    AoaiOp *op_ = nullptr;
    bool owned_ = false;
    std::unique_ptr<detail::NotifyState> notify_;
};

inline void detail::NotifyState::trampoline(void *user_data, AoaiOp *op) noexcept {
    try {
        auto *st = static_cast<NotifyState *>(user_data);
        // A copy keeps the function alive even if the callback ends up freeing its operation.
        std::shared_ptr<NotifyFn> fn = st->fn;
        Operation view(op, false);
        if (fn && *fn) (*fn)(view);
    } catch (...) {
        // Nothing may unwind into the library's worker thread.
    }
}

// ------------------------------------------------------------------------------------------
// Asynchronous sends (internals of Client::send_async)
// ------------------------------------------------------------------------------------------

namespace detail {

struct AsyncRegistry;

/// One Client::send_async call. Two references: the starting thread's (dropped once
/// aoai_client_start has returned) and the completer's (the notify callback, or the client's
/// destructor when the callback can no longer run). The last one frees the operation.
struct AsyncCall {
    std::promise<Response> promise;
    std::atomic<int> refs{2};
    std::atomic<bool> claimed{false};
    AoaiOp *op = nullptr;
    AsyncRegistry *registry = nullptr;
};

struct AsyncRegistry {
    std::mutex m;
    std::unordered_set<AsyncCall *> calls;

    void add(AsyncCall *c) {
        std::lock_guard<std::mutex> g(m);
        calls.insert(c);
    }
    void remove(AsyncCall *c) noexcept {
        std::lock_guard<std::mutex> g(m);
        calls.erase(c);
    }
    std::vector<AsyncCall *> take_all() {
        std::lock_guard<std::mutex> g(m);
        std::vector<AsyncCall *> v(calls.begin(), calls.end());
        calls.clear();
        return v;
    }

    /// Fulfils the promise from the operation's outcome.
    static void complete(AsyncCall *c, AoaiOp *op) noexcept {
        try {
            int32_t state = AOAI_STATUS_OK;
            if (aoai_op_poll(op, &state) != AOAI_STATUS_OK) state = static_cast<int32_t>(State::Cancelled);
            if (state == static_cast<int32_t>(State::Done)) {
                AoaiResponse *r = nullptr;
                int32_t st = aoai_op_take_response(op, &r);
                if (st == AOAI_STATUS_OK)
                    c->promise.set_value(Response(r));
                else
                    c->promise.set_exception(std::make_exception_ptr(Error::last(st)));
            } else {
                const AoaiError *e = aoai_op_error(op);
                Error err = e != nullptr ? Error::from_c(aoai_error_status(e), e)
                                         : Error(Status::Cancelled, "the client was destroyed before the call ended");
                c->promise.set_exception(std::make_exception_ptr(std::move(err)));
            }
        } catch (...) {
            try {
                c->promise.set_exception(std::current_exception());
            } catch (...) {
            }
        }
    }

    static void release(AsyncCall *c, AoaiOp *op) noexcept {
        if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            aoai_op_free(op); // allowed from inside the operation's own notify callback
            delete c;
        }
    }

    static void trampoline(void *user_data, AoaiOp *op) noexcept {
        auto *c = static_cast<AsyncCall *>(user_data);
        int32_t state = 0;
        if (aoai_op_poll(op, &state) != AOAI_STATUS_OK || state == static_cast<int32_t>(State::Pending)) return;
        if (c->claimed.exchange(true)) return; // a repeated notification
        c->registry->remove(c);
        complete(c, op);
        release(c, op);
    }

    /// After aoai_client_free: no callback can run any more, so complete what is left.
    void drain() noexcept {
        std::vector<AsyncCall *> left;
        try {
            left = take_all();
        } catch (...) {
            return;
        }
        for (AsyncCall *c : left) {
            if (c->claimed.exchange(true)) continue;
            complete(c, c->op);
            release(c, c->op);
        }
    }
};

template <class Fn> struct StreamContext {
    Fn *fn;
    std::exception_ptr error;

    static int32_t trampoline(void *user_data, const AoaiEvent *ev) noexcept {
        auto *ctx = static_cast<StreamContext *>(user_data);
        try {
            Event e = Event::borrow(ev);
            if constexpr (std::is_void_v<std::invoke_result_t<Fn &, const Event &>>) {
                (*ctx->fn)(static_cast<const Event &>(e));
                return AOAI_CONTINUE;
            } else {
                return (*ctx->fn)(static_cast<const Event &>(e)) ? AOAI_CONTINUE : AOAI_STOP;
            }
        } catch (...) {
            ctx->error = std::current_exception();
            return AOAI_STOP;
        }
    }
};

} // namespace detail

// ------------------------------------------------------------------------------------------
// Client
// ------------------------------------------------------------------------------------------

/// A configured client: thread-safe, share one across threads. Move-only; destroying it
/// cancels its running operations and returns only when none of its callbacks (notify, token)
/// is running or can run again; futures of unfinished send_async calls then fail with
/// Status::Cancelled. Operations it started may outlive it (they are cancelled).
class Client {
public:
    /// An empty client (no handle).
    Client() noexcept = default;

    /// A client from the options (explicit options > JSON config > environment). The options
    /// may be destroyed right after.
    explicit Client(const Options &opts) : token_(opts.token_), async_(new detail::AsyncRegistry()) {
        AoaiClient *c = nullptr;
        check(aoai_client_new(opts.get(), &c));
        h_ = c;
    }
    /// A client from environment variables only (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, ...).
    static Client from_env() {
        AoaiClient *c = nullptr;
        check(aoai_client_from_env(&c));
        return Client(c);
    }
    /// A client from a JSON config (text starting with `{`, or a file path) over the environment.
    static Client from_json(std::string_view json_or_path) {
        std::string s = detail::c_str(json_or_path, "json_or_path");
        AoaiClient *c = nullptr;
        check(aoai_client_from_json(s.c_str(), &c));
        return Client(c);
    }
    /// Takes ownership of a C client (freed with aoai_client_free).
    explicit Client(AoaiClient *owned) : h_(owned), async_(new detail::AsyncRegistry()) {}

    ~Client() { reset(); }
    Client(Client &&o) noexcept
        : h_(std::exchange(o.h_, nullptr)), token_(std::move(o.token_)), async_(std::move(o.async_)) {}
    Client &operator=(Client &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
            token_ = std::move(o.token_);
            async_ = std::move(o.async_);
        }
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    /// True when this object holds a client.
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The C handle, still owned by this object.
    AoaiClient *get() const noexcept { return h_; }

    /// The effective configuration as JSON, secrets redacted.
    std::string describe() const {
        char *p = nullptr;
        check(aoai_client_describe(h_, &p));
        return detail::owned_str(p);
    }

    /// Pushes a new Entra ID token into the client (token callback or credential clients).
    /// `expires_on_unix` 0 means unknown. Thread-safe.
    void set_token(std::string_view token, int64_t expires_on_unix = 0) const {
        std::string t = detail::c_str(token, "token");
        check(aoai_client_set_token(h_, t.c_str(), expires_on_unix));
    }

    /// The one-liner: `prompt` as one user message; the text of choice 0 ("" when none).
    std::string chat_simple(std::string_view prompt) const {
        std::string p = detail::c_str(prompt, "prompt");
        char *out = nullptr;
        check(aoai_chat_simple(h_, p.c_str(), &out));
        return detail::owned_str(out);
    }
    /// The legacy-completions one-liner.
    std::string completion_simple(std::string_view prompt) const {
        std::string p = detail::c_str(prompt, "prompt");
        char *out = nullptr;
        check(aoai_completion_simple(h_, p.c_str(), &out));
        return detail::owned_str(out);
    }

    /// Sends a request and waits for the whole response (retries as configured). Blocks.
    Response send(const Request &req) const {
        AoaiResponse *r = nullptr;
        check(aoai_client_send(h_, req.get(), &r));
        return Response(r);
    }

    /// Streams a chat or completion request: `fn` is called on this thread for each event as
    /// it arrives, with a borrowed `const Event&` valid for the call only. `fn` returns bool
    /// (false stops the stream: the connection is closed and Error with Status::Cancelled is
    /// thrown) or void (always go on). If `fn` throws, the stream stops and that exception is
    /// rethrown here, on the caller's thread, once the C call has returned. `fn` must not make
    /// blocking calls on this client. Returns the assembled response.
    template <class Fn> Response stream(const Request &req, Fn &&fn) const {
        using F = std::remove_reference_t<Fn>;
        static_assert(std::is_invocable_v<F &, const Event &>, "stream callback must be callable as fn(const aoai::Event&)");
        detail::StreamContext<F> ctx{&fn, nullptr};
        AoaiResponse *r = nullptr;
        int32_t st = aoai_client_stream(h_, req.get(), &detail::StreamContext<F>::trampoline, &ctx, &r);
        if (st != AOAI_STATUS_OK) {
            Error e = Error::last(st); // read the detail before anything else
            if (ctx.error) std::rethrow_exception(ctx.error);
            throw e;
        }
        Response resp(r);
        if (ctx.error) std::rethrow_exception(ctx.error);
        return resp;
    }

    /// Starts a call without blocking. With `stream` true, events queue up for
    /// Operation::next_event. The request is copied: it may be destroyed right after.
    Operation start(const Request &req, bool stream = false) const {
        AoaiOp *op = nullptr;
        check(aoai_client_start(h_, req.get(), stream ? AOAI_START_STREAM : 0, nullptr, nullptr, &op));
        return Operation(op);
    }
    /// Starts a call with a notify callback installed from the start (see
    /// Operation::on_notify: it runs on a library worker thread).
    Operation start(const Request &req, bool stream, NotifyFn notify) const {
        std::unique_ptr<detail::NotifyState> st;
        if (notify) {
            st.reset(new detail::NotifyState());
            st->fn = std::make_shared<NotifyFn>(std::move(notify));
        }
        AoaiOp *op = nullptr;
        check(aoai_client_start(h_, req.get(), stream ? AOAI_START_STREAM : 0,
                                st ? &detail::NotifyState::trampoline : nullptr, st.get(), &op));
        Operation o(op);
        o.notify_ = std::move(st);
        return o;
    }

    /// Sends a request without blocking; the future gets the response, or the Error (also
    /// when the call could not start). Completed through a notify callback and a
    /// std::promise: no thread of yours waits. If the client is destroyed first, the call is
    /// cancelled and the future fails with Status::Cancelled.
    std::future<Response> send_async(const Request &req) const {
        auto *c = new detail::AsyncCall();
        std::future<Response> fut = c->promise.get_future();
        if (!async_) {
            c->promise.set_exception(std::make_exception_ptr(Error(Status::NullArgument, "the client is empty")));
            delete c;
            return fut;
        }
        c->registry = async_.get();
        async_->add(c);
        AoaiOp *op = nullptr;
        int32_t st = aoai_client_start(h_, req.get(), 0, &detail::AsyncRegistry::trampoline, c, &op);
        if (st != AOAI_STATUS_OK) {
            Error e = Error::last(st);
            async_->remove(c);
            c->promise.set_exception(std::make_exception_ptr(std::move(e)));
            delete c;
            return fut;
        }
        c->op = op;
        detail::AsyncRegistry::release(c, op); // the starter's reference
        return fut;
    }

    /// Frees the client now (the destructor does the same). Afterwards the object is empty.
    void reset() noexcept {
        AoaiClient *c = std::exchange(h_, nullptr);
        if (c != nullptr) aoai_client_free(c); // after this no callback of the client runs
        if (async_) async_->drain();
        async_.reset();
        token_.reset();
    }

private:
    AoaiClient *h_ = nullptr;
    std::shared_ptr<detail::TokenState> token_;
    std::unique_ptr<detail::AsyncRegistry> async_;
};

// ------------------------------------------------------------------------------------------
// Logging
// ------------------------------------------------------------------------------------------

/// A log sink: `level` 1 error .. 4 debug; may be called on any thread, concurrently.
using LogFn = std::function<void(int level, std::string_view message)>;

namespace detail {
struct LogState {
    std::mutex m;
    std::shared_ptr<const LogFn> fn;
    // Never destroyed: library threads may log during static destruction.
    static LogState &get() {
        static LogState *s = new LogState();
        return *s;
    }
    static void trampoline(void *, int32_t level, const char *message) noexcept {
        try {
            std::shared_ptr<const LogFn> fn;
            {
                std::lock_guard<std::mutex> g(get().m);
                fn = get().fn;
            }
            if (fn && *fn) (*fn)(level, message != nullptr ? std::string_view(message) : std::string_view());
        } catch (...) {
        }
    }
};
} // namespace detail

/// Routes library logs to `fn` (an empty function restores the default: stderr when AOAI_LOG
/// is set). `max_level`: 0 off, 1 error, 2 warn, 3 info, 4 debug. Process-wide; set it at
/// startup. `fn` may run on any thread, concurrently; exceptions from it are discarded. Returns
/// once the previous callback is not running. Never call it from inside the log callback.
inline void set_log_callback(LogFn fn, int max_level) {
    auto &s = detail::LogState::get();
    std::shared_ptr<const LogFn> next = fn ? std::make_shared<const LogFn>(std::move(fn)) : nullptr;
    {
        std::lock_guard<std::mutex> g(s.m);
        s.fn = next;
    }
    check(aoai_set_log_callback(next ? &detail::LogState::trampoline : nullptr, nullptr, max_level));
}

} // namespace aoai

#undef AOAI_HPP_RVALUE

#endif /* AOAI_HPP */
