// SPDX-License-Identifier: MIT
//
// bench/AoaiBench.cs: the C# side of `make bench`, run under Mono. It measures what the
// binding adds per call over the C ABI, for the sequential chat case of bench/aoai_driver.c
// (same server, same request: system + user message, max_tokens, temperature; the answer's
// text is checked against the server's expected text).
//
// In one process it alternates blocks of
//   cs      the binding's public API: new ChatRequest().AddSystem().AddUser(), client.Chat(req),
//           response.Text (the binding's Runtime/ sources, compiled in)
//   cs-raw  the same native calls as the C driver through raw P/Invokes (no SafeHandles,
//           no response copy): the floor of any binding
// and prints one RESULT line per flavour (CPU per call in µs, like the C driver's `seq`).
//
// Built with the binding's sources when they compile; otherwise with -define:AOAI_BENCH_PINVOKE
// and only cs-raw (its own minimal P/Invoke declarations below).
//
// Usage: mono AoaiBench.exe seq PORT ROUND
using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Aoai
{
#if AOAI_BENCH_PINVOKE
    internal static unsafe class Native
    {
        internal const string Lib = "aoai";
        internal const int AOAI_ROLE_SYSTEM = 0;
        internal const int AOAI_ROLE_USER = 2;
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_options_new(IntPtr* o);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_options_set_use_environment(IntPtr o, int v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_options_set_endpoint(IntPtr o, byte* v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_options_set_api_key(IntPtr o, byte* v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_options_set_deployment(IntPtr o, byte* v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void aoai_options_free(IntPtr o);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_client_new(IntPtr o, IntPtr* c);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void aoai_client_free(IntPtr c);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_chat_request_new(IntPtr* r);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_request_add_message(IntPtr r, int role, byte* content);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_request_set_max_tokens(IntPtr r, long v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_request_set_temperature(IntPtr r, double v);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void aoai_request_free(IntPtr r);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int aoai_client_send(IntPtr c, IntPtr r, IntPtr* resp);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr aoai_response_text(IntPtr r, uint choice, UIntPtr* len);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void aoai_response_free(IntPtr r);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr aoai_last_error_message();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern uint aoai_version_number();
    }
#endif

    internal static unsafe class AoaiBench
    {
        const string System_ = "You are a helpful assistant. Answer briefly.";
        const string User = "Say hello in several languages \u2014 with emoji \U0001F600, \"quotes\", a back\\slash and a tab\there.";

        [DllImport("libc", EntryPoint = "getrusage")]
        static extern int getrusage(int who, long* usage);

        static double CpuUs()
        {
            long* b = stackalloc long[18];
            getrusage(0, b); // RUSAGE_SELF: all threads (JIT, GC, library workers)
            return (b[0] + b[2]) * 1e6 + b[1] + b[3];
        }

        static void Die(string msg)
        {
            Console.Error.WriteLine("bench: FATAL: " + msg);
            Environment.Exit(2);
        }

        static byte[] Get(int port, string path)
        {
            using (var tcp = new TcpClient("127.0.0.1", port))
            using (var s = tcp.GetStream())
            {
                byte[] req = Encoding.ASCII.GetBytes("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                s.Write(req, 0, req.Length);
                var ms = new MemoryStream();
                s.CopyTo(ms);
                byte[] all = ms.ToArray();
                for (int i = 0; i + 3 < all.Length; i++)
                    if (all[i] == '\r' && all[i + 1] == '\n' && all[i + 2] == '\r' && all[i + 3] == '\n')
                    {
                        byte[] body = new byte[all.Length - i - 4];
                        Array.Copy(all, i + 4, body, 0, body.Length);
                        return body;
                    }
                Die("bad control answer for " + path);
                return null;
            }
        }

        static double ServerCpuUs(int port)
        {
            string[] f = Encoding.ASCII.GetString(Get(port, "/_cpu")).Split(' ');
            return double.Parse(f[0]) + double.Parse(f[1]);
        }

        static byte[] Z(string s)
        {
            byte[] u = Encoding.UTF8.GetBytes(s);
            byte[] z = new byte[u.Length + 1];
            Array.Copy(u, z, u.Length);
            return z;
        }

        static void Ck(int st, string what)
        {
            if (st != 0) Die("aoai: " + what + " failed: " + st + " " + Marshal.PtrToStringAnsi(Native.aoai_last_error_message()));
        }

        static string expected;
        static byte[] sysZ = Z(System_), userZ = Z(User);

        // ---- raw P/Invoke: the C driver's sequence of calls
        static IntPtr RawClient(int port)
        {
            IntPtr o, c;
            Ck(Native.aoai_options_new(&o), "options_new");
            Ck(Native.aoai_options_set_use_environment(o, 0), "use_environment");
            fixed (byte* p = Z("http://127.0.0.1:" + port)) Ck(Native.aoai_options_set_endpoint(o, p), "endpoint");
            fixed (byte* p = Z("bench-key")) Ck(Native.aoai_options_set_api_key(o, p), "api_key");
            fixed (byte* p = Z("gpt-4o")) Ck(Native.aoai_options_set_deployment(o, p), "deployment");
            Ck(Native.aoai_client_new(o, &c), "client_new");
            Native.aoai_options_free(o);
            return c;
        }

        /// <summary>Ticks (Stopwatch) spent copying responses into managed objects (cs-fill).</summary>
        static long fillTicks;

        static void RawCall(IntPtr client)
        {
            RawCall(client, false);
        }

        static void RawCall(IntPtr client, bool fill)
        {
            IntPtr req, resp;
            Ck(Native.aoai_chat_request_new(&req), "chat_request_new");
            fixed (byte* s = sysZ) Ck(Native.aoai_request_add_message(req, Native.AOAI_ROLE_SYSTEM, s), "add_message");
            fixed (byte* u = userZ) Ck(Native.aoai_request_add_message(req, Native.AOAI_ROLE_USER, u), "add_message");
            Ck(Native.aoai_request_set_max_tokens(req, 256), "max_tokens");
            Ck(Native.aoai_request_set_temperature(req, 0.2), "temperature");
            Ck(Native.aoai_client_send(client, req, &resp), "client_send");
            UIntPtr len;
            IntPtr t = Native.aoai_response_text(resp, 0, &len);
            string text = t == IntPtr.Zero ? null : Encoding.UTF8.GetString((byte*)t, (int)len.ToUInt64());
            if (text != expected) Die("cs-raw chat: wrong answer");
#if !AOAI_BENCH_PINVOKE
            if (fill)
            {
                // What the public API adds on top of the raw calls for the response: the copy of
                // every field into managed objects (ChatResponse.Fill).
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                var cr = new ChatResponse();
                cr.Fill(resp, null);
                fillTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
                if (cr.Text != expected) Die("cs-fill: wrong answer");
            }
#endif
            Native.aoai_response_free(resp);
            Native.aoai_request_free(req);
        }

#if !AOAI_BENCH_PINVOKE
        // ---- the binding's public API
        static AoaiClient PublicClient(int port)
        {
            var o = new AoaiClientOptions
            {
                Endpoint = "http://127.0.0.1:" + port,
                ApiKey = "bench-key",
                Deployment = "gpt-4o",
                UseEnvironment = false,
            };
            return new AoaiClient(o);
        }

        static void PublicCall(AoaiClient client)
        {
            using (var req = new ChatRequest())
            {
                req.AddSystem(System_).AddUser(User);
                req.MaxTokens = 256;
                req.Temperature = 0.2;
                var r = client.Chat(req);
                if (r.Text != expected) Die("cs chat: wrong answer");
            }
        }
#endif

        static int Main(string[] args)
        {
            if (args.Length < 3 || args[0] != "seq") { Die("usage: AoaiBench.exe seq PORT ROUND"); }
            int port = int.Parse(args[1]);
            int round = int.Parse(args[2]);
            expected = Encoding.UTF8.GetString(Get(port, "/_expect/chat"));
            double scale = 1.0;
            string sc = Environment.GetEnvironmentVariable("BENCH_SCALE");
            if (!string.IsNullOrEmpty(sc)) double.TryParse(sc, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out scale);
            if (scale <= 0) scale = 1.0;
            int n = Math.Max(10, (int)(2000 * scale));
            const int blocks = 10;
            int per = n / blocks;

            IntPtr raw = RawClient(port);
#if !AOAI_BENCH_PINVOKE
            AoaiClient pub = PublicClient(port);
            for (int i = 0; i < 200; i++) PublicCall(pub); // JIT and connection warm-up
#endif
            for (int i = 0; i < 200; i++) RawCall(raw);
            GC.Collect();

            double cpuPub = 0, cpuRaw = 0, srvPub = 0, srvRaw = 0, wallPub = 0, wallRaw = 0;
            var sw = new System.Diagnostics.Stopwatch();
            for (int b = 0; b < blocks; b++)
            {
#if !AOAI_BENCH_PINVOKE
                double s0 = ServerCpuUs(port);
                sw.Restart();
                double c0 = CpuUs();
                for (int i = 0; i < per; i++) PublicCall(pub);
                cpuPub += CpuUs() - c0;
                wallPub += sw.Elapsed.TotalMilliseconds * 1000;
                srvPub += ServerCpuUs(port) - s0;
#endif
                double s1 = ServerCpuUs(port);
                sw.Restart();
                double c1 = CpuUs();
                for (int i = 0; i < per; i++) RawCall(raw);
                cpuRaw += CpuUs() - c1;
                wallRaw += sw.Elapsed.TotalMilliseconds * 1000;
                srvRaw += ServerCpuUs(port) - s1;
            }
            int total = per * blocks;
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            {
                // One P/Invoke transition (a call that does nothing): the raw flavour makes 9 per
                // chat call, so (cs - cs-raw) + 9 transitions is the binding's cost over C.
                const int calls = 2000000;
                uint acc = 0;
                for (int i = 0; i < 100000; i++) acc += Native.aoai_version_number();
                double t0 = CpuUs();
                for (int i = 0; i < calls; i++) acc += Native.aoai_version_number();
                double ns = (CpuUs() - t0) * 1000.0 / calls;
                if (acc == 0) Die("aoai_version_number returned 0");
                Console.WriteLine(string.Format(inv, "RESULT case=cs-transition impl=cs round={0} value={1:F4} unit=ns/call srv=0 units={2} cpu_us=0 wall_us=0",
                    round, ns, calls));
            }
#if !AOAI_BENCH_PINVOKE
            // The response copy alone, timed around ChatResponse.Fill on fresh responses.
            fillTicks = 0;
            for (int i = 0; i < total; i++) RawCall(raw, true);
            double fillUs = fillTicks * 1e6 / System.Diagnostics.Stopwatch.Frequency / total;
            Console.WriteLine(string.Format(inv, "RESULT case=cs-fill impl=cs round={0} value={1:F4} unit=us/call srv=0 units={2} cpu_us=0 wall_us=0",
                round, fillUs, total));
#endif
#if !AOAI_BENCH_PINVOKE
            Console.WriteLine(string.Format(inv, "RESULT case=seq impl=cs round={0} value={1:F4} unit=us/call srv={2:F4} units={3} cpu_us={4:F0} wall_us={5:F0}",
                round, cpuPub / total, srvPub / total, total, cpuPub, wallPub));
            pub.Dispose();
#endif
            Console.WriteLine(string.Format(inv, "RESULT case=seq impl=cs-raw round={0} value={1:F4} unit=us/call srv={2:F4} units={3} cpu_us={4:F0} wall_us={5:F0}",
                round, cpuRaw / total, srvRaw / total, total, cpuRaw, wallRaw));
            Native.aoai_client_free(raw);
            return 0;
        }
    }
}
