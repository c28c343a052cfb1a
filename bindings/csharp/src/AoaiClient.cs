using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
#if NETSTANDARD2_1_OR_GREATER || NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
#endif

namespace Aoai
{
    /// <summary>
    /// An Azure OpenAI / OpenAI client over the native aoai library. Thread-safe: share one
    /// instance. Dispose it when done: that cancels its running operations and returns only
    /// when none of its native callbacks runs or can run again (do it before a Unity domain
    /// reload). Do not dispose it from inside one of its own callbacks.
    /// </summary>
    public sealed class AoaiClient : IDisposable
    {
        private readonly ClientHandle _handle;
        private readonly TokenState _token;
        private readonly byte[][] _capturedHeaders;
        private readonly object _pendingLock = new object();
        private readonly HashSet<PendingCall> _pending = new HashSet<PendingCall>();
        private bool _disposed;

        /// <summary>A client from options (explicit options &gt; JSON config &gt; environment).</summary>
        public unsafe AoaiClient(AoaiClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            AoaiLibrary.EnsureCompatible();
            _capturedHeaders = AoaiResponse.EncodeAll(options.CapturedHeaders);
            GCHandle tokenHandle = default(GCHandle);
            IntPtr tokenUd = IntPtr.Zero;
            if (options.TokenProvider != null)
            {
                _token = new TokenState { Provider = options.TokenProvider };
                tokenHandle = GCHandle.Alloc(_token);
                tokenUd = GCHandle.ToIntPtr(tokenHandle);
            }
            try
            {
                using (OptionsHandle opts = options.ToNative(tokenUd))
                using (var l = new Lease(opts, "AoaiClientOptions"))
                {
                    IntPtr c;
                    Errors.Check(Native.aoai_client_new(l.Ptr, &c));
                    _handle = new ClientHandle(c, tokenUd);
                }
            }
            catch
            {
                if (tokenHandle.IsAllocated) tokenHandle.Free();
                throw;
            }
        }

        private AoaiClient(IntPtr client)
        {
            _handle = new ClientHandle(client, IntPtr.Zero);
            _capturedHeaders = null;
        }

        /// <summary>A client from environment variables only (AZURE_OPENAI_ENDPOINT,
        /// AZURE_OPENAI_API_KEY, OPENAI_API_VERSION, AZURE_OPENAI_DEPLOYMENT_NAME, OPENAI_API_TYPE, ...).</summary>
        public static unsafe AoaiClient FromEnvironment()
        {
            AoaiLibrary.EnsureCompatible();
            IntPtr c;
            Errors.Check(Native.aoai_client_from_env(&c));
            return new AoaiClient(c);
        }

        /// <summary>A client from a JSON config (text starting with '{', else a file path) over the environment.</summary>
        public static unsafe AoaiClient FromJson(string jsonOrPath)
        {
            AoaiLibrary.EnsureCompatible();
            byte[] j = Utf8.EncodeRequired(jsonOrPath, "jsonOrPath");
            IntPtr c;
            fixed (byte* p = j) Errors.Check(Native.aoai_client_from_json(p, &c));
            return new AoaiClient(c);
        }

        /// <summary>Version of the native library ("0.1.0").</summary>
        public static string Version { get { return AoaiLibrary.Version; } }

        /// <summary>The effective configuration as JSON, secrets redacted.</summary>
        public unsafe string Describe()
        {
            using (var c = Use())
            {
                IntPtr s;
                Check(Native.aoai_client_describe(c.Ptr, &s));
                return Utf8.TakeOwned(s);
            }
        }

        /// <summary>Pushes a new Entra ID token into a client that uses tokens (TokenProvider or Credential).</summary>
        public unsafe void SetToken(string token, DateTimeOffset? expiresOn = null)
        {
            byte[] t = Utf8.EncodeRequired(token, "token");
            long exp = expiresOn.HasValue ? Math.Max(0, expiresOn.Value.ToUnixTimeSeconds()) : 0;
            using (var c = Use())
            fixed (byte* p = t)
            {
                Check(Native.aoai_client_set_token(c.Ptr, p, exp));
            }
        }

