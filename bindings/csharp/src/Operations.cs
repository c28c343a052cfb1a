// Non-blocking operations: the poll API for game loops (AoaiOperation), and the Task plumbing
// behind ChatAsync (PendingCall). Both sit on aoai_client_start.
using System;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Aoai
{
    /// <summary>
    /// A running or finished call, driven by polling: call <see cref="Poll"/> and
    /// <see cref="TryGetEvent"/> from your loop (Unity's Update()); neither blocks, and no
    /// callback ever runs on a foreign thread unless you ask for one with <see cref="SetNotify"/>.
    /// Use it from one thread at a time; <see cref="Cancel"/> works from any thread.
    /// Dispose it when done (cancels it if still running).
    /// </summary>
    public abstract class AoaiOperation : IDisposable, INotifyTarget
    {
        internal readonly OperationHandle Handle;
        private readonly AoaiClient _client;   // keeps the client (and so the operation) alive
        private readonly string _name;
        private Action _notify;
        private Exception _notifyError;
        private bool _notifyRegistered;

        internal AoaiOperation(AoaiClient client, OperationHandle handle, string name)
        {
            _client = client;
            Handle = handle;
            _name = name;
        }

        internal AoaiClient Client { get { return _client; } }

        internal Lease Use() { return new Lease(Handle, _name); }

        /// <summary>The current state; never blocks.</summary>
        public unsafe OperationState Poll()
        {
            RethrowNotifyError();
            using (var l = Use())
            {
                int state;
                Errors.Check(Native.aoai_op_poll(l.Ptr, &state));
                return (OperationState)state;
            }
        }

        /// <summary>Same as <see cref="Poll"/>.</summary>
        public OperationState State { get { return Poll(); } }

        /// <summary>True once the operation has ended (done, failed or cancelled).</summary>
        public bool IsDone { get { return Poll() != OperationState.Pending; } }

        /// <summary>True when the library's worker for this operation has fully ended (after a
        /// cancel it may be closing the connection for a moment).</summary>
        public unsafe bool IsFinished
        {
            get
            {
                using (var l = Use())
                {
                    int f;
                    Errors.Check(Native.aoai_op_is_finished(l.Ptr, &f));
                    return f != 0;
                }
            }
        }

        /// <summary>Takes the next queued event, if any; never blocks. Events stay available
        /// after the operation ended.</summary>
        public unsafe bool TryGetEvent(out StreamEvent ev)
        {
            RethrowNotifyError();
            using (var l = Use())
            {
                IntPtr e;
                int st = Native.aoai_op_next_event(l.Ptr, &e);
                if (st == Native.AOAI_STATUS_EMPTY)
                {
                    ev = null;
                    return false;
                }
                Errors.Check(st);
                using (var h = new EventHandle(e)) ev = StreamEvent.Read(e);
                return true;
            }
        }

        /// <summary>Blocks until the operation has ended or <paramref name="timeout"/> passed
        /// (Timeout.InfiniteTimeSpan waits forever); true when it has ended. Not from a callback.</summary>
        public bool Wait(TimeSpan timeout)
        {
            return WaitCore(timeout, false);
        }

        /// <summary>Blocks until an event is queued or the operation has ended; false on timeout.</summary>
        public bool WaitForEvent(TimeSpan timeout)
        {
            return WaitCore(timeout, true);
        }

        private bool WaitCore(TimeSpan timeout, bool forEvent)
        {
            int ms = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Min(int.MaxValue, Math.Max(0, timeout.TotalMilliseconds));
            using (var l = Use())
            {
                int st = forEvent ? Native.aoai_op_wait_event(l.Ptr, ms) : Native.aoai_op_wait(l.Ptr, ms);
                if (st == Native.AOAI_STATUS_TIMEOUT) return false;
                Errors.Check(st);
                return true;
            }
        }

        /// <summary>Cancels: the connection is closed and, if it had not ended yet, the state
        /// becomes Cancelled at once. Idempotent; any thread; a no-op after Dispose.</summary>
        public void Cancel()
        {
            try
            {
                using (var l = Use()) Errors.Check(Native.aoai_op_cancel(l.Ptr));
            }
            catch (ObjectDisposedException)
            {
                // Disposing already cancelled it.
            }
        }

        /// <summary>
        /// Calls <paramref name="callback"/> on a library worker thread when events become
        /// available and once when the operation ends (null removes it). It should only signal
        /// (set a flag, release a semaphore, post to a queue): it must not block, must not call
        /// Wait, must not touch Unity objects, and must not call SetNotify or Dispose on this
        /// operation. An exception it throws is rethrown by the next Poll/TryGetEvent/GetResponse.
        /// </summary>
        public void SetNotify(Action callback)
        {
            using (var l = Use())
            {
                _notify = callback;
                if (callback != null && !_notifyRegistered)
                {
                    // Weak: the operation object may be collected (its handle's finalizer then
                    // frees the native op); the callback just finds no target.
                    if (Handle.NotifyUserData == IntPtr.Zero)
                        Handle.NotifyUserData = GCHandle.ToIntPtr(GCHandle.Alloc(this, GCHandleType.Weak));
                    Errors.Check(Native.aoai_op_set_notify(l.Ptr, Callbacks.NotifyPtr, Handle.NotifyUserData));
                    _notifyRegistered = true;
                }
                else if (callback == null && _notifyRegistered)
                {
                    Errors.Check(Native.aoai_op_set_notify(l.Ptr, IntPtr.Zero, IntPtr.Zero));
                    _notifyRegistered = false;
                    // The GCHandle stays allocated until the native op is freed.
                }
                else if (callback != null)
                {
                    // Already registered: the new delegate is picked up from _notify. Ask the
                    // library to call once more in case work is already waiting.
                    Errors.Check(Native.aoai_op_set_notify(l.Ptr, Callbacks.NotifyPtr, Handle.NotifyUserData));
                }
            }
        }

        void INotifyTarget.OnNotify(IntPtr op)
        {
            Action a = _notify;
            if (a == null) return;
            try
            {
                a();
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _notifyError, e, null);
            }
        }

        private void RethrowNotifyError()
        {
            Exception e = Interlocked.Exchange(ref _notifyError, null);
            if (e != null) ExceptionDispatchInfo.Capture(e).Throw();
        }

        /// <summary>Throws the failure of a Failed or Cancelled operation.</summary>
        internal void ThrowFailure(CancellationToken ct)
        {
            using (var l = Use()) throw _client.ErrorFromOperation(l.Ptr, ct);
        }

        /// <summary>Takes the native response of a Done operation (once); throws the operation's
        /// failure when it failed or was cancelled, InvalidOperationException while pending.</summary>
        internal unsafe IntPtr TakeResponse(bool partial)
        {
            RethrowNotifyError();
            using (var l = Use())
            {
                int state;
                Errors.Check(Native.aoai_op_poll(l.Ptr, &state));
                if (partial && state != Native.AOAI_OP_PENDING)
                {
                    // After a cancel the state is Cancelled at once, but the worker hands over
                    // what it had received only when it has ended (a moment later): wait for that.
                    int finished = 0;
                    for (int i = 0; i < 2000; i++)
                    {
                        Errors.Check(Native.aoai_op_is_finished(l.Ptr, &finished));
                        if (finished != 0) break;
                        Thread.Sleep(1);
                    }
                }
                if (!partial && (state == Native.AOAI_OP_FAILED || state == Native.AOAI_OP_CANCELLED))
                    throw _client.ErrorFromOperation(l.Ptr, CancellationToken.None);
                IntPtr resp;
                int st = partial ? Native.aoai_op_take_partial_response(l.Ptr, &resp) : Native.aoai_op_take_response(l.Ptr, &resp);
                Errors.Check(st);
                return resp;
            }
        }

        /// <summary>Cancels the operation if still running and frees it; no notify callback runs
        /// after this returns (unless called from that callback, which is not allowed).</summary>
        public void Dispose()
        {
            Handle.Dispose();
        }
    }

    /// <summary>A chat started with AoaiClient.StartChat.</summary>
    public sealed class ChatOperation : AoaiOperation
    {
        private ChatResponse _response;

        internal ChatOperation(AoaiClient client, OperationHandle handle) : base(client, handle, "ChatOperation") { }

        /// <summary>The response once the state is Done (the same object on every call). Throws the
        /// operation's exception if it failed, OperationCanceledException if cancelled, and
        /// InvalidOperationException while it is still pending.</summary>
        public ChatResponse GetResponse()
        {
            if (_response == null) _response = Client.ReadChat(TakeResponse(false));
            return _response;
        }

        /// <summary>For a failed or cancelled stream: what arrived before the end (once). Right
        /// after Cancel() this waits (up to 2 s) for the library's worker to hand it over.</summary>
        public ChatResponse GetPartialResponse()
        {
            return Client.ReadChat(TakeResponse(true));
        }
    }

    /// <summary>A completion started with AoaiClient.StartCompletion.</summary>
    public sealed class CompletionOperation : AoaiOperation
    {
        private CompletionResponse _response;

        internal CompletionOperation(AoaiClient client, OperationHandle handle) : base(client, handle, "CompletionOperation") { }

        /// <summary>See ChatOperation.GetResponse.</summary>
        public CompletionResponse GetResponse()
        {
            if (_response == null) _response = Client.ReadCompletion(TakeResponse(false));
            return _response;
        }

        /// <summary>For a failed or cancelled stream: what arrived before the end (once).</summary>
        public CompletionResponse GetPartialResponse()
        {
            return Client.ReadCompletion(TakeResponse(true));
        }
    }

    /// <summary>
    /// One ChatAsync/CompleteAsync call: the notify callback (a library worker thread) completes
    /// the TaskCompletionSource when the operation ends; the CancellationToken maps to
    /// aoai_op_cancel. Exactly one of {notify, client Dispose} performs the cleanup
    /// (registration, pending set, native op + GCHandle), claimed through _done.
    /// </summary>
    internal abstract class PendingCall : INotifyTarget
    {
        internal static readonly Action<object> CancelFromToken = OnTokenCancelled;

        internal readonly AoaiClient Client;
        internal readonly CancellationToken Token;
        internal OperationHandle Op;                       // set under lock(this) by the starter
        internal CancellationTokenRegistration Registration;
        private int _done;

        protected PendingCall(AoaiClient client, CancellationToken ct)
        {
            Client = client;
            Token = ct;
        }

        protected abstract void SetCanceledFromToken();
        protected abstract void Finish(IntPtr op, int state);
        protected abstract void SetException(Exception e);

        private static void OnTokenCancelled(object state)
        {
            var call = (PendingCall)state;
            try
            {
                using (var l = new Lease(call.Op, "operation")) Native.aoai_op_cancel(l.Ptr);
            }
            catch (ObjectDisposedException)
            {
                // Already completed and freed.
            }
            call.SetCanceledFromToken();
        }

        public unsafe void OnNotify(IntPtr op)
        {
            lock (this)
            {
                // The starter holds the lock until Op is assigned; afterwards this just checks.
                if (Volatile.Read(ref _done) != 0) return;
            }
            int state;
            if (Native.aoai_op_poll(op, &state) != Native.AOAI_STATUS_OK) state = Native.AOAI_OP_FAILED;
            if (state == Native.AOAI_OP_PENDING) return;
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            try
            {
                Finish(op, state);
            }
            catch (Exception e)
            {
                SetException(e);
            }
            Cleanup();
        }

        /// <summary>The client was disposed: its native free already silenced the notify callback
        /// (or the op free below does), so complete the task here.</summary>
        internal void ForceComplete(Exception e)
        {
            lock (this) { }   // wait for a start in progress
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            SetException(e);
            Cleanup();
        }

        private void Cleanup()
        {
            // Registration first: it waits for a running token callback, which may still be
            // using Op; after it, nothing but us touches Op.
            Registration.Dispose();
            Client.RemovePending(this);
            if (Op != null) Op.Dispose();   // aoai_op_free (allowed from our own notify), then GCHandle.Free
        }
    }

    internal sealed class PendingCall<T> : PendingCall where T : class
    {
        private readonly TaskCompletionSource<T> _tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Func<IntPtr, T> _read;

        internal PendingCall(AoaiClient client, Func<IntPtr, T> read, CancellationToken ct) : base(client, ct)
        {
            _read = read;
        }

        internal Task<T> Task { get { return _tcs.Task; } }

        protected override void SetCanceledFromToken() { _tcs.TrySetCanceled(Token); }
        protected override void SetException(Exception e)
        {
            var oce = e as OperationCanceledException;
            if (oce != null && Token.IsCancellationRequested) _tcs.TrySetCanceled(Token);
            else _tcs.TrySetException(e);
        }

        protected override unsafe void Finish(IntPtr op, int state)
        {
            if (state == Native.AOAI_OP_DONE)
            {
                IntPtr resp;
                int st = Native.aoai_op_take_response(op, &resp);
                if (st != Native.AOAI_STATUS_OK) throw Client.ErrorFromLast(st);
                _tcs.TrySetResult(_read(resp));
                return;
            }
            if (state == Native.AOAI_OP_CANCELLED && Token.IsCancellationRequested)
            {
                _tcs.TrySetCanceled(Token);
                return;
            }
            SetException(Client.ErrorFromOperation(op, Token));
        }
    }
}
