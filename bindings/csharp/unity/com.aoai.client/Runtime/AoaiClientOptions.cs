using System;
using System.Collections.Generic;
using System.Text;

namespace Aoai
{
    /// <summary>
    /// Client configuration. Every property left null falls back to the JSON config
    /// (<see cref="JsonConfig"/>), then to the environment (unless <see cref="UseEnvironment"/> is
    /// false): explicit options &gt; JSON config &gt; environment. Validation happens when the
    /// client is created (an ArgumentException carries the library's message).
    /// </summary>
    public sealed class AoaiClientOptions
    {
        public AoaiClientOptions()
        {
            Headers = new Dictionary<string, string>();
            DefaultParameters = new Dictionary<string, string>();
            CapturedHeaders = new List<string>();
        }

        /// <summary>Azure (classic), AzureV1, OpenAI or AzureAD.</summary>
        public AoaiApiType? ApiType { get; set; }
        /// <summary>Azure resource URL, https://NAME.openai.azure.com.</summary>
        public string Endpoint { get; set; }
        /// <summary>OpenAI-compatible base URL (https://api.openai.com/v1, http://127.0.0.1:11434/v1).</summary>
        public string BaseUrl { get; set; }
        /// <summary>Default deployment (Azure) or model (OpenAI).</summary>
        public string Deployment { get; set; }
        /// <summary>Azure api-version (default 2024-10-21); "v1" or "preview" select the v1 API.</summary>
        public string ApiVersion { get; set; }
        /// <summary>OpenAI-Organization header.</summary>
        public string Organization { get; set; }
        /// <summary>OpenAI-Project header.</summary>
        public string Project { get; set; }
        /// <summary>API key (api-key header for Azure, Authorization: Bearer for OpenAI). Never printed.</summary>
        public string ApiKey { get; set; }
        /// <summary>A fixed Entra ID access token. Never printed.</summary>
        public string AdToken { get; set; }
        /// <summary>Entra ID credential: "default", "managed_identity", "azure_cli",
        /// "azure_developer_cli", "client_secret", "workload_identity", "environment", or a JSON
        /// object/array describing a source or a chain.</summary>
        public string Credential { get; set; }
        /// <summary>Entra ID scope (default https://cognitiveservices.azure.com/.default).</summary>
        public string TokenScope { get; set; }
        /// <summary>Tokens from the host (an engine's own sign-in): called with the scope on a
        /// library thread whenever the client needs a token; may block. Exceptions become
        /// AoaiAuthenticationException (Status Credential) with the exception as InnerException.</summary>
        public Func<string, AccessToken> TokenProvider { get; set; }
        /// <summary>Proxy URL for all requests, or "none" to ignore HTTPS_PROXY/HTTP_PROXY.</summary>
        public string Proxy { get; set; }
        /// <summary>PEM file with extra trusted root certificates.</summary>
        public string CaFile { get; set; }
        /// <summary>Allow http:// to a non-loopback host (keys in clear text: trusted networks only).</summary>
        public bool? AllowInsecureHttp { get; set; }
        /// <summary>Connect time limit (default 10 s; TimeSpan.Zero = none).</summary>
        public TimeSpan? ConnectTimeout { get; set; }
        /// <summary>Time limit from sending to the response head (default none).</summary>
        public TimeSpan? FirstByteTimeout { get; set; }
        /// <summary>Longest silence between body chunks (default 60 s).</summary>
        public TimeSpan? IdleTimeout { get; set; }
        /// <summary>Time limit for a whole call including retries (default 600 s).</summary>
        public TimeSpan? TotalTimeout { get; set; }
        /// <summary>Longest server-requested retry wait that is honoured (default 60 s).</summary>
        public TimeSpan? MaxRetryAfter { get; set; }
        /// <summary>Largest response body accepted, in bytes (default 64 MiB; minimum 1024).</summary>
        public ulong? MaxResponseBytes { get; set; }
        /// <summary>Retries after a failed attempt (connection errors, 408, 409, 429, 5xx); default 2, max 20.</summary>
        public int? MaxRetries { get; set; }
        /// <summary>Read environment variables (default true).</summary>
        public bool? UseEnvironment { get; set; }
        /// <summary>A JSON config (text starting with '{', else a file path): the layer between
        /// these options and the environment.</summary>
        public string JsonConfig { get; set; }
        /// <summary>Extra headers for every request (not api-key/authorization).</summary>
        public IDictionary<string, string> Headers { get; private set; }
        /// <summary>Default request parameters as JSON values, e.g. ["temperature"] = "0.2".</summary>
        public IDictionary<string, string> DefaultParameters { get; private set; }
        /// <summary>Response header names to copy into every response, besides the default set
        /// (request ids, region, rate limits, ...).</summary>
        public IList<string> CapturedHeaders { get; private set; }

