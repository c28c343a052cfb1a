using System;

namespace Aoai
{
    /// <summary>Status codes of the C API (stable numbers; see include/aoai.h).</summary>
    public enum AoaiStatus
    {
        Ok = Native.AOAI_STATUS_OK,
        NullArgument = Native.AOAI_STATUS_NULL_ARGUMENT,
        InvalidArgument = Native.AOAI_STATUS_INVALID_ARGUMENT,
        InvalidUtf8 = Native.AOAI_STATUS_INVALID_UTF8,
        InvalidJson = Native.AOAI_STATUS_INVALID_JSON,
        InvalidConfig = Native.AOAI_STATUS_INVALID_CONFIG,
        InvalidState = Native.AOAI_STATUS_INVALID_STATE,
        Empty = Native.AOAI_STATUS_EMPTY,
        Timeout = Native.AOAI_STATUS_TIMEOUT,
        Cancelled = Native.AOAI_STATUS_CANCELLED,
        WrongThread = Native.AOAI_STATUS_WRONG_THREAD,
        Panic = Native.AOAI_STATUS_PANIC,
        Shutdown = Native.AOAI_STATUS_SHUTDOWN,
        Connection = Native.AOAI_STATUS_CONNECTION,
        Tls = Native.AOAI_STATUS_TLS,
        Http = Native.AOAI_STATUS_HTTP,
        BadRequest = Native.AOAI_STATUS_BAD_REQUEST,
        Authentication = Native.AOAI_STATUS_AUTHENTICATION,
        PermissionDenied = Native.AOAI_STATUS_PERMISSION_DENIED,
        NotFound = Native.AOAI_STATUS_NOT_FOUND,
        RateLimited = Native.AOAI_STATUS_RATE_LIMITED,
        ContentFiltered = Native.AOAI_STATUS_CONTENT_FILTERED,
        Server = Native.AOAI_STATUS_SERVER,
        ResponseParse = Native.AOAI_STATUS_RESPONSE_PARSE,
        Stream = Native.AOAI_STATUS_STREAM,
        ResponseTooLarge = Native.AOAI_STATUS_RESPONSE_TOO_LARGE,
        Credential = Native.AOAI_STATUS_CREDENTIAL,
    }

    /// <summary>Which API shape the client speaks.</summary>
    public enum AoaiApiType
    {
        /// <summary>Azure classic: <c>{endpoint}/openai/deployments/{deployment}/...?api-version=</c>.</summary>
        Azure = Native.AOAI_API_AZURE,
        /// <summary>Azure v1: <c>{endpoint}/openai/v1/...</c>, deployment in the body.</summary>
        AzureV1 = Native.AOAI_API_AZURE_V1,
        /// <summary>OpenAI or any OpenAI-compatible server (BaseUrl).</summary>
        OpenAI = Native.AOAI_API_OPENAI,
        /// <summary>Azure with Entra ID (the default credential chain unless Credential is set).</summary>
        AzureAD = Native.AOAI_API_AZURE_AD,
    }

    /// <summary>Chat message roles.</summary>
    public enum ChatRole
    {
        System = Native.AOAI_ROLE_SYSTEM,
        Developer = Native.AOAI_ROLE_DEVELOPER,
        User = Native.AOAI_ROLE_USER,
        Assistant = Native.AOAI_ROLE_ASSISTANT,
        Tool = Native.AOAI_ROLE_TOOL,
    }

    /// <summary>Kinds of stream events.</summary>
    public enum StreamEventKind
    {
        None = 0,
        /// <summary>A piece of a choice's text (whole UTF-8 code points).</summary>
        TextDelta = Native.AOAI_EVENT_TEXT_DELTA,
        /// <summary>A piece of a tool call: index, id and name on the first piece, argument fragment in Text.</summary>
        ToolCallDelta = Native.AOAI_EVENT_TOOL_CALL_DELTA,
        /// <summary>A choice finished; FinishReason says why.</summary>
        Finish = Native.AOAI_EVENT_FINISH,
        /// <summary>Token usage (requested with StreamIncludeUsage).</summary>
        Usage = Native.AOAI_EVENT_USAGE,
        /// <summary>Content-filter results for the prompt (Choice -1) or an annotation of a choice.</summary>
        ContentFilter = Native.AOAI_EVENT_CONTENT_FILTER,
        /// <summary>A piece of a refusal message.</summary>
        RefusalDelta = Native.AOAI_EVENT_REFUSAL_DELTA,
    }

    /// <summary>State of a non-blocking operation.</summary>
    public enum OperationState
    {
        Pending = Native.AOAI_OP_PENDING,
        Done = Native.AOAI_OP_DONE,
        Failed = Native.AOAI_OP_FAILED,
        Cancelled = Native.AOAI_OP_CANCELLED,
    }

    /// <summary>Levels of library log messages.</summary>
    public enum AoaiLogLevel
    {
        Off = 0,
        Error = 1,
        Warn = 2,
        Info = 3,
        Debug = 4,
    }
}
