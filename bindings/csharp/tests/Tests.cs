// Tests of the C# binding against the aoai emulator. A small self-contained runner (no NuGet):
// every test is a method registered in Main; the last line printed is "N passed, M failed".
// Needs AOAI_EMULATOR_URL (bindings/csharp/test.sh starts the emulator and sets it).
// Compiles with mcs -langversion:7.2 (no local functions, no type-pattern switches).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Aoai;

namespace Aoai.Tests
{
    internal sealed class SkipException : Exception
    {
        public SkipException(string why) : base(why) { }
    }

    internal static class Assert
    {
        public static void True(bool cond, string what)
        {
            if (!cond) throw new Exception("expected: " + what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new Exception(what + ": expected <" + expected + "> but got <" + actual + ">");
        }

        public static void Contains(string needle, string hay, string what)
        {
            if (hay == null || hay.IndexOf(needle, StringComparison.Ordinal) < 0)
                throw new Exception(what + ": expected to contain <" + needle + "> but was <" + hay + ">");
        }

        public static void NotContains(string needle, string hay, string what)
        {
            if (hay != null && hay.IndexOf(needle, StringComparison.Ordinal) >= 0)
                throw new Exception(what + ": must not contain <" + needle + ">");
        }

        /// <summary>Runs <paramref name="a"/>; it must throw exactly <typeparamref name="T"/>.</summary>
        public static T Throws<T>(Action a, string what) where T : Exception
        {
            try
            {
                a();
            }
            catch (Exception e)
            {
                var agg = e as AggregateException;
                if (agg != null && agg.InnerExceptions.Count == 1) e = agg.InnerExceptions[0];
                if (e.GetType() == typeof(T)) return (T)e;
                throw new Exception(what + ": expected " + typeof(T).Name + " but got " + e.GetType().Name + ": " + e.Message, e);
            }
            throw new Exception(what + ": expected " + typeof(T).Name + " but nothing was thrown");
        }

        /// <summary>Like Throws, but subclasses of T count too.</summary>
        public static T ThrowsAny<T>(Action a, string what) where T : Exception
        {
            try
            {
                a();
            }
            catch (Exception e)
            {
                var agg = e as AggregateException;
                if (agg != null && agg.InnerExceptions.Count == 1) e = agg.InnerExceptions[0];
                var t = e as T;
                if (t != null) return t;
                throw new Exception(what + ": expected " + typeof(T).Name + " but got " + e.GetType().Name + ": " + e.Message, e);
            }
            throw new Exception(what + ": expected " + typeof(T).Name + " but nothing was thrown");
        }
    }

    /// <summary>The emulator's control API.</summary>
    internal static class Emu
    {
        public static string Url;
        /// <summary>The bearer token the emulator accepts (its --token).</summary>
        public static string Token;

        public static string Http(string method, string path, string body)
        {
            var req = (HttpWebRequest)WebRequest.Create(Url + path);
            req.Method = method;
            req.Proxy = null;
            req.Timeout = 10000;
            if (body != null)
            {
                byte[] b = Encoding.UTF8.GetBytes(body);
                req.ContentType = "application/json";
                req.ContentLength = b.Length;
                using (var s = req.GetRequestStream()) s.Write(b, 0, b.Length);
            }
            using (var resp = (HttpWebResponse)req.GetResponse())
            using (var rd = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
                return rd.ReadToEnd();
        }

        public static void Reset() { Http("POST", "/_emulator/reset", "{}"); }
        public static string Requests() { return Http("GET", "/_emulator/requests", null); }
        public static void Script(string json) { Http("POST", "/_emulator/script", json); }

        public static long Stat(string name)
        {
            string s = Http("GET", "/_emulator/stats", null);
            Match m = Regex.Match(s, "\"" + name + "\"\\s*:\\s*(\\d+)");
            if (!m.Success) throw new Exception("no stat " + name + " in " + s);
            return long.Parse(m.Groups[1].Value);
        }

        /// <summary>Polls a stat until it reaches <paramref name="atLeast"/> (or 10 s pass).</summary>
        public static long WaitStat(string name, long atLeast)
        {
            long v = 0;
            for (int i = 0; i < 200; i++)
            {
                v = Stat(name);
                if (v >= atLeast) return v;
                Thread.Sleep(50);
            }
            return v;
        }
    }

    internal static class Program
    {
        private static readonly List<KeyValuePair<string, Action>> s_tests = new List<KeyValuePair<string, Action>>();

        private static void Add(string name, Action body) { s_tests.Add(new KeyValuePair<string, Action>(name, body)); }

        private static AoaiClientOptions Options(string deployment = "gpt-4o")
        {
            return new AoaiClientOptions
            {
                Endpoint = Emu.Url,
                ApiKey = "emulator-key",
                Deployment = deployment,
                UseEnvironment = false,
                MaxRetries = 0,
            };
        }

        private static AoaiClient NewClient(string deployment = "gpt-4o")
        {
            return new AoaiClient(Options(deployment));
        }

        private const string EchoPrefix = "Hello from the aoai emulator! You said: ";