        // ------------------------------------------------------------------ blocking calls

        /// <summary>Sends <paramref name="prompt"/> as one user message; returns the text of choice 0. Blocks.</summary>
        public unsafe string Chat(string prompt)
        {
            byte[] b = Utf8.EncodeRequired(prompt, "prompt");
            using (var c = Use())
            fixed (byte* p = b)
            {
                IntPtr s;
                Check(Native.aoai_chat_simple(c.Ptr, p, &s));
                return Utf8.TakeOwned(s);
            }
        }

        /// <summary>Legacy completions one-liner: returns the text of choice 0. Blocks.</summary>
        public unsafe string Complete(string prompt)
        {
            byte[] b = Utf8.EncodeRequired(prompt, "prompt");
            using (var c = Use())
            fixed (byte* p = b)
            {
                IntPtr s;
                Check(Native.aoai_completion_simple(c.Ptr, p, &s));
                return Utf8.TakeOwned(s);
            }
        }

        /// <summary>Sends a chat request and waits for the whole response (retries as configured). Blocks.</summary>
        public ChatResponse Chat(ChatRequest request)
        {
            return ReadChat(Send(request));
        }

        /// <summary>Sends a completion request and waits for the whole response. Blocks.</summary>
        public CompletionResponse Complete(CompletionRequest request)
        {
            return ReadCompletion(Send(request));
        }

        /// <summary>Sends an embeddings request. Blocks.</summary>
        public EmbeddingResponse Embed(EmbeddingRequest request)
        {
            using (var h = new ResponseHandle(Send(request)))
            {
                var e = new EmbeddingResponse();
                e.Fill(h.DangerousGetHandle());
                return e;
            }
        }

        private unsafe IntPtr Send(AoaiRequest request)
        {
            if (request == null) throw new ArgumentNullException("request");
            using (var c = Use())
            using (var r = request.Use())
            {
                IntPtr resp;
                Check(Native.aoai_client_send(c.Ptr, r.Ptr, &resp));
                return resp;
            }
        }

        internal ChatResponse ReadChat(IntPtr resp)
        {
            using (var h = new ResponseHandle(resp))
            {
                var x = new ChatResponse();
                x.Fill(resp, _capturedHeaders);
                return x;
            }
        }

        internal CompletionResponse ReadCompletion(IntPtr resp)
        {
            using (var h = new ResponseHandle(resp))
            {
                var x = new CompletionResponse();
                x.Fill(resp, _capturedHeaders);
                return x;
            }
        }

        // ------------------------------------------------------------------ streaming, blocking

        /// <summary>
        /// Streams a chat request on this thread: <paramref name="onEvent"/> runs here for each
        /// event as it arrives; return false from it to stop (the connection is closed and this
        /// method returns null). Returns the assembled response. An exception thrown by
        /// <paramref name="onEvent"/> stops the stream and is rethrown here.
        /// </summary>
        public ChatResponse ChatStream(ChatRequest request, Func<StreamEvent, bool> onEvent)
        {
            IntPtr resp = Stream(request, onEvent);
            return resp == IntPtr.Zero ? null : ReadChat(resp);
        }

        /// <summary>Streams a completion request; see <see cref="ChatStream"/>.</summary>
        public CompletionResponse CompleteStream(CompletionRequest request, Func<StreamEvent, bool> onEvent)
        {
            IntPtr resp = Stream(request, onEvent);
            return resp == IntPtr.Zero ? null : ReadCompletion(resp);
        }

