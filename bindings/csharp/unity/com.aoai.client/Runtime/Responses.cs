// Responses and stream events, copied into managed memory as soon as the library hands them
// over; no native pointer survives the call that produced them.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Text;

namespace Aoai
{
    /// <summary>Token usage. A count is null when the service did not report it.</summary>
    public sealed class Usage
    {
        public long? PromptTokens { get; private set; }
        public long? CompletionTokens { get; private set; }
        public long? TotalTokens { get; private set; }
        public long? CachedTokens { get; private set; }
        public long? ReasoningTokens { get; private set; }
        public long? PromptAudioTokens { get; private set; }
        public long? CompletionAudioTokens { get; private set; }
        public long? AcceptedPredictionTokens { get; private set; }
        public long? RejectedPredictionTokens { get; private set; }

        internal bool IsEmpty
        {
            get { return PromptTokens == null && CompletionTokens == null && TotalTokens == null; }
        }

        internal static Usage Read(Func<int, long> get)
        {
            Func<int, long?> f = field => { long v = get(field); return v < 0 ? (long?)null : v; };
            return new Usage
            {
                PromptTokens = f(Native.AOAI_USAGE_PROMPT_TOKENS),
                CompletionTokens = f(Native.AOAI_USAGE_COMPLETION_TOKENS),
                TotalTokens = f(Native.AOAI_USAGE_TOTAL_TOKENS),
                CachedTokens = f(Native.AOAI_USAGE_CACHED_TOKENS),
                ReasoningTokens = f(Native.AOAI_USAGE_REASONING_TOKENS),
                PromptAudioTokens = f(Native.AOAI_USAGE_PROMPT_AUDIO_TOKENS),
                CompletionAudioTokens = f(Native.AOAI_USAGE_COMPLETION_AUDIO_TOKENS),
                AcceptedPredictionTokens = f(Native.AOAI_USAGE_ACCEPTED_PREDICTION_TOKENS),
                RejectedPredictionTokens = f(Native.AOAI_USAGE_REJECTED_PREDICTION_TOKENS),
            };
        }

        public override string ToString()
        {
            return "prompt=" + PromptTokens + " completion=" + CompletionTokens + " total=" + TotalTokens;
        }
    }

    /// <summary>One function call the model asked for.</summary>
    public sealed class ToolCall
    {
        internal ToolCall(string id, string name, string arguments) { Id = id; Name = name; Arguments = arguments; }
        /// <summary>"call_..."; pass it back with ChatRequest.AddToolMessage.</summary>
        public string Id { get; private set; }
        /// <summary>The function name.</summary>
        public string Name { get; private set; }
        /// <summary>The arguments, a JSON text.</summary>
        public string Arguments { get; private set; }
    }

    /// <summary>One choice of a chat or completion response.</summary>
    public sealed class Choice
    {
        public int Index { get; internal set; }
        /// <summary>Chat message.content or completion text; null when the model returned no
        /// content (tool calls), "" for a reasoning model that ran out of budget.</summary>
        public string Text { get; internal set; }
        /// <summary>"stop", "length", "tool_calls", "content_filter", or null.</summary>
        public string FinishReason { get; internal set; }
        /// <summary>Refusal message (structured outputs), or null.</summary>
        public string Refusal { get; internal set; }
        public IReadOnlyList<ToolCall> ToolCalls { get; internal set; }
        /// <summary>Categories the content filter flagged as filtered for this choice (empty when none).</summary>
        public string[] FilteredCategories { get; internal set; }

        internal string ResponseJson;

        /// <summary>The choice's content_filter_results JSON (severity per category), or null.
        /// Taken from the response JSON on first use.</summary>
        public string ContentFilterJson
        {
            get { return JsonPath.Find(ResponseJson, "choices", Index, "content_filter_results"); }
        }

        /// <summary>The choice's logprobs JSON, or null. Taken from the response JSON on first use.</summary>
        public string LogprobsJson
        {
            get
            {
                string v = JsonPath.Find(ResponseJson, "choices", Index, "logprobs");
                return v == "null" ? null : v;
            }
        }
    }