        private static int Main(string[] args)
        {
            Emu.Url = Environment.GetEnvironmentVariable("AOAI_EMULATOR_URL");
            Emu.Token = Environment.GetEnvironmentVariable("AOAI_EMULATOR_TOKEN") ?? "emulator-token";
            if (string.IsNullOrEmpty(Emu.Url))
            {
                Console.Error.WriteLine("AOAI_EMULATOR_URL is not set (run bindings/csharp/test.sh)");
                return 2;
            }
            Register();
            string filter = args.Length > 0 ? args[0] : null;
            int passed = 0, failed = 0, skipped = 0;
            foreach (var t in s_tests)
            {
                if (filter != null && t.Key.IndexOf(filter, StringComparison.OrdinalIgnoreCase) < 0) continue;
                Exception error = null;
                bool skip = false;
                var th = new Thread(() =>
                {
                    try { t.Value(); }
                    catch (SkipException e) { skip = true; error = e; }
                    catch (Exception e) { error = e; }
                });
                th.IsBackground = true;
                th.Start();
                if (!th.Join(TimeSpan.FromSeconds(60)))
                {
                    failed++;
                    Console.WriteLine("FAIL " + t.Key + ": timed out after 60 s (hang)");
                    Console.WriteLine(passed + " passed, " + failed + " failed");
                    Console.Out.Flush();
                    Environment.Exit(1);
                }
                if (skip)
                {
                    skipped++;
                    Console.WriteLine("SKIP " + t.Key + ": " + error.Message);
                }
                else if (error == null)
                {
                    passed++;
                    Console.WriteLine("PASS " + t.Key);
                }
                else
                {
                    failed++;
                    Console.WriteLine("FAIL " + t.Key + ": " + error);
                }
            }
            if (skipped > 0) Console.WriteLine(skipped + " skipped");
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private static void Register()
        {
            // ---------------------------------------------------------------- raw layer
            Add("raw: every header function resolves in the native library", () =>
            {
                var methods = typeof(Native).GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
                    .Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0).ToList();
                Assert.Equal(Native.FunctionCount, methods.Count, "P/Invoke count");
                Assert.Equal(Native.FunctionCount, Native.FunctionNames.Length, "header function count");
                var names = new HashSet<string>(methods.Select(m => m.Name));
                foreach (string f in Native.FunctionNames) Assert.True(names.Contains(f), "bound: " + f);
                foreach (var m in methods) Marshal.Prelink(m);   // EntryPointNotFoundException if missing
            });

            Add("raw: public enums equal the C constants", () =>
            {
                foreach (AoaiStatus s in Enum.GetValues(typeof(AoaiStatus)))
                {
                    string c = "AOAI_STATUS_" + Regex.Replace(s.ToString(), "(?<=[a-z0-9])([A-Z])", "_$1").ToUpperInvariant();
                    FieldInfo f = typeof(Native).GetField(c, BindingFlags.Static | BindingFlags.NonPublic);
                    Assert.True(f != null, "constant " + c + " exists");
                    Assert.Equal((int)f.GetValue(null), (int)s, c);
                    Assert.True(AoaiLibrary.StatusText(s).Length > 0, "status text of " + s);
                }
                int statusConsts = typeof(Native).GetFields(BindingFlags.Static | BindingFlags.NonPublic).Count(f => f.Name.StartsWith("AOAI_STATUS_"));
                Assert.Equal(statusConsts, Enum.GetValues(typeof(AoaiStatus)).Length, "every status has an enum member");
                Assert.Equal("unknown status", AoaiLibrary.StatusText((AoaiStatus)12345), "unknown status text");
            });

            Add("raw: version", () =>
            {
                Assert.True(Regex.IsMatch(AoaiLibrary.Version, @"^\d+\.\d+\.\d+"), "version looks like x.y.z: " + AoaiLibrary.Version);
                Assert.Equal(AoaiLibrary.Version, AoaiClient.Version, "client version");
                string[] p = AoaiLibrary.Version.Split('.', '-');
                int n = (int.Parse(p[0]) << 16) | (int.Parse(p[1]) << 8) | int.Parse(p[2]);
                Assert.Equal(n, AoaiLibrary.VersionNumber, "version number matches version string");
                Assert.Equal(AoaiLibrary.BindingVersion, AoaiLibrary.Version, "bindings generated from this header version");
                AoaiLibrary.EnsureCompatible();
            });

            Add("json path: raw values by key and index, escapes, malformed input", () =>
            {
                string j = "{ \"a\" : {\"b\":[1, {\"c\":\"x]}\\\"y\"}, [2,3]]}, \"k\\u0041\":true, \"n\":null, \"s\":\"q\\\"\"}";
                Assert.Equal("{\"b\":[1, {\"c\":\"x]}\\\"y\"}, [2,3]]}", JsonPath.Find(j, "a"), "object value");
                Assert.Equal("1", JsonPath.Find(j, "a", "b", 0), "array element");
                Assert.Equal("\"x]}\\\"y\"", JsonPath.Find(j, "a", "b", 1, "c"), "string with brackets and escapes");
                Assert.Equal("3", JsonPath.Find(j, "a", "b", 2, 1), "nested array");
                Assert.Equal("true", JsonPath.Find(j, "kA"), "escaped key");
                Assert.Equal("null", JsonPath.Find(j, "n"), "null literal");
                Assert.Equal("\"q\\\"\"", JsonPath.Find(j, "s"), "last key");
                Assert.Equal(null, JsonPath.Find(j, "a", "b", 3), "index out of range");
                Assert.Equal(null, JsonPath.Find(j, "missing"), "missing key");
                Assert.Equal(null, JsonPath.Find(j, "a", 0), "index into an object");
                Assert.Equal(null, JsonPath.Find("{\"a\":[1,2", "a"), "truncated");
                Assert.Equal(null, JsonPath.Find(null, "a"), "null text");
                Assert.Equal(j, JsonPath.Find(j), "empty path: the whole value");
            });

            // ---------------------------------------------------------------- configuration
            Add("client from options: one-liners", () =>
            {
                using (var c = NewClient())
                {
                    Assert.Equal(EchoPrefix + "hi there", c.Chat("hi there"), "chat one-liner");
                }
                using (var c = NewClient("gpt-35-turbo-instruct"))
                {
                    Assert.Equal(" This is a completion from the aoai emulator for: sky", c.Complete("sky"), "completion one-liner");
                }
            });

            Add("client from JSON text and file", () =>
            {
                string json = "{\"endpoint\":\"" + Emu.Url + "\",\"api_key\":\"emulator-key\",\"deployment\":\"gpt-4o-mini\",\"max_retries\":0}";
                using (var c = AoaiClient.FromJson(json))
                {
                    string d = c.Describe();
                    Assert.Contains("\"deployment\": \"gpt-4o-mini\"", d, "describe");
                    using (var r = ChatRequest.FromPrompt("json config"))
                    {
                        var resp = c.Chat(r);
                        Assert.Equal("gpt-4o-mini-2024-07-18", resp.Model, "model of the JSON-configured deployment");
                    }
                }
                string path = Path.Combine(Path.GetTempPath(), "aoai-cs-test-" + Guid.NewGuid().ToString("N") + ".json");
                File.WriteAllText(path, json);
                try
                {
                    using (var c = AoaiClient.FromJson(path))
                        Assert.Equal(EchoPrefix + "from file", c.Chat("from file"), "client from a JSON file");
                    // JSON as the middle layer of options: explicit deployment wins.
                    var o = new AoaiClientOptions { JsonConfig = path, Deployment = "gpt-4o", UseEnvironment = false };
                    using (var c = new AoaiClient(o))
                        Assert.Contains("\"deployment\": \"gpt-4o\"", c.Describe(), "explicit option over JSON");
                }
                finally
                {
                    File.Delete(path);
                }
                var ex = Assert.Throws<ArgumentException>(() => AoaiClient.FromJson("{\"endpoint\":\"" + Emu.Url + "\",\"bogus_key\":1}"), "unknown JSON key");
                Assert.Contains("bogus_key", ex.Message, "message names the key");
                Assert.Throws<ArgumentException>(() => AoaiClient.FromJson("{not json"), "malformed JSON config");
            });

            Add("client from environment", () =>
            {
                string[] names = { "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT_NAME" };
                var saved = names.Select(Environment.GetEnvironmentVariable).ToArray();
                try
                {
                    Environment.SetEnvironmentVariable("AZURE_OPENAI_ENDPOINT", Emu.Url);
                    Environment.SetEnvironmentVariable("AZURE_OPENAI_API_KEY", "emulator-key");
                    Environment.SetEnvironmentVariable("AZURE_OPENAI_DEPLOYMENT_NAME", "gpt-4o");
                    using (var c = AoaiClient.FromEnvironment())
                    {
                        Assert.Equal(EchoPrefix + "env", c.Chat("env"), "chat through env config");
                        Assert.Contains("\"endpoint\": \"env", c.Describe().Replace("\"endpoint\": \"" + Emu.Url, "\"endpoint\": \"env"), "endpoint from env");
                    }
                    foreach (string n in names) Environment.SetEnvironmentVariable(n, null);
                    var ex = Assert.Throws<ArgumentException>(() => AoaiClient.FromEnvironment(), "nothing in the environment");
                    var inner = (AoaiException)ex.InnerException;
                    Assert.Equal(AoaiStatus.InvalidConfig, inner.Status, "status of missing endpoint");
                }
                finally
                {
                    for (int i = 0; i < names.Length; i++) Environment.SetEnvironmentVariable(names[i], saved[i]);
                }
            });

            Add("describe: secrets redacted, options visible", () =>
            {
                var o = Options();
                o.Headers["x-test-header"] = "on";
                o.DefaultParameters["temperature"] = "0.25";
                o.TotalTimeout = TimeSpan.FromSeconds(42);
                using (var c = new AoaiClient(o))
                {
                    string d = c.Describe();
                    Assert.NotContains("emulator-key", d, "describe output");
                    Assert.Contains("\"total\": 42000", d, "total timeout");
                    Assert.Contains("x-test-header", d, "extra header");
                    Assert.Contains(Emu.Url, d, "endpoint");
                }
                Assert.NotContains("emulator-key", o.ToString(), "options ToString");
            });

            Add("options: invalid configuration is an ArgumentException with the library's message", () =>
            {
                var o = new AoaiClientOptions { Endpoint = Emu.Url, Deployment = "gpt-4o", UseEnvironment = false };
                var ex = Assert.Throws<ArgumentException>(() => new AoaiClient(o).Dispose(), "no key");
                Assert.Equal(AoaiStatus.InvalidConfig, ((AoaiException)ex.InnerException).Status, "status");
                o.ApiKey = "emulator-key";
                o.Endpoint = "http://example.com";
                ex = Assert.Throws<ArgumentException>(() => new AoaiClient(o).Dispose(), "http to a remote host");
                Assert.Contains("http", ex.Message, "message");
                o.Endpoint = Emu.Url;
                o.MaxRetries = 99;
                ex = Assert.Throws<ArgumentException>(() => new AoaiClient(o).Dispose(), "max retries out of range");
                Assert.Equal(AoaiStatus.InvalidArgument, ((AoaiException)ex.InnerException).Status, "status");
            });

            Add("options: extra headers and api-version reach the service", () =>
            {
                Emu.Reset();
                var o = Options();
                o.Headers["x-test-tag"] = "cs-test-123";
                o.ApiVersion = "2024-06-01";
                o.CapturedHeaders.Add("X-Content-Type-Options");
                o.CapturedHeaders.Add("apim-request-id");
                using (var c = new AoaiClient(o))
                {
                    var resp = c.Chat(ChatRequest.FromPrompt("headers"));
                    Assert.True(Regex.IsMatch(resp.GetHeader("X-MS-Client-Request-Id") ?? "", "^[0-9a-f-]{36}$"),
                        "the library's per-call id echoed, case-insensitive lookup: " + resp.GetHeader("x-ms-client-request-id"));
                    Assert.Equal("nosniff", resp.GetHeader("x-content-type-options"), "extra captured header");
                    Assert.Equal(resp.RequestId, resp.GetHeader("apim-request-id"), "request id header");
                }
                string recorded = Emu.Requests();
                Assert.Contains("api-version=2024-06-01", recorded, "api-version in the query");
                Assert.Contains("\"x-test-tag\":\"cs-test-123\"", recorded, "extra header sent");
            });

            // ---------------------------------------------------------------- calls
            Add("chat: typed request round trip, usage, request id, headers", () =>
            {
                using (var c = NewClient())
                using (var r = new ChatRequest())
                {
                    r.AddSystem("You are terse.").AddUser("one two three");
                    r.Temperature = 0.5;
                    r.MaxTokens = 50;
                    r.Seed = 7;
                    r.User = "tester";
                    Assert.Equal(0.5, r.Temperature.Value, "temperature getter");
                    string body = r.ToJson();
                    Assert.Contains("\"temperature\":0.5", body, "body temperature");
                    Assert.Contains("\"seed\":7", body, "body seed");
                    var resp = c.Chat(r);
                    Assert.Equal(EchoPrefix + "one two three", resp.Text, "text");
                    Assert.Equal(1, resp.Choices.Count, "choices");
                    Assert.Equal("stop", resp.Choices[0].FinishReason, "finish reason");
                    Assert.Equal(0, resp.Choices[0].ToolCalls.Count, "no tool calls");
                    Assert.Equal("gpt-4o-2024-08-06", resp.Model, "model");
                    Assert.True(resp.Id.StartsWith("chatcmpl-"), "id " + resp.Id);
                    Assert.Equal("fp_emulator", resp.SystemFingerprint, "fingerprint");
                    Assert.Equal(200, resp.HttpStatus, "http status");
                    Assert.Equal(1, resp.Attempts, "attempts");
                    Assert.True(resp.Created.HasValue, "created");
                    Assert.True(Regex.IsMatch(resp.RequestId ?? "", "^[0-9a-f-]{36}$"), "request id is a uuid: " + resp.RequestId);
                    Assert.Equal("East US", resp.Region, "region");
                    Assert.Equal("99000", resp.GetHeader("x-ratelimit-remaining-tokens"), "rate-limit header");
                    Assert.Equal("99", resp.GetHeader("X-RateLimit-Remaining-Requests"), "case-insensitive lookup");
                    Assert.True(resp.Headers.ContainsKey("x-ratelimit-limit-tokens"), "headers dictionary");
                    Assert.Equal(null, resp.GetHeader("x-ms-region"), "only the captured set is copied");
                    Assert.Equal(null, resp.GetHeader("x-not-there"), "absent header");
                    // Usage: prompt words = "You are terse." (3) + "one two three" (3); completion = 10 words.
                    Assert.Equal(6L, resp.Usage.PromptTokens.Value, "prompt tokens");
                    Assert.Equal(10L, resp.Usage.CompletionTokens.Value, "completion tokens");
                    Assert.Equal(16L, resp.Usage.TotalTokens.Value, "total tokens");
                    Assert.Equal(0L, resp.Usage.CachedTokens.Value, "cached tokens (Azure details)");
                    Assert.Equal(0L, resp.Usage.ReasoningTokens.Value, "reasoning tokens");
                    Assert.Equal(0, resp.PromptFilterCategories.Length, "no prompt filter categories");
                    Assert.Equal(1, resp.PromptFilterJson.Count, "one prompt filter entry");
                    Assert.Contains("\"hate\"", resp.PromptFilterJson[0], "prompt filter JSON");
                    Assert.Contains("\"choices\"", resp.Json, "raw JSON");
                    Assert.True(resp.Choices[0].ContentFilterJson != null, "choice filter JSON");
                    // The same request can be sent again.
                    Assert.Equal(resp.Text, c.Chat(r).Text, "resend");
                }
            });

            Add("chat: reasoning model usage fields and empty content", () =>
            {
                using (var c = NewClient("o1"))
                using (var r = ChatRequest.FromPrompt("think"))
                {
                    r.MaxCompletionTokens = 10;
                    var resp = c.Chat(r);
                    Assert.Equal("", resp.Text, "empty content");
                    Assert.Equal("length", resp.Choices[0].FinishReason, "finish reason");
                    Assert.Equal(10L, resp.Usage.ReasoningTokens.Value, "reasoning tokens");
                    Assert.Equal(10L, resp.Usage.CompletionTokens.Value, "completion tokens");
                }
            });

            Add("chat: UTF-8 in and out (multi-byte, emoji)", () =>
            {
                using (var c = NewClient())
                {
                    string text = "Grüße, 世界 🌍 — ok";
                    Assert.Equal(EchoPrefix + text, c.Chat(text), "echo of non-ASCII text");
                    using (var r = ChatRequest.FromPrompt("[[emu:reply=" + text + "]]"))
                        Assert.Equal(text, c.Chat(r).Text, "reply directive");
                }
            });

            Add("chat: tools round trip", () =>
            {
                using (var c = NewClient())
                using (var r = new ChatRequest())
                {
                    r.AddUser("weather in Paris");
                    r.AddFunctionTool("get_weather", "Weather for a city",
                        "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}");
                    r.ToolChoice = "auto";
                    r.ParallelToolCalls = false;
                    var resp = c.Chat(r);
                    Assert.Equal("tool_calls", resp.Choices[0].FinishReason, "finish reason");
                    Assert.Equal(null, resp.Text, "content null with tool calls");
                    Assert.Equal(1, resp.ToolCalls.Count, "one tool call");
                    ToolCall call = resp.ToolCalls[0];
                    Assert.Equal("get_weather", call.Name, "function name");
                    Assert.True(call.Id.StartsWith("call_emu_"), "call id " + call.Id);
                    Assert.Equal("{\"query\":\"weather in Paris\"}", call.Arguments, "arguments");
                    r.AddAssistantMessage(resp);
                    r.AddToolMessage(call.Id, "18 °C, sunny");
                    string body = r.ToJson();
                    Assert.Contains("\"tool_call_id\":\"" + call.Id + "\"", body, "tool message");
                    Assert.Contains("\"tool_calls\"", body, "assistant tool calls kept");
                    var answer = c.Chat(r);
                    Assert.Equal("Tool result received: 18 °C, sunny", answer.Text, "answer after tool result");
                    Assert.Equal("stop", answer.Choices[0].FinishReason, "finish");
                }
            });

            Add("chat: response format, n choices, JSON request passthrough, field json", () =>
            {
                using (var c = NewClient())
                {
                    using (var r = ChatRequest.FromPrompt("json please"))
                    {
                        r.SetResponseFormatJsonObject();
                        Assert.Equal("{\"answer\":\"" + EchoPrefix + "json please\"}", c.Chat(r).Text, "json_object answer");
                    }
                    using (var r = ChatRequest.FromPrompt("schema"))
                    {
                        r.SetResponseFormatJsonSchema("answer", "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}}}");
                        Assert.Contains("json_schema", r.ToJson(), "schema in body");
                        Assert.Contains("\"answer\"", c.Chat(r).Text, "json_schema answer");
                    }
                    using (var r = ChatRequest.FromPrompt("three times"))
                    {
                        r.N = 3;
                        var resp = c.Chat(r);
                        Assert.Equal(3, resp.Choices.Count, "n choices");
                        Assert.Equal(2, resp.Choices[2].Index, "choice index");
                    }
                    using (var r = ChatRequest.FromJson("{\"messages\":[{\"role\":\"user\",\"content\":\"raw body\"}],\"max_tokens\":3}"))
                    {
                        var resp = c.Chat(r);
                        Assert.Equal("Hello from the", resp.Text, "max_tokens from the raw body cuts the answer");
                        Assert.Equal("length", resp.Choices[0].FinishReason, "finish length");
                    }
                    using (var r = ChatRequest.FromPrompt("logprobs"))
                    {
                        r.SetFieldJson("logprobs", "true");
                        r.MergeJson("{\"top_logprobs\":1}");
                        var resp = c.Chat(r);
                        Assert.Contains("\"top_logprobs\"", resp.Choices[0].LogprobsJson, "logprobs JSON");
                    }
                }
            });

            Add("completion: typed request, prompts array, echo, suffix", () =>
            {
                using (var c = NewClient("gpt-35-turbo-instruct"))
                using (var r = new CompletionRequest("Once"))
                {
                    r.AddPrompt("Twice");
                    r.MaxTokens = 50;
                    r.Echo = true;
                    r.Suffix = " END";
                    var resp = c.Complete(r);
                    Assert.Equal(2, resp.Choices.Count, "one choice per prompt");
                    Assert.Equal("Once This is a completion from the aoai emulator for: Once END", resp.Choices[0].Text, "echo + text + suffix");
                    Assert.Equal("Twice This is a completion from the aoai emulator for: Twice END", resp.Choices[1].Text, "second prompt");
                    Assert.True(resp.Id.StartsWith("cmpl-"), "completion id");
                    Assert.Equal(2, resp.PromptFilterJson.Count, "filter result per prompt");
                    Assert.True(resp.Usage.TotalTokens > 0, "usage");
                }
                using (var c = NewClient("gpt-35-turbo-instruct"))
                using (var r = CompletionRequest.FromJson("{\"prompt\":\"json\",\"max_tokens\":2}"))
                    Assert.Equal(" This is", c.Complete(r).Text, "completion from JSON");
            });

            Add("embeddings", () =>
            {
                using (var c = NewClient("text-embedding-3-small"))
                using (var r = new EmbeddingRequest("alpha", "beta", "alpha"))
                {
                    r.Dimensions = 16;
                    var resp = c.Embed(r);
                    Assert.Equal(3, resp.Vectors.Count, "one vector per input");
                    Assert.Equal(16, resp.Vectors[0].Length, "dimensions");
                    double norm = Math.Sqrt(resp.Vectors[0].Sum(x => (double)x * x));
                    Assert.True(Math.Abs(norm - 1.0) < 1e-3, "unit vector, norm " + norm);
                    Assert.True(resp.Vectors[0].SequenceEqual(resp.Vectors[2]), "same text, same vector");
                    Assert.True(!resp.Vectors[0].SequenceEqual(resp.Vectors[1]), "different text, different vector");
                }
            });

            // ---------------------------------------------------------------- exception mapping
            Add("errors: 401 -> AoaiAuthenticationException", () =>
            {
                var o = Options();
                o.ApiKey = "wrong-key";
                using (var c = new AoaiClient(o))
                {
                    var ex = Assert.Throws<AoaiAuthenticationException>(() => c.Chat("hi"), "bad key");
                    Assert.Equal(AoaiStatus.Authentication, ex.Status, "status");
                    Assert.Equal(401, ex.HttpStatus, "http status");
                    Assert.Equal("401", ex.ErrorCode, "error code");
                    Assert.Contains("Access denied", ex.Message, "message");
                    Assert.NotContains("wrong-key", ex.ToString(), "no key in the exception");
                    Assert.True(ex.RequestId != null, "request id");
                    Assert.Equal(1, ex.Attempts, "not retried");
                }
                using (var c = NewClient())
                {
                    var ex = Assert.Throws<AoaiAuthenticationException>(() => c.Chat("[[emu:status=403]]"), "403");
                    Assert.Equal(AoaiStatus.PermissionDenied, ex.Status, "403 status");
                }
            });

            Add("errors: 404 DeploymentNotFound -> AoaiNotFoundException", () =>
            {
                using (var c = NewClient("no-such-deployment"))
                {
                    var ex = Assert.Throws<AoaiNotFoundException>(() => c.Chat("hi"), "unknown deployment");
                    Assert.Equal(AoaiStatus.NotFound, ex.Status, "status");
                    Assert.Equal(404, ex.HttpStatus, "http");
                    Assert.Equal("DeploymentNotFound", ex.ErrorCode, "code");
                    Assert.Contains("does not exist", ex.Message, "Azure text");
                    Assert.Contains("DeploymentNotFound", ex.ResponseBody, "raw body");
                }
            });

            Add("errors: content filter -> AoaiContentFilterException with categories", () =>
            {
                using (var c = NewClient())
                {
                    var ex = Assert.Throws<AoaiContentFilterException>(() => c.Chat("[[emu:status=400;code=content_filter;category=hate]] bad"), "filtered prompt");
                    Assert.Equal(AoaiStatus.ContentFiltered, ex.Status, "status");
                    Assert.Equal(400, ex.HttpStatus, "http");
                    Assert.Equal("content_filter", ex.ErrorCode, "code");
                    Assert.Equal("prompt", ex.ErrorParam, "param");
                    Assert.Equal(1, ex.Categories.Length, "one category");
                    Assert.Equal("hate", ex.Categories[0], "category");
                    var ex2 = Assert.Throws<AoaiContentFilterException>(() => c.Chat("[[emu:status=400;code=content_filter]] bad"), "default category");
                    Assert.Equal("violence", ex2.Categories[0], "default category violence");
                    // A completion cut by the filter is a successful response with the reason.
                    var resp = c.Chat(ChatRequest.FromPrompt("[[emu:finish=content_filter]] one two three four"));
                    Assert.Equal("content_filter", resp.Choices[0].FinishReason, "finish content_filter");
                    Assert.Equal("violence", resp.Choices[0].FilteredCategories[0], "choice filtered category");
                }
            });

            Add("errors: 429 -> AoaiRateLimitException with RetryAfter", () =>
            {
                using (var c = NewClient())
                {
                    var ex = Assert.Throws<AoaiRateLimitException>(() => c.Chat("[[emu:status=429;retry-after=7]]"), "rate limited");
                    Assert.Equal(AoaiStatus.RateLimited, ex.Status, "status");
                    Assert.Equal(429, ex.HttpStatus, "http");
                    Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter.Value, "retry after");
                    Assert.Equal("7", ex.GetResponseHeader("Retry-After"), "retry-after header kept");
                    Assert.Equal(1, ex.Attempts, "MaxRetries 0: one attempt");
                    var ex2 = Assert.Throws<AoaiRateLimitException>(() => c.Chat("[[emu:status=429;retry-after=0;retry-after-ms=250]]"), "ms hint");
                    Assert.Equal(TimeSpan.FromMilliseconds(250), ex2.RetryAfter.Value, "retry-after-ms wins");
                    var ex3 = Assert.Throws<AoaiRateLimitException>(() => c.Chat("[[emu:status=429;retry-after=none]]"), "no hint");
                    Assert.Equal(null, ex3.RetryAfter, "no retry hint");
                }
                var o = Options();
                o.MaxRetries = 2;
                using (var c = new AoaiClient(o))
                {
                    string p = "[[emu:status=429;retry-after=0;retry-after-ms=10;times=2]] " + Guid.NewGuid().ToString("N");
                    var resp = c.Chat(ChatRequest.FromPrompt(p));
                    Assert.Equal(3, resp.Attempts, "two retries then success");
                }
            });