        private unsafe IntPtr Stream(AoaiRequest request, Func<StreamEvent, bool> onEvent)
        {
            if (request == null) throw new ArgumentNullException("request");
            if (onEvent == null) throw new ArgumentNullException("onEvent");
            var st = new StreamCallState { Handler = onEvent };
            GCHandle gch = GCHandle.Alloc(st);
            try
            {
                using (var c = Use())
                using (var r = request.Use())
                {
                    IntPtr resp = IntPtr.Zero;
                    int status = Native.aoai_client_stream(c.Ptr, r.Ptr, Callbacks.StreamPtr, GCHandle.ToIntPtr(gch), &resp);
                    if (status == Native.AOAI_STATUS_OK && st.Error == null) return resp;
                    Exception failure = status != Native.AOAI_STATUS_OK ? ErrorFromLast(status) : null;
                    if (resp != IntPtr.Zero) new ResponseHandle(resp).Dispose();
                    if (st.Error != null) ExceptionDispatchInfo.Capture(st.Error).Throw();
                    if (status == Native.AOAI_STATUS_CANCELLED && st.StoppedByHandler) return IntPtr.Zero;
                    throw failure;
                }
            }
            finally
            {
                gch.Free();
            }
        }

        // ------------------------------------------------------------------ Task-based async

        /// <summary>Sends a chat request without blocking. Cancelling <paramref name="cancellationToken"/>
        /// closes the connection and ends the task with OperationCanceledException.</summary>
        public Task<ChatResponse> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            return StartAsync(request, ReadChat, cancellationToken);
        }

        /// <summary>Sends a completion request without blocking.</summary>
        public Task<CompletionResponse> CompleteAsync(CompletionRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            return StartAsync(request, ReadCompletion, cancellationToken);
        }

        private unsafe Task<T> StartAsync<T>(AoaiRequest request, Func<IntPtr, T> read, CancellationToken ct) where T : class
        {
            if (request == null) throw new ArgumentNullException("request");
            ThrowIfDisposed();
            if (ct.IsCancellationRequested)
            {
                var canceled = new TaskCompletionSource<T>();
                canceled.TrySetCanceled(ct);
                return canceled.Task;
            }
            var call = new PendingCall<T>(this, read, ct);
            lock (_pendingLock)
            {
                if (_disposed) throw new ObjectDisposedException("AoaiClient");
                _pending.Add(call);
            }
            // Normal (strong) handle: the call must live until the library reports its end,
            // even when nobody holds the Task. Freed after aoai_op_free (OperationHandle).
            GCHandle gch = GCHandle.Alloc(call);
            IntPtr ud = GCHandle.ToIntPtr(gch);
            bool started = false;
            try
            {
                lock (call)   // a notify arriving right away waits until the handle is in place
                {
                    using (var c = Use())
                    using (var r = request.Use())
                    {
                        IntPtr op;
                        Check(Native.aoai_client_start(c.Ptr, r.Ptr, 0, Callbacks.NotifyPtr, ud, &op));
                        call.Op = new OperationHandle(op, ud);
                        started = true;
                    }
                    if (ct.CanBeCanceled) call.Registration = ct.Register(PendingCall.CancelFromToken, call);
                }
            }
            finally
            {
                if (!started)
                {
                    gch.Free();
                    RemovePending(call);
                }
            }
            return call.Task;
        }

        internal void RemovePending(PendingCall call)
        {
            lock (_pendingLock) _pending.Remove(call);
        }

        internal Exception ErrorFromLast(int status)
        {
            return Errors.FromLast(status, status == Native.AOAI_STATUS_CREDENTIAL && _token != null ? _token.TakeLastError() : null);
        }

        internal Exception ErrorFromOperation(IntPtr op, CancellationToken ct)
        {
            Exception e = Errors.FromOperation(op, ct);
            var ae = e as AoaiException;
            if (ae != null && ae.Status == AoaiStatus.Credential && _token != null)
            {
                Exception inner = _token.TakeLastError();
                if (inner != null) e = Errors.Create(ae.Info, inner, ct);
            }
            return e;
        }

        // ------------------------------------------------------------------ poll-based operations

        /// <summary>Starts a chat without blocking and returns an operation to poll, e.g. from a
        /// game's Update(): Poll() and TryGetEvent() never block. With <paramref name="stream"/>
        /// events arrive as the model writes.</summary>
        public ChatOperation StartChat(ChatRequest request, bool stream = true)
        {
            return new ChatOperation(this, StartOp(request, stream));
        }