    /// <summary>A finished response (or the assembled result of a stream), fully managed.</summary>
    public abstract class AoaiResponse
    {
        /// <summary>Headers copied from every response (names are case-insensitive); add more
        /// through AoaiClientOptions.CapturedHeaders. Request id and region have their own
        /// properties. Kept short: every header is one more native lookup per response.</summary>
        internal static readonly string[] DefaultCapturedHeaders = {
            "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
            "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
            "x-ms-client-request-id",
        };

        private static readonly byte[][] DefaultCapturedHeaderNames = EncodeAll(DefaultCapturedHeaders);

        internal static byte[][] EncodeAll(IList<string> names)
        {
            var list = new List<byte[]>(names.Count);
            foreach (string n in names)
                if (!string.IsNullOrEmpty(n)) list.Add(Utf8.Encode(n.ToLowerInvariant(), "header name"));
            return list.ToArray();
        }

        private Dictionary<string, string> _headers;

        /// <summary>"chatcmpl-..." / "cmpl-...", or null.</summary>
        public string Id { get; private set; }
        /// <summary>The model that answered (e.g. gpt-4o-2024-08-06), not the deployment name.</summary>
        public string Model { get; private set; }
        public string SystemFingerprint { get; private set; }
        /// <summary>Creation time, or null.</summary>
        public DateTimeOffset? Created { get; private set; }
        /// <summary>apim-request-id, else x-request-id: quote it to Azure support.</summary>
        public string RequestId { get; private set; }
        /// <summary>Azure region that served the call (x-ms-region), or null.</summary>
        public string Region { get; private set; }
        public int HttpStatus { get; private set; }
        /// <summary>HTTP attempts it took (1 + retries).</summary>
        public int Attempts { get; private set; }
        /// <summary>The raw body (for a stream: assembled in the non-stream shape).</summary>
        public string Json { get; private set; }
        public IReadOnlyList<Choice> Choices { get; private set; }
        /// <summary>Token usage, or null when the response had none.</summary>
        public Usage Usage { get; private set; }
        /// <summary>Categories the prompt filter flagged as filtered (empty when none).</summary>
        public string[] PromptFilterCategories { get; private set; }
        /// <summary>content_filter_results JSON of each prompt_filter_results entry (taken from
        /// the response JSON on first use).</summary>
        public IReadOnlyList<string> PromptFilterJson
        {
            get
            {
                var list = new List<string>();
                string arr = JsonPath.Find(Json, "prompt_filter_results") ?? JsonPath.Find(Json, "prompt_annotations");
                for (int i = 0; arr != null; i++)
                {
                    string entry = JsonPath.Find(arr, i);
                    if (entry == null) break;
                    list.Add(JsonPath.Find(entry, "content_filter_results"));
                }
                return list.AsReadOnly();
            }
        }

        /// <summary>Text of choice 0 (null when there is none).</summary>
        public string Text { get { return Choices.Count > 0 ? Choices[0].Text : null; } }

        /// <summary>Response headers captured when the response arrived (see DefaultCapturedHeaders).</summary>
        public IReadOnlyDictionary<string, string> Headers { get { return new ReadOnlyDictionary<string, string>(_headers); } }

        /// <summary>A captured response header (case-insensitive), or null.</summary>
        public string GetHeader(string name)
        {
            string v;
            return name != null && _headers.TryGetValue(name, out v) ? v : null;
        }