            Add("errors: 5xx, timeout, connection", () =>
            {
                using (var c = NewClient())
                {
                    var ex = Assert.Throws<AoaiException>(() => c.Chat("[[emu:status=503]]"), "503");
                    Assert.Equal(AoaiStatus.Server, ex.Status, "server status");
                    Assert.Equal(503, ex.HttpStatus, "http");
                    using (var r = ChatRequest.FromPrompt("[[emu:delay-ms=3000]] slow"))
                    {
                        r.TotalTimeout = TimeSpan.FromMilliseconds(300);
                        var t = Assert.Throws<AoaiTimeoutException>(() => c.Chat(r), "total timeout");
                        Assert.Equal(AoaiStatus.Timeout, t.Status, "timeout status");
                    }
                }
                var o = Options();
                o.Endpoint = "http://127.0.0.1:9";   // discard port: nothing listens
                using (var c = new AoaiClient(o))
                {
                    var ex = Assert.Throws<AoaiException>(() => c.Chat("hi"), "refused");
                    Assert.Equal(AoaiStatus.Connection, ex.Status, "connection status");
                }
            });

            Add("errors: argument errors -> ArgumentException with the native message", () =>
            {
                using (var r = new ChatRequest())
                {
                    var ex = Assert.Throws<ArgumentException>(() => r.Temperature = 5, "temperature out of range");
                    Assert.Contains("temperature", ex.Message, "native message names the field");
                    Assert.Equal(AoaiStatus.InvalidArgument, ((AoaiException)ex.InnerException).Status, "status");
                    Assert.Equal(null, r.Temperature, "failed set leaves the getter unchanged");
                    ex = Assert.Throws<ArgumentException>(() => r.SetFieldJson("logprobs", "{not json"), "bad JSON value");
                    Assert.Equal(AoaiStatus.InvalidJson, ((AoaiException)ex.InnerException).Status, "json status");
                    ex = Assert.Throws<ArgumentException>(() => r.SetFieldJson("stream", "true"), "stream refused");
                    Assert.Contains("stream", ex.Message, "message");
                    Assert.Throws<ArgumentException>(() => r.AddMessageJson("[1,2]"), "message must be an object");
                    Assert.Throws<ArgumentNullException>(() => r.AddUser(null), "null content");
                    Assert.Throws<ArgumentNullException>(() => r.Temperature = null, "cannot unset");
                    ex = Assert.Throws<ArgumentException>(() => r.AddUser("nul\0inside"), "interior NUL");
                    Assert.Contains("NUL", ex.Message, "NUL message");
                    Assert.Throws<ArgumentException>(() => r.AddUser("bad \ud800 surrogate"), "unpaired surrogate");
                    Assert.Throws<ArgumentException>(() => r.AddMessage(ChatRole.Tool, "x"), "tool role needs an id");
                }
                Assert.Throws<ArgumentException>(() => ChatRequest.FromJson("{\"messages\":5}").Dispose(), "bad request JSON shape");
                using (var c = NewClient())
                {
                    Assert.Throws<ArgumentNullException>(() => c.Chat((ChatRequest)null), "null request");
                    using (var r = new ChatRequest())
                    {
                        // A chat without messages: the library refuses it before sending.
                        var ex = Assert.ThrowsAny<ArgumentException>(() => c.Chat(r), "empty chat");
                        Assert.True(ex.Message.Length > 0, "message");
                    }
                }
            });