        /// <summary>Starts a completion without blocking; see <see cref="StartChat"/>.</summary>
        public CompletionOperation StartCompletion(CompletionRequest request, bool stream = true)
        {
            return new CompletionOperation(this, StartOp(request, stream));
        }

        private unsafe OperationHandle StartOp(AoaiRequest request, bool stream)
        {
            if (request == null) throw new ArgumentNullException("request");
            using (var c = Use())
            using (var r = request.Use())
            {
                IntPtr op;
                Check(Native.aoai_client_start(c.Ptr, r.Ptr, stream ? Native.AOAI_START_STREAM : 0, IntPtr.Zero, IntPtr.Zero, &op));
                return new OperationHandle(op, IntPtr.Zero);
            }
        }

#if NETSTANDARD2_1_OR_GREATER || NET8_0_OR_GREATER
        /// <summary>Streams a chat request as an async sequence of events. The call starts when
        /// the enumeration starts (keep the request alive until then). Cancelling the token
        /// closes the connection; the loop then ends with OperationCanceledException. A failure
        /// is thrown by the enumerator as the matching exception.</summary>
        public IAsyncEnumerable<StreamEvent> ChatStreamAsync(ChatRequest request, CancellationToken cancellationToken = default)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            ThrowIfDisposed();
            return StreamAsync(request, cancellationToken);
        }

        /// <summary>Streams a completion request as an async sequence of events.</summary>
        public IAsyncEnumerable<StreamEvent> CompleteStreamAsync(CompletionRequest request, CancellationToken cancellationToken = default)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            ThrowIfDisposed();
            return StreamAsync(request, cancellationToken);
        }

        private async IAsyncEnumerable<StreamEvent> StreamAsync(AoaiRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var signal = new SemaphoreSlim(0))
            using (AoaiOperation op = request is ChatRequest chat
                ? (AoaiOperation)StartChat(chat, true)
                : StartCompletion((CompletionRequest)request, true))
            {
                // The notify callback only releases the semaphore; events are drained here, on
                // the consumer's side. op is disposed before signal (no Release after Dispose).
                op.SetNotify(() => signal.Release());
                using (cancellationToken.Register(o => ((AoaiOperation)o).Cancel(), op))
                {
                    while (true)
                    {
                        StreamEvent ev;
                        while (op.TryGetEvent(out ev)) yield return ev;
                        OperationState state = op.Poll();
                        if (state != OperationState.Pending)
                        {
                            while (op.TryGetEvent(out ev)) yield return ev;
                            if (state == OperationState.Done) yield break;
                            cancellationToken.ThrowIfCancellationRequested();
                            op.ThrowFailure(cancellationToken);
                        }
                        await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
#endif

        // ------------------------------------------------------------------ lifetime

        internal Lease Use()
        {
            if (_disposed) throw new ObjectDisposedException("AoaiClient");
            return new Lease(_handle, "AoaiClient");
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("AoaiClient");
        }

        private void Check(int status)
        {
            if (status != Native.AOAI_STATUS_OK) throw ErrorFromLast(status);
        }

        /// <summary>True once Dispose was called.</summary>
        public bool IsDisposed { get { return _disposed; } }

        /// <summary>
        /// Frees the native client: its running operations are cancelled, pending ChatAsync tasks
        /// end with OperationCanceledException, and no callback of this client (notify, token)
        /// runs after this returns. A blocking call still running on another thread keeps the
        /// native client alive until it returns (the free happens then).
        /// </summary>
        public void Dispose()
        {
            List<PendingCall> pending;
            lock (_pendingLock)
            {
                if (_disposed) return;
                _disposed = true;
                pending = new List<PendingCall>(_pending);
            }
            _handle.Dispose();
            foreach (var p in pending)
                p.ForceComplete(new OperationCanceledException("the AoaiClient was disposed while the call was running"));
        }
    }
}