        internal unsafe void Fill(IntPtr r, byte[][] extraHeaders)
        {
            UIntPtr len;
            Id = Utf8.Read(Native.aoai_response_id(r, &len), len);
            Model = Utf8.Read(Native.aoai_response_model(r, &len), len);
            SystemFingerprint = Utf8.Read(Native.aoai_response_system_fingerprint(r, &len), len);
            long created = Native.aoai_response_created(r);
            Created = created >= 0 ? DateTimeOffset.FromUnixTimeSeconds(created) : (DateTimeOffset?)null;
            RequestId = Utf8.Read(Native.aoai_response_request_id(r, &len), len);
            Region = Utf8.Read(Native.aoai_response_region(r, &len), len);
            HttpStatus = Native.aoai_response_http_status(r);
            Attempts = Native.aoai_response_attempts(r);
            Json = Utf8.Read(Native.aoai_response_json(r, &len), len);
            var usage = Usage.Read(f => Native.aoai_response_usage(r, f));
            Usage = usage.IsEmpty ? null : usage;

            uint n = Native.aoai_response_choice_count(r);
            var choices = new List<Choice>((int)n);
            for (uint i = 0; i < n; i++)
            {
                var c = new Choice { Index = (int)i };
                c.Text = Utf8.Read(Native.aoai_response_text(r, i, &len), len);
                c.FinishReason = Utf8.Read(Native.aoai_response_finish_reason(r, i, &len), len);
                c.Refusal = Utf8.Read(Native.aoai_response_refusal(r, i, &len), len);
                c.ResponseJson = Json;
                c.FilteredCategories = ErrorInfo.SplitList(Utf8.Read(Native.aoai_response_filtered_categories(r, (int)i, &len), len));
                uint tc = Native.aoai_response_tool_call_count(r, i);
                var calls = new List<ToolCall>((int)tc);
                for (uint k = 0; k < tc; k++)
                {
                    string id = Utf8.Read(Native.aoai_response_tool_call_id(r, i, k, &len), len);
                    string name = Utf8.Read(Native.aoai_response_tool_call_name(r, i, k, &len), len);
                    string args = Utf8.Read(Native.aoai_response_tool_call_arguments(r, i, k, &len), len);
                    calls.Add(new ToolCall(id, name, args));
                }
                c.ToolCalls = calls.AsReadOnly();
                choices.Add(c);
            }
            Choices = choices.AsReadOnly();

            PromptFilterCategories = ErrorInfo.SplitList(Utf8.Read(Native.aoai_response_filtered_categories(r, -1, &len), len));

            _headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            CaptureHeaders(r, DefaultCapturedHeaderNames);
            if (extraHeaders != null) CaptureHeaders(r, extraHeaders);
        }

        private unsafe void CaptureHeaders(IntPtr r, byte[][] names)
        {
            foreach (byte[] name in names)
            {
                UIntPtr len;
                fixed (byte* p = name)
                {
                    string v = Utf8.Read(Native.aoai_response_header(r, p, &len), len);
                    if (v != null) _headers[Encoding.UTF8.GetString(name, 0, name.Length - 1)] = v;
                }
            }
        }
    }

    /// <summary>A chat completions response.</summary>
    public sealed class ChatResponse : AoaiResponse
    {
        internal ChatResponse() { }

        /// <summary>Tool calls of choice 0 (empty when none).</summary>
        public IReadOnlyList<ToolCall> ToolCalls
        {
            get { return Choices.Count > 0 ? Choices[0].ToolCalls : new List<ToolCall>().AsReadOnly(); }
        }
    }

    /// <summary>A legacy text completions response.</summary>
    public sealed class CompletionResponse : AoaiResponse
    {
        internal CompletionResponse() { }
    }

    /// <summary>An embeddings response.</summary>
    public sealed class EmbeddingResponse
    {
        internal EmbeddingResponse() { }
        /// <summary>One vector per input, in input order.</summary>
        public IReadOnlyList<float[]> Vectors { get; private set; }
        public string Model { get; private set; }
        public string RequestId { get; private set; }
        public Usage Usage { get; private set; }
        public string Json { get; private set; }

        internal unsafe void Fill(IntPtr r)
        {
            UIntPtr len;
            Model = Utf8.Read(Native.aoai_response_model(r, &len), len);
            RequestId = Utf8.Read(Native.aoai_response_request_id(r, &len), len);
            Json = Utf8.Read(Native.aoai_response_json(r, &len), len);
            var usage = Usage.Read(f => Native.aoai_response_usage(r, f));
            Usage = usage.IsEmpty ? null : usage;
            uint n = Native.aoai_response_embedding_count(r);
            var list = new List<float[]>((int)n);
            for (uint i = 0; i < n; i++)
            {
                UIntPtr dims;
                IntPtr p = Native.aoai_response_embedding(r, i, &dims);
                var v = new float[p == IntPtr.Zero ? 0 : (int)dims.ToUInt64()];
                if (v.Length > 0) System.Runtime.InteropServices.Marshal.Copy(p, v, 0, v.Length);
                list.Add(v);
            }
            Vectors = list.AsReadOnly();
        }
    }