            Add("errors: use after Dispose -> ObjectDisposedException", () =>
            {
                var c = NewClient();
                var r = ChatRequest.FromPrompt("x");
                var op = c.StartChat(r, true);
                op.Dispose();
                Assert.Throws<ObjectDisposedException>(() => op.Poll(), "operation");
                op.Cancel();   // no-op after Dispose
                r.Dispose();
                Assert.Throws<ObjectDisposedException>(() => r.AddUser("y"), "request");
                Assert.Throws<ObjectDisposedException>(() => r.ToJson(), "request ToJson");
                c.Dispose();
                c.Dispose();   // twice is fine
                Assert.True(c.IsDisposed, "IsDisposed");
                using (var r2 = ChatRequest.FromPrompt("x"))
                {
                    Assert.Throws<ObjectDisposedException>(() => c.Chat(r2), "client Chat");
                    Assert.Throws<ObjectDisposedException>(() => c.Describe(), "client Describe");
                    Assert.Throws<ObjectDisposedException>(() => c.ChatAsync(r2), "client ChatAsync");
                    Assert.Throws<ObjectDisposedException>(() => c.StartChat(r2), "client StartChat");
                }
            });

            Add("errors: invalid state -> InvalidOperationException", () =>
            {
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("[[emu:delay-ms=1500]] slow"))
                using (var op = c.StartChat(r, false))
                {
                    var ex = Assert.Throws<InvalidOperationException>(() => op.GetResponse(), "response while pending");
                    Assert.Equal(AoaiStatus.InvalidState, ((AoaiException)ex.InnerException).Status, "status");
                    op.Cancel();
                    Assert.Equal(OperationState.Cancelled, op.Poll(), "cancelled at once");
                    Assert.ThrowsAny<OperationCanceledException>(() => op.GetResponse(), "response of a cancelled op");
                }
                var o = Options();
                using (var c = new AoaiClient(o))
                {
                    var ex = Assert.Throws<InvalidOperationException>(() => c.SetToken("tok"), "set token on a key client");
                    Assert.Equal(AoaiStatus.InvalidState, ((AoaiException)ex.InnerException).Status, "status");
                }
            });