        /// <summary>Builds the native options. The caller owns (and frees) the handle.</summary>
        internal unsafe OptionsHandle ToNative(IntPtr tokenUserData)
        {
            IntPtr p;
            Errors.Check(Native.aoai_options_new(&p));
            var h = new OptionsHandle(p);
            try
            {
                if (JsonConfig != null) Str(p, JsonConfig, "JsonConfig", (o, v) => Native.aoai_options_load_json(o, (byte*)v));
                if (ApiType.HasValue) Errors.Check(Native.aoai_options_set_api_type(p, (int)ApiType.Value));
                if (Endpoint != null) Str(p, Endpoint, "Endpoint", (o, v) => Native.aoai_options_set_endpoint(o, (byte*)v));
                if (BaseUrl != null) Str(p, BaseUrl, "BaseUrl", (o, v) => Native.aoai_options_set_base_url(o, (byte*)v));
                if (Deployment != null) Str(p, Deployment, "Deployment", (o, v) => Native.aoai_options_set_deployment(o, (byte*)v));
                if (ApiVersion != null) Str(p, ApiVersion, "ApiVersion", (o, v) => Native.aoai_options_set_api_version(o, (byte*)v));
                if (Organization != null) Str(p, Organization, "Organization", (o, v) => Native.aoai_options_set_organization(o, (byte*)v));
                if (Project != null) Str(p, Project, "Project", (o, v) => Native.aoai_options_set_project(o, (byte*)v));
                if (TokenScope != null) Str(p, TokenScope, "TokenScope", (o, v) => Native.aoai_options_set_token_scope(o, (byte*)v));
                if (Proxy != null) Str(p, Proxy, "Proxy", (o, v) => Native.aoai_options_set_proxy(o, (byte*)v));
                if (CaFile != null) Str(p, CaFile, "CaFile", (o, v) => Native.aoai_options_set_ca_file(o, (byte*)v));
                if (ApiKey != null) Str(p, ApiKey, "ApiKey", (o, v) => Native.aoai_options_set_api_key(o, (byte*)v));
                if (AdToken != null) Str(p, AdToken, "AdToken", (o, v) => Native.aoai_options_set_ad_token(o, (byte*)v));
                if (Credential != null) Str(p, Credential, "Credential", (o, v) => Native.aoai_options_set_credential(o, (byte*)v));
                if (tokenUserData != IntPtr.Zero)
                    Errors.Check(Native.aoai_options_set_token_callback(p, Callbacks.TokenPtr, tokenUserData));
                if (AllowInsecureHttp.HasValue) Errors.Check(Native.aoai_options_set_allow_insecure_http(p, AllowInsecureHttp.Value ? 1 : 0));
                if (ConnectTimeout.HasValue) Errors.Check(Native.aoai_options_set_connect_timeout_ms(p, AoaiRequest.Millis(ConnectTimeout.Value, "ConnectTimeout")));
                if (FirstByteTimeout.HasValue) Errors.Check(Native.aoai_options_set_first_byte_timeout_ms(p, AoaiRequest.Millis(FirstByteTimeout.Value, "FirstByteTimeout")));
                if (IdleTimeout.HasValue) Errors.Check(Native.aoai_options_set_idle_timeout_ms(p, AoaiRequest.Millis(IdleTimeout.Value, "IdleTimeout")));
                if (TotalTimeout.HasValue) Errors.Check(Native.aoai_options_set_total_timeout_ms(p, AoaiRequest.Millis(TotalTimeout.Value, "TotalTimeout")));
                if (MaxRetryAfter.HasValue) Errors.Check(Native.aoai_options_set_max_retry_after_ms(p, AoaiRequest.Millis(MaxRetryAfter.Value, "MaxRetryAfter")));
                if (MaxResponseBytes.HasValue) Errors.Check(Native.aoai_options_set_max_response_bytes(p, MaxResponseBytes.Value));
                if (MaxRetries.HasValue)
                {
                    if (MaxRetries.Value < 0) throw new ArgumentOutOfRangeException("MaxRetries", "must not be negative");
                    Errors.Check(Native.aoai_options_set_max_retries(p, (uint)MaxRetries.Value));
                }
                if (UseEnvironment.HasValue) Errors.Check(Native.aoai_options_set_use_environment(p, UseEnvironment.Value ? 1 : 0));
                foreach (var kv in Headers)
                {
                    byte[] n = Utf8.EncodeRequired(kv.Key, "Headers key");
                    byte[] v = Utf8.EncodeRequired(kv.Value, "Headers[" + kv.Key + "]");
                    fixed (byte* np = n)
                    fixed (byte* vp = v)
                        Errors.Check(Native.aoai_options_add_header(p, np, vp));
                }
                foreach (var kv in DefaultParameters)
                {
                    byte[] n = Utf8.EncodeRequired(kv.Key, "DefaultParameters key");
                    byte[] v = Utf8.EncodeRequired(kv.Value, "DefaultParameters[" + kv.Key + "]");
                    fixed (byte* np = n)
                    fixed (byte* vp = v)
                        Errors.Check(Native.aoai_options_set_default_json(p, np, vp));
                }
                return h;
            }
            catch
            {
                h.Dispose();
                throw;
            }
        }

        private static unsafe void Str(IntPtr opts, string value, string name, Func<IntPtr, IntPtr, int> set)
        {
            byte[] b = Utf8.Encode(value, name);
            fixed (byte* p = b) Errors.Check(set(opts, (IntPtr)p));
        }

        /// <summary>The options with secrets redacted.</summary>
        public override string ToString()
        {
            var sb = new StringBuilder("AoaiClientOptions {");
            Action<string, object> add = (k, v) => { if (v != null) sb.Append(' ').Append(k).Append('=').Append(v).Append(';'); };
            add("ApiType", ApiType);
            add("Endpoint", Endpoint);
            add("BaseUrl", BaseUrl);
            add("Deployment", Deployment);
            add("ApiVersion", ApiVersion);
            add("ApiKey", ApiKey != null ? "(redacted)" : null);
            add("AdToken", AdToken != null ? "(redacted)" : null);
            add("Credential", Credential != null ? "(set)" : null);
            add("TokenProvider", TokenProvider != null ? "(set)" : null);
            add("UseEnvironment", UseEnvironment);
            sb.Append(" }");
            return sb.ToString();
        }
    }
}
