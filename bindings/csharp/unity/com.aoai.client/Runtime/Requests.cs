// Requests are native builders: every setter goes straight to the library, which validates it
// and answers with the exact message (an ArgumentException here). A request may be sent many
// times and from several threads once built; build it from one thread at a time.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Aoai
{
    /// <summary>Base of chat, completion and embedding requests. Dispose it when done (a finalizer
    /// frees it otherwise).</summary>
    public abstract unsafe class AoaiRequest : IDisposable
    {
        internal readonly RequestHandle Handle;
        private readonly string _name;

        private double? _temperature, _topP, _frequencyPenalty, _presencePenalty;
        private long? _maxTokens, _n, _seed;
        private string _user, _deployment;
        private bool? _streamIncludeUsage;
        private TimeSpan? _idleTimeout, _firstByteTimeout, _totalTimeout;

        internal AoaiRequest(IntPtr p, string name)
        {
            Handle = new RequestHandle(p);
            _name = name;
        }

        internal static unsafe IntPtr NewNative(int kind)
        {
            IntPtr p;
            int st;
            switch (kind)
            {
                case Native.AOAI_REQUEST_CHAT: st = Native.aoai_chat_request_new(&p); break;
                case Native.AOAI_REQUEST_COMPLETION: st = Native.aoai_completion_request_new(&p); break;
                default: st = Native.aoai_embedding_request_new(&p); break;
            }
            Errors.Check(st);
            return p;
        }

        internal static unsafe IntPtr FromJsonNative(int kind, string json)
        {
            byte[] j = Utf8.EncodeRequired(json, "json");
            IntPtr p;
            fixed (byte* jp = j) Errors.Check(Native.aoai_request_from_json(kind, jp, &p));
            return p;
        }

        internal Lease Use() { return new Lease(Handle, _name); }

        public void Dispose()
        {
            Handle.Dispose();
        }

        // ---- helpers: each runs one native setter and turns its status into an exception ----

        internal unsafe void SetStr(string value, string param, bool required, Func<IntPtr, IntPtr, int> call)
        {
            byte[] b = required ? Utf8.EncodeRequired(value, param) : Utf8.Encode(value, param);
            using (var l = Use())
            fixed (byte* p = b)
            {
                Errors.Check(call(l.Ptr, (IntPtr)p));
            }
        }

        internal unsafe void SetStr2(string a, string aName, bool aRequired, string b, string bName, bool bRequired, Func<IntPtr, IntPtr, IntPtr, int> call)
        {
            byte[] ab = aRequired ? Utf8.EncodeRequired(a, aName) : Utf8.Encode(a, aName);
            byte[] bb = bRequired ? Utf8.EncodeRequired(b, bName) : Utf8.Encode(b, bName);
            using (var l = Use())
            fixed (byte* ap = ab)
            fixed (byte* bp = bb)
            {
                Errors.Check(call(l.Ptr, (IntPtr)ap, (IntPtr)bp));
            }
        }

        internal void Set(Func<IntPtr, int> call)
        {
            using (var l = Use()) Errors.Check(call(l.Ptr));
        }

        private static T Required<T>(T? v, string name) where T : struct
        {
            if (!v.HasValue) throw new ArgumentNullException(name, name + " cannot be unset: the C API has no way to remove a field; build a new request instead");
            return v.Value;
        }

        // ---- fields shared by all kinds ----

        /// <summary>Sampling temperature, 0..2.</summary>
        public double? Temperature
        {
            get { return _temperature; }
            set { double v = Required(value, "Temperature"); Set(r => Native.aoai_request_set_temperature(r, v)); _temperature = v; }
        }

        /// <summary>Nucleus sampling, 0..1.</summary>
        public double? TopP
        {
            get { return _topP; }
            set { double v = Required(value, "TopP"); Set(r => Native.aoai_request_set_top_p(r, v)); _topP = v; }
        }

        /// <summary>-2..2.</summary>
        public double? FrequencyPenalty
        {
            get { return _frequencyPenalty; }
            set { double v = Required(value, "FrequencyPenalty"); Set(r => Native.aoai_request_set_frequency_penalty(r, v)); _frequencyPenalty = v; }
        }

        /// <summary>-2..2.</summary>
        public double? PresencePenalty
        {
            get { return _presencePenalty; }
            set { double v = Required(value, "PresencePenalty"); Set(r => Native.aoai_request_set_presence_penalty(r, v)); _presencePenalty = v; }
        }

        /// <summary>Token limit of the answer (o-series chat models: use MaxCompletionTokens).</summary>
        public long? MaxTokens
        {
            get { return _maxTokens; }
            set { long v = Required(value, "MaxTokens"); Set(r => Native.aoai_request_set_max_tokens(r, v)); _maxTokens = v; }
        }

        /// <summary>Number of choices, 1..128.</summary>
        public long? N
        {
            get { return _n; }
            set { long v = Required(value, "N"); Set(r => Native.aoai_request_set_n(r, v)); _n = v; }
        }

        /// <summary>Sampling seed for best-effort determinism.</summary>
        public long? Seed
        {
            get { return _seed; }
            set { long v = Required(value, "Seed"); Set(r => Native.aoai_request_set_seed(r, v)); _seed = v; }
        }

        /// <summary>End-user id for abuse monitoring.</summary>
        public string User
        {
            get { return _user; }
            set { SetStr(value, "User", true, (r, p) => Native.aoai_request_set_user(r, (byte*)p)); _user = value; }
        }

        /// <summary>Deployment (Azure) or model (OpenAI, Azure v1) for this request only.</summary>
        public string Deployment
        {
            get { return _deployment; }
            set { SetStr(value, "Deployment", true, (r, p) => Native.aoai_request_set_deployment(r, (byte*)p)); _deployment = value; }
        }

        /// <summary>Streaming: ask for a final usage event (stream_options.include_usage).</summary>
        public bool? StreamIncludeUsage
        {
            get { return _streamIncludeUsage; }
            set { bool v = Required(value, "StreamIncludeUsage"); Set(r => Native.aoai_request_set_stream_include_usage(r, v ? 1 : 0)); _streamIncludeUsage = v; }
        }

        /// <summary>Longest silence between stream chunks for this request (TimeSpan.Zero = none).</summary>
        public TimeSpan? IdleTimeout
        {
            get { return _idleTimeout; }
            set { ulong ms = Millis(Required(value, "IdleTimeout"), "IdleTimeout"); Set(r => Native.aoai_request_set_idle_timeout_ms(r, ms)); _idleTimeout = value; }
        }

        /// <summary>Time limit from sending to the response head for this request (TimeSpan.Zero = none).</summary>
        public TimeSpan? FirstByteTimeout
        {
            get { return _firstByteTimeout; }
            set { ulong ms = Millis(Required(value, "FirstByteTimeout"), "FirstByteTimeout"); Set(r => Native.aoai_request_set_first_byte_timeout_ms(r, ms)); _firstByteTimeout = value; }
        }

        /// <summary>Time limit for the whole call including retries (TimeSpan.Zero = none).</summary>
        public TimeSpan? TotalTimeout
        {
            get { return _totalTimeout; }
            set { ulong ms = Millis(Required(value, "TotalTimeout"), "TotalTimeout"); Set(r => Native.aoai_request_set_total_timeout_ms(r, ms)); _totalTimeout = value; }
        }

        internal static ulong Millis(TimeSpan t, string name)
        {
            if (t < TimeSpan.Zero) throw new ArgumentOutOfRangeException(name, "must not be negative");
            return (ulong)t.TotalMilliseconds;
        }

        /// <summary>Adds a stop sequence (at most 4).</summary>
        public void AddStop(string stop)
        {
            SetStr(stop, "stop", true, (r, p) => Native.aoai_request_add_stop(r, (byte*)p));
        }

        /// <summary>Token id <paramref name="token"/> gets <paramref name="bias"/> (-100..100).</summary>
        public void SetLogitBias(long token, long bias)
        {
            Set(r => Native.aoai_request_set_logit_bias(r, token, bias));
        }

        /// <summary>Sets any top-level field to a JSON value, e.g. ("logprobs", "true"). "stream" is refused.</summary>
        public void SetFieldJson(string key, string valueJson)
        {
            SetStr2(key, "key", true, valueJson, "valueJson", true, (r, k, v) => Native.aoai_request_set_field_json(r, (byte*)k, (byte*)v));
        }

        /// <summary>Merges a JSON object into the body (top-level keys replace).</summary>
        public void MergeJson(string jsonObject)
        {
            SetStr(jsonObject, "jsonObject", true, (r, p) => Native.aoai_request_merge_json(r, (byte*)p));
        }

        /// <summary>The body as it would be sent (before the library adds model/stream).</summary>
        public unsafe string ToJson()
        {
            using (var l = Use())
            {
                IntPtr s;
                Errors.Check(Native.aoai_request_to_json(l.Ptr, &s));
                return Utf8.TakeOwned(s);
            }
        }

        public override string ToString() { return ToJson(); }
    }

    /// <summary>A chat completions request.</summary>
    public sealed unsafe class ChatRequest : AoaiRequest
    {
        private long? _maxCompletionTokens, _topLogprobs;
        private bool? _logprobs, _parallelToolCalls;
        private string _toolChoice, _reasoningEffort;

        public ChatRequest() : base(NewNative(Native.AOAI_REQUEST_CHAT), "ChatRequest") { }

        private ChatRequest(IntPtr p) : base(p, "ChatRequest") { }

        /// <summary>A request from a whole chat body (passed through; the library adds only model
        /// where needed and stream).</summary>
        public static ChatRequest FromJson(string json)
        {
            return new ChatRequest(FromJsonNative(Native.AOAI_REQUEST_CHAT, json));
        }

        /// <summary>A request with one user message.</summary>
        public static ChatRequest FromPrompt(string userMessage)
        {
            var r = new ChatRequest();
            r.AddUser(userMessage);
            return r;
        }

        /// <summary>Appends a message (system, developer, user or assistant).</summary>
        public ChatRequest AddMessage(ChatRole role, string content)
        {
            if (role == ChatRole.Tool) throw new ArgumentException("tool results go through AddToolMessage(toolCallId, content)", "role");
            int ro = (int)role;
            SetStr(content, "content", true, (r, p) => Native.aoai_request_add_message(r, ro, (byte*)p));
            return this;
        }

        public ChatRequest AddSystem(string content) { return AddMessage(ChatRole.System, content); }
        public ChatRequest AddDeveloper(string content) { return AddMessage(ChatRole.Developer, content); }
        public ChatRequest AddUser(string content) { return AddMessage(ChatRole.User, content); }
        public ChatRequest AddAssistant(string content) { return AddMessage(ChatRole.Assistant, content); }

        /// <summary>Appends a tool result for the tool call <paramref name="toolCallId"/>.</summary>
        public ChatRequest AddToolMessage(string toolCallId, string content)
        {
            SetStr2(toolCallId, "toolCallId", true, content, "content", true, (r, a, b) => Native.aoai_request_add_tool_message(r, (byte*)a, (byte*)b));
            return this;
        }

        /// <summary>Appends the assistant message of <paramref name="choice"/> (text and tool calls)
        /// for multi-turn conversations and tool round trips.</summary>
        public ChatRequest AddAssistantMessage(ChatResponse response, int choice = 0)
        {
            if (response == null) throw new ArgumentNullException("response");
            if (choice < 0 || choice >= response.Choices.Count) throw new ArgumentOutOfRangeException("choice");
            Choice c = response.Choices[choice];
            var sb = new StringBuilder();
            sb.Append("{\"role\":\"assistant\",\"content\":").Append(c.Text == null ? "null" : Json.Quote(c.Text));
            if (c.Refusal != null) sb.Append(",\"refusal\":").Append(Json.Quote(c.Refusal));
            if (c.ToolCalls.Count > 0)
            {
                sb.Append(",\"tool_calls\":[");
                for (int i = 0; i < c.ToolCalls.Count; i++)
                {
                    ToolCall t = c.ToolCalls[i];
                    if (i > 0) sb.Append(',');
                    sb.Append("{\"id\":").Append(Json.Quote(t.Id ?? ""))
                      .Append(",\"type\":\"function\",\"function\":{\"name\":").Append(Json.Quote(t.Name ?? ""))
                      .Append(",\"arguments\":").Append(Json.Quote(t.Arguments ?? "")).Append("}}");
                }
                sb.Append(']');
            }
            sb.Append('}');
            return AddMessageJson(sb.ToString());
        }

        /// <summary>Appends a whole message given as a JSON object (any role, parts, tool calls).</summary>
        public ChatRequest AddMessageJson(string messageJson)
        {
            SetStr(messageJson, "messageJson", true, (r, p) => Native.aoai_request_add_message_json(r, (byte*)p));
            return this;
        }

        /// <summary>Appends a text part to the last message (its content becomes a part array).</summary>
        public ChatRequest AddTextPart(string text)
        {
            SetStr(text, "text", true, (r, p) => Native.aoai_request_add_text_part(r, (byte*)p));
            return this;
        }

        /// <summary>Appends an image part (URL or data: URL) to the last message; detail null, "auto", "low" or "high".</summary>
        public ChatRequest AddImagePart(string url, string detail = null)
        {
            SetStr2(url, "url", true, detail, "detail", false, (r, a, b) => Native.aoai_request_add_image_part(r, (byte*)a, (byte*)b));
            return this;
        }

        /// <summary>Declares a function tool; <paramref name="parametersJsonSchema"/> is a JSON schema object or null.</summary>
        public unsafe ChatRequest AddFunctionTool(string name, string description = null, string parametersJsonSchema = null, bool strict = false)
        {
            byte[] n = Utf8.EncodeRequired(name, "name");
            byte[] d = Utf8.Encode(description, "description");
            byte[] s = Utf8.Encode(parametersJsonSchema, "parametersJsonSchema");
            using (var l = Use())
            fixed (byte* np = n)
            fixed (byte* dp = d)
            fixed (byte* sp = s)
            {
                Errors.Check(Native.aoai_request_add_function_tool(l.Ptr, np, dp, sp, strict ? 1 : 0));
            }
            return this;
        }

        /// <summary>"auto", "none", "required", or the name of a function to call.</summary>
        public string ToolChoice
        {
            get { return _toolChoice; }
            set { SetStr(value, "ToolChoice", true, (r, p) => Native.aoai_request_set_tool_choice(r, (byte*)p)); _toolChoice = value; }
        }

        /// <summary>Whether the model may call several tools in one turn.</summary>
        public bool? ParallelToolCalls
        {
            get { return _parallelToolCalls; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("ParallelToolCalls");
                int v = value.Value ? 1 : 0;
                Set(r => Native.aoai_request_set_parallel_tool_calls(r, v));
                _parallelToolCalls = value;
            }
        }

        /// <summary>Token limit including reasoning tokens (o-series models).</summary>
        public long? MaxCompletionTokens
        {
            get { return _maxCompletionTokens; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("MaxCompletionTokens");
                long v = value.Value;
                Set(r => Native.aoai_request_set_max_completion_tokens(r, v));
                _maxCompletionTokens = v;
            }
        }

        /// <summary>Return token log probabilities.</summary>
        public bool? Logprobs
        {
            get { return _logprobs; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("Logprobs");
                long v = value.Value ? 1 : 0;
                Set(r => Native.aoai_request_set_logprobs(r, v));
                _logprobs = value;
            }
        }

        /// <summary>0..20 most likely tokens per position (needs Logprobs).</summary>
        public long? TopLogprobs
        {
            get { return _topLogprobs; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("TopLogprobs");
                long v = value.Value;
                Set(r => Native.aoai_request_set_top_logprobs(r, v));
                _topLogprobs = v;
            }
        }

        /// <summary>"minimal", "low", "medium" or "high" (o-series models).</summary>
        public string ReasoningEffort
        {
            get { return _reasoningEffort; }
            set { SetStr(value, "ReasoningEffort", true, (r, p) => Native.aoai_request_set_reasoning_effort(r, (byte*)p)); _reasoningEffort = value; }
        }

        /// <summary>Answer as a JSON object (response_format json_object).</summary>
        public ChatRequest SetResponseFormatJsonObject()
        {
            Set(r => Native.aoai_request_set_response_format_json_object(r));
            return this;
        }

        /// <summary>Structured output following <paramref name="schemaJson"/> named <paramref name="name"/>.</summary>
        public ChatRequest SetResponseFormatJsonSchema(string name, string schemaJson, bool strict = true)
        {
            int s = strict ? 1 : 0;
            SetStr2(name, "name", true, schemaJson, "schemaJson", true, (r, a, b) => Native.aoai_request_set_response_format_json_schema(r, (byte*)a, (byte*)b, s));
            return this;
        }
    }

    /// <summary>A legacy text completions request.</summary>
    public sealed unsafe class CompletionRequest : AoaiRequest
    {
        private string _prompt, _suffix;
        private bool? _echo;
        private long? _bestOf, _logprobs;

        public CompletionRequest() : base(NewNative(Native.AOAI_REQUEST_COMPLETION), "CompletionRequest") { }

        public CompletionRequest(string prompt) : this() { Prompt = prompt; }

        private CompletionRequest(IntPtr p) : base(p, "CompletionRequest") { }

        /// <summary>A request from a whole completions body.</summary>
        public static CompletionRequest FromJson(string json)
        {
            return new CompletionRequest(FromJsonNative(Native.AOAI_REQUEST_COMPLETION, json));
        }

        /// <summary>The prompt (replaces any earlier prompt).</summary>
        public string Prompt
        {
            get { return _prompt; }
            set { SetStr(value, "Prompt", true, (r, p) => Native.aoai_request_set_prompt(r, (byte*)p)); _prompt = value; }
        }

        /// <summary>Appends a prompt, making prompt an array (one choice set per prompt).</summary>
        public CompletionRequest AddPrompt(string prompt)
        {
            SetStr(prompt, "prompt", true, (r, p) => Native.aoai_request_add_prompt(r, (byte*)p));
            return this;
        }

        /// <summary>Text after the completion.</summary>
        public string Suffix
        {
            get { return _suffix; }
            set { SetStr(value, "Suffix", true, (r, p) => Native.aoai_request_set_suffix(r, (byte*)p)); _suffix = value; }
        }

        /// <summary>Echo the prompt before the completion.</summary>
        public bool? Echo
        {
            get { return _echo; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("Echo");
                int v = value.Value ? 1 : 0;
                Set(r => Native.aoai_request_set_echo(r, v));
                _echo = value;
            }
        }

        /// <summary>Server-side candidates, 1..20 (>= N).</summary>
        public long? BestOf
        {
            get { return _bestOf; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("BestOf");
                long v = value.Value;
                Set(r => Native.aoai_request_set_best_of(r, v));
                _bestOf = v;
            }
        }

        /// <summary>0..5 top log probabilities per token.</summary>
        public long? Logprobs
        {
            get { return _logprobs; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("Logprobs");
                long v = value.Value;
                Set(r => Native.aoai_request_set_logprobs(r, v));
                _logprobs = v;
            }
        }
    }

    /// <summary>An embeddings request.</summary>
    public sealed unsafe class EmbeddingRequest : AoaiRequest
    {
        private long? _dimensions;

        public EmbeddingRequest() : base(NewNative(Native.AOAI_REQUEST_EMBEDDING), "EmbeddingRequest") { }

        public EmbeddingRequest(params string[] inputs) : this()
        {
            if (inputs != null) foreach (var s in inputs) AddInput(s);
        }

        private EmbeddingRequest(IntPtr p) : base(p, "EmbeddingRequest") { }

        public static EmbeddingRequest FromJson(string json)
        {
            return new EmbeddingRequest(FromJsonNative(Native.AOAI_REQUEST_EMBEDDING, json));
        }

        /// <summary>Appends an input text.</summary>
        public EmbeddingRequest AddInput(string input)
        {
            SetStr(input, "input", true, (r, p) => Native.aoai_request_add_input(r, (byte*)p));
            return this;
        }

        /// <summary>Output dimensions (text-embedding-3 models).</summary>
        public long? Dimensions
        {
            get { return _dimensions; }
            set
            {
                if (!value.HasValue) throw new ArgumentNullException("Dimensions");
                long v = value.Value;
                Set(r => Native.aoai_request_set_dimensions(r, v));
                _dimensions = v;
            }
        }
    }

    /// <summary>Just enough JSON writing for the messages the binding assembles itself.</summary>
    internal static class Json
    {
        internal static string Quote(string s)
        {
            var sb = new StringBuilder(s.Length + 2);
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
            return sb.ToString();
        }
    }
}