            Add("errors: deliberate panic -> AoaiException(Panic), library keeps working", () =>
            {
                var ex = Assert.Throws<AoaiException>(() => AoaiLibrary.DebugPanic(), "panic");
                Assert.Equal(AoaiStatus.Panic, ex.Status, "status");
                Assert.Contains("deliberate panic", ex.Message, "message");
                using (var c = NewClient())
                    Assert.Equal(EchoPrefix + "after panic", c.Chat("after panic"), "still works");
                ex = Assert.Throws<AoaiException>(() => AoaiLibrary.DebugPanic(), "second panic");
                Assert.Equal(AoaiStatus.Panic, ex.Status, "status again");
            });

            // ---------------------------------------------------------------- async
            Add("async: ChatAsync and CompleteAsync", () =>
            {
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("async hello"))
                {
                    ChatResponse resp = c.ChatAsync(r).Result;
                    Assert.Equal(EchoPrefix + "async hello", resp.Text, "async text");
                    Assert.True(resp.Usage.TotalTokens > 0, "usage");
                    // Many in flight at once.
                    var tasks = Enumerable.Range(0, 16).Select(i =>
                    {
                        var req = ChatRequest.FromPrompt("n" + i);
                        return c.ChatAsync(req).ContinueWith(t => { req.Dispose(); return t.Result.Text; });
                    }).ToArray();
                    Assert.True(Task.WaitAll(tasks, 20000), "16 concurrent calls finish");
                    for (int i = 0; i < 16; i++) Assert.Equal(EchoPrefix + "n" + i, tasks[i].Result, "concurrent result " + i);
                }
                using (var c = NewClient("gpt-35-turbo-instruct"))
                using (var r = new CompletionRequest("async"))
                    Assert.Equal(" This is a completion from the aoai emulator for: async", c.CompleteAsync(r).Result.Text, "completion async");
            });

            Add("async: errors surface through the task with their type", () =>
            {
                using (var c = NewClient())
                {
                    using (var r = ChatRequest.FromPrompt("[[emu:status=429;retry-after=3]]"))
                    {
                        var ex = Assert.Throws<AoaiRateLimitException>(() => c.ChatAsync(r).Wait(), "429 async");
                        Assert.Equal(TimeSpan.FromSeconds(3), ex.RetryAfter.Value, "retry after");
                    }
                    using (var r = ChatRequest.FromPrompt("[[emu:status=400;code=content_filter;category=self_harm]]"))
                    {
                        var ex = Assert.Throws<AoaiContentFilterException>(() => c.ChatAsync(r).Wait(), "filter async");
                        Assert.Equal("self_harm", ex.Categories[0], "category");
                    }
                }
            });