    /// <summary>A typed stream event, copied out of the library.</summary>
    public sealed class StreamEvent
    {
        public StreamEventKind Kind { get; private set; }
        /// <summary>Choice index, or -1 for prompt-level and usage events.</summary>
        public int Choice { get; private set; }
        /// <summary>TextDelta / RefusalDelta: the text piece. ToolCallDelta: the argument fragment.
        /// Finish: the finish reason. Null otherwise.</summary>
        public string Text { get; private set; }
        /// <summary>ToolCallDelta: index of the tool call within the choice; -1 otherwise.</summary>
        public int ToolCallIndex { get; private set; }
        /// <summary>ToolCallDelta: call id, on the call's first piece only.</summary>
        public string ToolCallId { get; private set; }
        /// <summary>ToolCallDelta: function name, on the call's first piece only.</summary>
        public string ToolCallName { get; private set; }
        /// <summary>Finish: the finish reason ("stop", "length", ...); null otherwise.</summary>
        public string FinishReason { get { return Kind == StreamEventKind.Finish ? Text : null; } }
        /// <summary>Usage: the counts; null otherwise.</summary>
        public Usage Usage { get; private set; }
        /// <summary>ContentFilter: filtered categories (empty when none); null otherwise.</summary>
        public string[] FilteredCategories { get; private set; }
        /// <summary>ContentFilter: the content_filter_results JSON; null otherwise.</summary>
        public string FilterJson { get; private set; }
        /// <summary>ContentFilter of the prompt: its prompt index; -1 otherwise.</summary>
        public int PromptIndex { get; private set; }
        /// <summary>ContentFilter annotation (asynchronous filter): check/start/end offsets, or null.</summary>
        public long[] FilterOffsets { get; private set; }
        /// <summary>The whole chunk JSON the event came from.</summary>
        public string Json { get; private set; }

        internal static unsafe StreamEvent Read(IntPtr ev)
        {
            UIntPtr len;
            var e = new StreamEvent();
            e.Kind = (StreamEventKind)Native.aoai_event_kind(ev);
            e.Choice = Native.aoai_event_choice(ev);
            e.Text = Utf8.Read(Native.aoai_event_text(ev, &len), len);
            e.ToolCallIndex = Native.aoai_event_tool_call_index(ev);
            e.ToolCallId = Utf8.Read(Native.aoai_event_tool_call_id(ev, &len), len);
            e.ToolCallName = Utf8.Read(Native.aoai_event_tool_call_name(ev, &len), len);
            e.PromptIndex = Native.aoai_event_prompt_index(ev);
            if (e.Kind == StreamEventKind.Usage) e.Usage = Usage.Read(f => Native.aoai_event_usage(ev, f));
            if (e.Kind == StreamEventKind.ContentFilter)
            {
                e.FilterJson = Utf8.Read(Native.aoai_event_filter_json(ev, &len), len);
                e.FilteredCategories = ErrorInfo.SplitList(Utf8.Read(Native.aoai_event_filtered_categories(ev, &len), len));
                long check, start, end;
                if (Native.aoai_event_filter_offsets(ev, &check, &start, &end) == 1)
                    e.FilterOffsets = new long[] { check, start, end };
            }
            e.Json = Utf8.Read(Native.aoai_event_json(ev, &len), len);
            return e;
        }

        public override string ToString()
        {
            return Kind + "[" + Choice + "]" + (Text != null ? " " + Text : "");
        }
    }

    /// <summary>An Entra ID access token from a TokenProvider.</summary>
    public struct AccessToken
    {
        public AccessToken(string token, DateTimeOffset? expiresOn) : this()
        {
            Token = token;
            ExpiresOn = expiresOn;
        }
        /// <summary>The bearer token (never logged by the library).</summary>
        public string Token { get; private set; }
        /// <summary>When it expires; null when unknown (the library then refreshes on a 401).</summary>
        public DateTimeOffset? ExpiresOn { get; private set; }
    }
}