            Add("async: CancellationToken cancels the call (OperationCanceledException)", () =>
            {
                Emu.Reset();
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("[[emu:delay-ms=5000]] slow"))
                using (var cts = new CancellationTokenSource())
                {
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    Task<ChatResponse> t = c.ChatAsync(r, cts.Token);
                    cts.CancelAfter(200);
                    Assert.ThrowsAny<OperationCanceledException>(() => t.Wait(), "cancelled");
                    Assert.True(t.IsCanceled, "task is Canceled, not Faulted");
                    Assert.True(sw.ElapsedMilliseconds < 3000, "ended long before the 5 s delay: " + sw.ElapsedMilliseconds + " ms");
                    // Already-cancelled token: cancelled task, nothing sent.
                    Task<ChatResponse> t2 = c.ChatAsync(r, cts.Token);
                    Assert.True(t2.IsCanceled, "pre-cancelled token");
                }
                // Streaming request through the poll API, cancelled mid-stream: the emulator sees the close.
                long closedBefore = Emu.Stat("streams_client_closed");
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("[[emu:chunk-delay-ms=200]] a b c d e f g h i j"))
                using (var op = c.StartChat(r, true))
                {
                    var received = new StringBuilder();
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    while (received.Length == 0 && sw.ElapsedMilliseconds < 10000)
                    {
                        StreamEvent ev;
                        if (op.TryGetEvent(out ev)) { if (ev.Kind == StreamEventKind.TextDelta) received.Append(ev.Text); }
                        else op.WaitForEvent(TimeSpan.FromSeconds(1));
                    }
                    Assert.True(received.Length > 0, "a text delta arrived");
                    op.Cancel();
                    Assert.Equal(OperationState.Cancelled, op.Poll(), "cancelled");
                    Assert.True(Emu.WaitStat("streams_client_closed", closedBefore + 1) >= closedBefore + 1, "emulator saw the client close the stream");
                    var cancelled = Assert.ThrowsAny<OperationCanceledException>(() => op.GetResponse(), "no whole response");
                    Assert.True(cancelled.Message.Length > 0, "message");
                    var partial = op.GetPartialResponse();
                    Assert.Equal(received.ToString(), partial.Text, "partial response holds exactly the text received");
                }
            });

            Add("async: cancellation racing completion, 200 calls from 8 threads", () =>
            {
                long opsReleased = HandleStats.ReleasedCount(HandleKind.Operation);
                var rnd = new Random(42);
                var delays = Enumerable.Range(0, 200).Select(i => rnd.Next(0, 30)).ToArray();
                int done = 0, canceled = 0;
                using (var c = NewClient())
                {
                    var workers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
                    {
                        for (int i = w; i < 200; i += 8)
                        {
                            using (var r = ChatRequest.FromPrompt("[[emu:delay-ms=" + (i % 20) + "]] race " + i))
                            using (var cts = new CancellationTokenSource())
                            {
                                Task<ChatResponse> t = c.ChatAsync(r, cts.Token);
                                if (delays[i] > 0) Thread.Sleep(delays[i]);
                                cts.Cancel();
                                try
                                {
                                    Assert.Equal(EchoPrefix + "race " + i, t.Result.Text, "result " + i);
                                    Interlocked.Increment(ref done);
                                }
                                catch (AggregateException e)
                                {
                                    if (!(e.InnerException is OperationCanceledException)) throw;
                                    Assert.True(t.IsCanceled, "cancelled task " + i + " is Canceled");
                                    Interlocked.Increment(ref canceled);
                                }
                            }
                        }
                    })).ToArray();
                    Assert.True(Task.WaitAll(workers, 45000), "no hang");
                }
                Assert.Equal(200, done + canceled, "every call ended");
                Assert.True(done > 0 && canceled > 0, "both outcomes happened: done " + done + ", cancelled " + canceled);
                // Every operation handle (and its GCHandle) was released by the cleanup path.
                long released = 0;
                for (int i = 0; i < 100 && released < 200; i++)
                {
                    released = HandleStats.ReleasedCount(HandleKind.Operation) - opsReleased;
                    if (released < 200) Thread.Sleep(20);
                }
                Assert.Equal(200L, released, "native operations freed");
            });

            Add("async: disposing the client ends pending tasks and silences callbacks", () =>
            {
                var c = NewClient();
                var r = ChatRequest.FromPrompt("[[emu:delay-ms=3000]] slow");
                Task<ChatResponse> t = c.ChatAsync(r);
                var op = c.StartChat(r, true);
                int notifiesAfterDispose = 0;
                bool disposed = false;
                op.SetNotify(() => { if (Volatile.Read(ref disposed)) Interlocked.Increment(ref notifiesAfterDispose); });
                Thread.Sleep(100);
                var sw = System.Diagnostics.Stopwatch.StartNew();
                c.Dispose();
                Volatile.Write(ref disposed, true);
                Assert.ThrowsAny<OperationCanceledException>(() => t.Wait(), "pending task ends");
                Assert.True(sw.ElapsedMilliseconds < 2000, "promptly: " + sw.ElapsedMilliseconds + " ms");
                Assert.Equal(OperationState.Cancelled, op.Poll(), "operations of the client are cancelled");
                Thread.Sleep(300);
                Assert.Equal(0, Volatile.Read(ref notifiesAfterDispose), "no notify after Dispose returned");
                op.Dispose();
                r.Dispose();
            });

            Add("async: notify runs on a library worker thread", () =>
            {
                int mainThread = Thread.CurrentThread.ManagedThreadId;
                int notifyThread = -1;
                int notifies = 0;
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("notify me"))
                using (var op = c.StartChat(r, true))
                using (var done = new ManualResetEventSlim())
                {
                    op.SetNotify(() =>
                    {
                        Interlocked.Increment(ref notifies);
                        Volatile.Write(ref notifyThread, Thread.CurrentThread.ManagedThreadId);
                        done.Set();
                    });
                    Assert.True(op.Wait(TimeSpan.FromSeconds(10)), "finished");
                    Assert.True(done.Wait(5000), "notified");
                    Assert.True(Volatile.Read(ref notifies) >= 1, "at least one notify");
                    Assert.True(notifyThread != mainThread && notifyThread > 0, "notify thread " + notifyThread + " differs from caller " + mainThread);
                    var text = new StringBuilder();
                    StreamEvent ev;
                    while (op.TryGetEvent(out ev)) if (ev.Kind == StreamEventKind.TextDelta) text.Append(ev.Text);
                    Assert.Equal(EchoPrefix + "notify me", text.ToString(), "events after the end");
                    // A throwing notify handler is reported by the next Poll, not lost.
                }
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("throwing notify"))
                using (var op = c.StartChat(r, true))
                {
                    op.SetNotify(() => { throw new InvalidTimeZoneException("from notify"); });
                    op.Wait(TimeSpan.FromSeconds(10));
                    Exception seen = null;
                    for (int i = 0; i < 100 && seen == null; i++)
                    {
                        try { op.Poll(); Thread.Sleep(20); }
                        catch (InvalidTimeZoneException e) { seen = e; }
                    }
                    Assert.True(seen != null && seen.Message == "from notify", "notify exception rethrown by Poll");
                }
            });

            // ---------------------------------------------------------------- streaming
            Add("stream: callback text equals the non-stream text; events typed", () =>
            {
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("stream this please [[emu:split=1]]"))
                {
                    r.StreamIncludeUsage = true;
                    string whole = c.Chat(r).Text;
                    var sb = new StringBuilder();
                    var kinds = new List<StreamEventKind>();
                    int callbackThread = -1;
                    Usage usage = null;
                    string finish = null;
                    string[] promptCats = null;
                    ChatResponse assembled = c.ChatStream(r, ev =>
                    {
                        callbackThread = Thread.CurrentThread.ManagedThreadId;
                        kinds.Add(ev.Kind);
                        if (ev.Kind == StreamEventKind.TextDelta) { sb.Append(ev.Text); Assert.Equal(0, ev.Choice, "choice"); }
                        if (ev.Kind == StreamEventKind.Finish) finish = ev.FinishReason;
                        if (ev.Kind == StreamEventKind.Usage) usage = ev.Usage;
                        if (ev.Kind == StreamEventKind.ContentFilter && ev.Choice == -1) { promptCats = ev.FilteredCategories; Assert.Equal(0, ev.PromptIndex, "prompt index"); }
                        Assert.True(ev.Json != null && ev.Json.StartsWith("{"), "chunk JSON");
                        return true;
                    });
                    Assert.Equal(Thread.CurrentThread.ManagedThreadId, callbackThread, "stream callback on the calling thread");
                    Assert.Equal(EchoPrefix + "stream this please", whole, "non-stream text");
                    Assert.Equal(whole, sb.ToString(), "joined deltas == non-stream text");
                    Assert.Equal(whole, assembled.Text, "assembled response");
                    Assert.Equal(1, assembled.PromptFilterJson.Count, "assembled prompt filter results");
                    Assert.Contains("\"severity\"", assembled.Choices[0].ContentFilterJson, "assembled choice filter results");
                    Assert.Equal("stop", finish, "finish event");
                    Assert.True(usage != null && usage.TotalTokens == assembled.Usage.TotalTokens, "usage event matches");
                    Assert.True(promptCats != null && promptCats.Length == 0, "prompt filter event without categories");
                    Assert.Equal(StreamEventKind.ContentFilter, kinds[0], "prompt filter first");
                    Assert.Equal(StreamEventKind.Usage, kinds[kinds.Count - 1], "usage last");
                }
            });

            Add("stream: tool call deltas", () =>
            {
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("find the answer"))
                {
                    r.AddFunctionTool("lookup", null, null);
                    var args = new StringBuilder();
                    string id = null, name = null;
                    var resp = c.ChatStream(r, ev =>
                    {
                        if (ev.Kind == StreamEventKind.ToolCallDelta)
                        {
                            Assert.Equal(0, ev.ToolCallIndex, "tool index");
                            if (ev.ToolCallId != null) id = ev.ToolCallId;
                            if (ev.ToolCallName != null) name = ev.ToolCallName;
                            args.Append(ev.Text);
                        }
                        return true;
                    });
                    Assert.Equal("lookup", name, "name");
                    Assert.Equal(resp.ToolCalls[0].Id, id, "id");
                    Assert.Equal("{\"query\":\"find the answer\"}", args.ToString(), "joined argument fragments");
                    Assert.Equal(args.ToString(), resp.ToolCalls[0].Arguments, "assembled arguments");
                }
            });

            Add("stream: returning false stops; an exception in the callback is rethrown", () =>
            {
                Emu.Reset();
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("[[emu:chunk-delay-ms=50]] a b c d e f g h"))
                {
                    int deltas = 0;
                    var resp = c.ChatStream(r, ev => { if (ev.Kind == StreamEventKind.TextDelta) deltas++; return deltas < 2; });
                    Assert.Equal(null, resp, "stopped stream returns null");
                    Assert.Equal(2, deltas, "no event after stop");
                    Assert.True(Emu.WaitStat("streams_client_closed", 1) >= 1, "connection closed");
                    var ex = Assert.Throws<FormatException>(() => c.ChatStream(r, ev => { throw new FormatException("from callback"); }), "callback exception");
                    Assert.Equal("from callback", ex.Message, "same exception");
                    Assert.Equal(EchoPrefix + "still fine", c.Chat("still fine"), "client usable afterwards");
                }
            });

            Add("stream: errors (in-band error event, HTTP error) map to exceptions", () =>
            {
                using (var c = NewClient())
                {
                    using (var r = ChatRequest.FromPrompt("[[emu:error-after=3]] x y z"))
                    {
                        var ex = Assert.Throws<AoaiException>(() => c.ChatStream(r, ev => true), "in-band error");
                        Assert.Equal(AoaiStatus.Stream, ex.Status, "stream status");
                        Assert.Equal("server_error", ex.ErrorCode, "code");
                    }
                    using (var r = ChatRequest.FromPrompt("[[emu:status=404]]"))
                        Assert.Throws<AoaiNotFoundException>(() => c.ChatStream(r, ev => true), "404 on a stream");
                }
            });

            Add("stream: completion streaming", () =>
            {
                using (var c = NewClient("gpt-35-turbo-instruct"))
                using (var r = new CompletionRequest("stream me"))
                {
                    var sb = new StringBuilder();
                    var resp = c.CompleteStream(r, ev => { if (ev.Kind == StreamEventKind.TextDelta) sb.Append(ev.Text); return true; });
                    Assert.Equal(" This is a completion from the aoai emulator for: stream me", sb.ToString(), "deltas");
                    Assert.Equal(sb.ToString(), resp.Text, "assembled");
                }
            });

            Add("poll: operation driven from a frame loop", () =>
            {
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("frame by frame [[emu:chunk-delay-ms=10]]"))
                using (var op = c.StartChat(r, true))
                {
                    var sb = new StringBuilder();
                    int frames = 0, events = 0;
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    long worstPollTicks = 0;
                    while (true)
                    {
                        frames++;
                        long t0 = sw.ElapsedTicks;
                        StreamEvent ev;
                        while (op.TryGetEvent(out ev))
                        {
                            events++;
                            if (ev.Kind == StreamEventKind.TextDelta) sb.Append(ev.Text);
                        }
                        bool done = op.IsDone;
                        worstPollTicks = Math.Max(worstPollTicks, sw.ElapsedTicks - t0);
                        if (done)
                        {
                            while (op.TryGetEvent(out ev)) if (ev.Kind == StreamEventKind.TextDelta) sb.Append(ev.Text);
                            break;
                        }
                        Assert.True(sw.ElapsedMilliseconds < 10000, "finishes");
                        Thread.Sleep(16);   // one frame at ~60 Hz
                    }
                    Assert.Equal(OperationState.Done, op.State, "done");
                    Assert.True(frames > 1, "took several frames: " + frames);
                    Assert.Equal(EchoPrefix + "frame by frame", sb.ToString(), "text from polled events");
                    Assert.Equal(sb.ToString(), op.GetResponse().Text, "response");
                    Assert.True(ReferenceEquals(op.GetResponse(), op.GetResponse()), "same response object each time");
                    Assert.True(worstPollTicks < System.Diagnostics.Stopwatch.Frequency / 20, "poll + drain never blocked a frame for 50 ms");
                    Assert.True(op.IsFinished || op.Wait(TimeSpan.FromSeconds(1)), "worker finished");
                }
                // Non-streaming through the same API, and a failure.
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("whole"))
                using (var op = c.StartChat(r, false))
                {
                    Assert.True(op.Wait(TimeSpan.FromSeconds(10)), "wait");
                    Assert.Equal(EchoPrefix + "whole", op.GetResponse().Text, "non-stream op");
                }
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("[[emu:status=401]]"))
                using (var op = c.StartChat(r, true))
                {
                    op.Wait(TimeSpan.FromSeconds(10));
                    Assert.Equal(OperationState.Failed, op.Poll(), "failed");
                    var ex = Assert.Throws<AoaiAuthenticationException>(() => op.GetResponse(), "error of the op");
                    Assert.Equal(401, ex.HttpStatus, "http status from the op's own error");
                }
            });

            // ---------------------------------------------------------------- tokens
            Add("token provider: host callback supplies the bearer token on a library thread", () =>
            {
                Emu.Reset();
                int caller = Thread.CurrentThread.ManagedThreadId;
                int calls = 0, providerThread = -1;
                string seenScope = null;
                var o = new AoaiClientOptions
                {
                    Endpoint = Emu.Url,
                    Deployment = "gpt-4o",
                    UseEnvironment = false,
                    MaxRetries = 0,
                    TokenProvider = scope =>
                    {
                        Interlocked.Increment(ref calls);
                        seenScope = scope;
                        providerThread = Thread.CurrentThread.ManagedThreadId;
                        return new AccessToken(Emu.Token, DateTimeOffset.UtcNow.AddHours(1));
                    },
                };
                using (var c = new AoaiClient(o))
                {
                    Assert.Equal(EchoPrefix + "with a token", c.Chat("with a token"), "chat with a host token");
                    Assert.Equal(EchoPrefix + "again", c.Chat("again"), "second call");
                    Assert.Equal(1, Volatile.Read(ref calls), "token cached: one provider call");
                    Assert.Equal("https://cognitiveservices.azure.com/.default", seenScope, "default scope");
                    Assert.True(providerThread != caller, "provider ran on a library thread");
                    Assert.NotContains(Emu.Token, c.Describe(), "token not in describe");
                    // Pushing a token replaces the cached one.
                    c.SetToken(Emu.Token, DateTimeOffset.UtcNow.AddHours(2));
                    Assert.Equal(EchoPrefix + "pushed", c.Chat("pushed"), "after SetToken");
                }
                string recorded = Emu.Requests();
                Assert.Contains("\"authorization\":\"Bearer " + Emu.Token + "\"", recorded, "bearer header sent");
                Assert.NotContains("\"api-key\"", recorded, "never also api-key");

                // A provider that throws: AoaiAuthenticationException(Credential) with the cause inside.
                o.TokenProvider = scope => { throw new UnauthorizedAccessException("sign-in cancelled"); };
                using (var c = new AoaiClient(o))
                {
                    var ex = Assert.Throws<AoaiAuthenticationException>(() => c.Chat("no token"), "provider failure");
                    Assert.Equal(AoaiStatus.Credential, ex.Status, "credential status");
                    Assert.True(ex.InnerException is UnauthorizedAccessException, "inner is the provider's exception: " + ex.InnerException);
                    var ex2 = Assert.Throws<AoaiAuthenticationException>(() => c.ChatAsync(ChatRequest.FromPrompt("async no token")).Wait(), "provider failure async");
                    Assert.True(ex2.InnerException is UnauthorizedAccessException, "inner async: " + ex2.InnerException);
                }
                // A wrong token: the service's 401.
                o.TokenProvider = scope => new AccessToken("not-the-token", null);
                using (var c = new AoaiClient(o))
                    Assert.Equal(401, Assert.Throws<AoaiAuthenticationException>(() => c.Chat("bad token"), "wrong token").HttpStatus, "401");
            });

            Add("credential and scope options reach the library", () =>
            {
                var o = new AoaiClientOptions
                {
                    Endpoint = Emu.Url, Deployment = "gpt-4o", UseEnvironment = false,
                    Credential = "azure_cli", TokenScope = "api://custom/.default",
                };
                using (var c = new AoaiClient(o))
                {
                    string d = c.Describe();
                    Assert.Contains("\"credential\": \"azure_cli\"", d, "credential in describe");
                    Assert.Contains("api://custom/.default", d, "scope in describe");
                }
                o.Credential = "{\"type\":\"chain\",\"sources\":[\"managed_identity\",\"azure_cli\"]}";
                o.TokenScope = null;
                try
                {
                    using (var c = new AoaiClient(o)) Assert.Contains("managed_identity", c.Describe(), "chain in describe");
                }
                catch (ArgumentException e)
                {
                    throw new Exception("chain spec refused: " + e.Message);
                }
                o.Credential = "bogus_source";
                var ex = Assert.Throws<ArgumentException>(() => new AoaiClient(o).Dispose(), "unknown credential");
                Assert.Contains("bogus_source", ex.Message, "message names it");
                o.Credential = "{not json";
                ex = Assert.Throws<ArgumentException>(() => new AoaiClient(o).Dispose(), "bad credential JSON");
                Assert.Equal(AoaiStatus.InvalidJson, ((AoaiException)ex.InnerException).Status, "json status");
            });

            Add("log callback receives library messages", () =>
            {
                var lines = new List<string>();
                var threads = new HashSet<int>();
                AoaiLog.SetHandler((level, msg) => { lock (lines) { lines.Add(level + " " + msg); threads.Add(Thread.CurrentThread.ManagedThreadId); } }, AoaiLogLevel.Debug);
                try
                {
                    // Log lines come from the calling thread (a failing call logs there) and from
                    // library threads (async calls).
                    Exception error = null;
                    int callerId = 0;
                    var th = new Thread(() =>
                    {
                        try
                        {
                            callerId = Thread.CurrentThread.ManagedThreadId;
                            using (var c = NewClient())
                            {
                                Assert.Throws<AoaiNotFoundException>(() => c.Chat("[[emu:status=404]]"), "a failing call");
                                using (var r = ChatRequest.FromPrompt("async log"))
                                    c.ChatAsync(r).Wait();
                            }
                        }
                        catch (Exception e) { error = e; }
                    });
                    th.Start();
                    th.Join();
                    if (error != null) throw error;
                    lock (lines) Assert.True(threads.Contains(callerId), "some log lines came from the calling thread");
                }
                finally
                {
                    AoaiLog.SetHandler(null);
                }
                lock (lines)
                {
                    Assert.True(lines.Count > 0, "log lines received");
                    Assert.True(lines.Any(l => l.Contains("404") || l.Contains("not found") || l.Contains("NotFound")), "the failure is logged: " + string.Join(" | ", lines));
                    Assert.True(lines.All(l => !l.Contains("emulator-key")), "no key in logs");
                }
            });

            // ---------------------------------------------------------------- lifetime
            Add("finalizers release undisposed handles", () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long req0 = HandleStats.FinalizedCount(HandleKind.Request);
                long cli0 = HandleStats.FinalizedCount(HandleKind.Client);
                long op0 = HandleStats.FinalizedCount(HandleKind.Operation);
                long rel0 = HandleStats.ReleasedCount(HandleKind.Request);
                // Allocate on another thread so no stale stack slot of ours keeps them alive.
                var th = new Thread(MakeGarbage);
                th.Start();
                th.Join();
                for (int i = 0; i < 5; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    if (HandleStats.FinalizedCount(HandleKind.Request) - req0 >= 10 &&
                        HandleStats.FinalizedCount(HandleKind.Client) - cli0 >= 3 &&
                        HandleStats.FinalizedCount(HandleKind.Operation) - op0 >= 3) break;
                    Thread.Sleep(50);
                }
                Assert.Equal(10L, HandleStats.FinalizedCount(HandleKind.Request) - req0, "requests released by the finalizer");
                Assert.True(HandleStats.ReleasedCount(HandleKind.Request) - rel0 >= 10, "ReleaseHandle ran");
                Assert.Equal(3L, HandleStats.FinalizedCount(HandleKind.Client) - cli0, "clients released by the finalizer");
                Assert.Equal(3L, HandleStats.FinalizedCount(HandleKind.Operation) - op0, "operations released by the finalizer");
                // Disposed handles are not counted as finalized.
                long before = HandleStats.FinalizedCount(HandleKind.Request);
                for (int i = 0; i < 5; i++) new ChatRequest().Dispose();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Assert.Equal(before, HandleStats.FinalizedCount(HandleKind.Request), "disposed requests are not finalized");
            });

            // ---------------------------------------------------------------- Unity sample
            Add("unity sample: streams into the UI text from Update()", () =>
            {
                var chat = new StreamingChat();
                chat.endpoint = Emu.Url;
                chat.apiKey = "emulator-key";
                chat.deployment = "gpt-4o";
                chat.prompt = "unity frames [[emu:chunk-delay-ms=5]]";
                chat.output = new UnityEngine.UI.Text();
                UnityStubDriver.Call(chat, "Awake");
                UnityStubDriver.Call(chat, "OnEnable");
                Assert.True(chat.IsStreaming, "started on enable");
                int frames = 0;
                var texts = new HashSet<string>();
                while (chat.IsStreaming && frames < 1000)
                {
                    UnityStubDriver.Call(chat, "Update");
                    texts.Add(chat.output.text);
                    frames++;
                    Thread.Sleep(5);
                }
                Assert.True(!chat.IsStreaming, "finished within 1000 frames");
                Assert.Equal(EchoPrefix + "unity frames", chat.output.text, "UI text");
                Assert.True(texts.Count > 2, "text grew over several frames (" + texts.Count + " distinct)");
                Assert.Equal(null, chat.LastError, "no error");
                UnityStubDriver.Call(chat, "OnDisable");
                UnityStubDriver.Call(chat, "OnDestroy");
                Assert.True(!chat.HasClient, "client disposed on destroy");
            });

            Add("unity sample: OnDisable cancels, domain reload disposes", () =>
            {
                Emu.Reset();
                var chat = new StreamingChat();
                chat.endpoint = Emu.Url;
                chat.apiKey = "emulator-key";
                chat.deployment = "gpt-4o";
                chat.prompt = "[[emu:chunk-delay-ms=200]] a b c d e f g h i j k l";
                chat.output = new UnityEngine.UI.Text();
                UnityStubDriver.Call(chat, "Awake");
                UnityStubDriver.Call(chat, "OnEnable");
                for (int i = 0; i < 30; i++) { UnityStubDriver.Call(chat, "Update"); Thread.Sleep(20); }
                Assert.True(chat.IsStreaming, "still streaming");
                UnityStubDriver.Call(chat, "OnDisable");
                Assert.True(!chat.IsStreaming, "cancelled on disable");
                Assert.True(Emu.WaitStat("streams_client_closed", 1) >= 1, "emulator saw the stream closed");
                Assert.True(chat.HasClient, "client kept while disabled");
                UnityEditor.AssemblyReloadEvents.RaiseBeforeAssemblyReload();
                Assert.True(!chat.HasClient, "client disposed before an assembly reload");
                UnityStubDriver.Call(chat, "OnDestroy");
            });

            Add("wrong thread: blocking calls from a notify callback are refused", () =>
            {
                Exception fromChat = null, fromShutdown = null;
                using (var c = NewClient())
                using (var r = ChatRequest.FromPrompt("wrong thread"))
                using (var op = c.StartChat(r, true))
                using (var done = new ManualResetEventSlim())
                {
                    int once = 0;
                    op.SetNotify(() =>
                    {
                        if (Interlocked.Exchange(ref once, 1) != 0) return;
                        try { c.Chat("from the callback"); } catch (Exception e) { fromChat = e; }
                        try { AoaiLibrary.Shutdown(); } catch (Exception e) { fromShutdown = e; }
                        done.Set();
                    });
                    Assert.True(done.Wait(10000), "notified");
                }
                Assert.True(fromChat is InvalidOperationException, "Chat from a callback: " + fromChat);
                Assert.Equal(AoaiStatus.WrongThread, ((AoaiException)fromChat.InnerException).Status, "status");
                Assert.True(fromShutdown is InvalidOperationException, "Shutdown from a callback: " + fromShutdown);
            });

            // Last: stops the library runtime (a later call starts a new one).
            Add("shutdown: live clients fail with Shutdown, new clients work", () =>
            {
                var old = NewClient();
                Assert.Equal(EchoPrefix + "before", old.Chat("before"), "before shutdown");
                AoaiLibrary.Shutdown();
                var ex = Assert.Throws<AoaiException>(() => old.Chat("after"), "old client");
                Assert.Equal(AoaiStatus.Shutdown, ex.Status, "status");
                old.Dispose();
                using (var c = NewClient())
                {
                    Assert.Equal(EchoPrefix + "new runtime", c.Chat("new runtime"), "new client after shutdown");
                    using (var r = ChatRequest.FromPrompt("async after shutdown"))
                        Assert.Equal(EchoPrefix + "async after shutdown", c.ChatAsync(r).Result.Text, "async after shutdown");
                }
            });
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void MakeGarbage()
        {
            for (int i = 0; i < 10; i++)
            {
                var r = new ChatRequest();
                r.AddUser("garbage " + i);
            }
            for (int i = 0; i < 3; i++)
            {
                var c = NewClient();
                var r = ChatRequest.FromPrompt("[[emu:delay-ms=2000]] dropped");
                c.StartChat(r, true);
                r.Dispose();
            }
        }
    }
}
