// SafeHandles for every object the library hands out. They wrap a pointer right after the raw
// call returned it, free it exactly once (Dispose or finalizer), and keep a native object alive
// while a call uses it (DangerousAddRef through Lease), so Dispose racing a call on another
// thread defers the free until that call returns instead of freeing memory under it.
using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Aoai
{
    internal enum HandleKind { Options = 0, Client = 1, Request = 2, Response = 3, Operation = 4, Event = 5 }

    /// <summary>Leak accounting (LibGit2Sharp's LEAKS_TRACKING idea): releases per kind, and how
    /// many of them came from the finalizer instead of Dispose.</summary>
    internal static class HandleStats
    {
        private static readonly long[] s_released = new long[6];
        private static readonly long[] s_finalized = new long[6];

        internal static void Released(HandleKind k) { Interlocked.Increment(ref s_released[(int)k]); }
        internal static void Finalized(HandleKind k) { Interlocked.Increment(ref s_finalized[(int)k]); }
        internal static long ReleasedCount(HandleKind k) { return Interlocked.Read(ref s_released[(int)k]); }
        internal static long FinalizedCount(HandleKind k) { return Interlocked.Read(ref s_finalized[(int)k]); }
    }

    internal abstract class AoaiSafeHandle : SafeHandle
    {
        protected AoaiSafeHandle(IntPtr p) : base(IntPtr.Zero, true) { SetHandle(p); }

        internal abstract HandleKind Kind { get; }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override void Dispose(bool disposing)
        {
            // disposing == false: the finalizer found a handle nobody disposed.
            if (!disposing && !IsClosed && !IsInvalid) HandleStats.Finalized(Kind);
            base.Dispose(disposing);
        }

        protected sealed override bool ReleaseHandle()
        {
            Free(handle);
            HandleStats.Released(Kind);
            return true;
        }

        protected abstract void Free(IntPtr p);
    }

    internal sealed class OptionsHandle : AoaiSafeHandle
    {
        internal OptionsHandle(IntPtr p) : base(p) { }
        internal override HandleKind Kind { get { return HandleKind.Options; } }
        protected override void Free(IntPtr p) { Native.aoai_options_free(p); }
    }

    internal sealed class ClientHandle : AoaiSafeHandle
    {
        /// <summary>GCHandle (as IntPtr) of the token provider state, freed after aoai_client_free:
        /// the header promises no token callback runs after it returned.</summary>
        private IntPtr _tokenUserData;

        internal ClientHandle(IntPtr p, IntPtr tokenUserData) : base(p) { _tokenUserData = tokenUserData; }
        internal override HandleKind Kind { get { return HandleKind.Client; } }

        protected override void Free(IntPtr p)
        {
            Native.aoai_client_free(p);
            if (_tokenUserData != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(_tokenUserData).Free();
                _tokenUserData = IntPtr.Zero;
            }
        }
    }

    internal sealed class RequestHandle : AoaiSafeHandle
    {
        internal RequestHandle(IntPtr p) : base(p) { }
        internal override HandleKind Kind { get { return HandleKind.Request; } }
        protected override void Free(IntPtr p) { Native.aoai_request_free(p); }
    }

    internal sealed class ResponseHandle : AoaiSafeHandle
    {
        internal ResponseHandle(IntPtr p) : base(p) { }
        internal override HandleKind Kind { get { return HandleKind.Response; } }
        protected override void Free(IntPtr p) { Native.aoai_response_free(p); }
    }

    internal sealed class OperationHandle : AoaiSafeHandle
    {
        /// <summary>GCHandle (as IntPtr) given to the notify callback, freed after aoai_op_free,
        /// which returns only when the callback is not running and never will again.</summary>
        private IntPtr _notifyUserData;

        internal OperationHandle(IntPtr p, IntPtr notifyUserData) : base(p) { _notifyUserData = notifyUserData; }
        internal override HandleKind Kind { get { return HandleKind.Operation; } }

        /// <summary>Set once, by the owner, before the first aoai_op_set_notify.</summary>
        internal IntPtr NotifyUserData
        {
            get { return _notifyUserData; }
            set { _notifyUserData = value; }
        }

        protected override void Free(IntPtr p)
        {
            Native.aoai_op_free(p);
            if (_notifyUserData != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(_notifyUserData).Free();
                _notifyUserData = IntPtr.Zero;
            }
        }
    }

    internal sealed class EventHandle : AoaiSafeHandle
    {
        internal EventHandle(IntPtr p) : base(p) { }
        internal override HandleKind Kind { get { return HandleKind.Event; } }
        protected override void Free(IntPtr p) { Native.aoai_event_free(p); }
    }

    /// <summary>Borrow a handle's pointer for one native call: throws ObjectDisposedException
    /// when it was disposed, and holds a reference so a concurrent Dispose waits for the call.</summary>
    internal struct Lease : IDisposable
    {
        private readonly SafeHandle _handle;
        private bool _added;
        internal readonly IntPtr Ptr;

        internal Lease(SafeHandle handle, string objectName)
        {
            _handle = handle;
            _added = false;
            Ptr = IntPtr.Zero;
            if (handle == null || handle.IsClosed) throw new ObjectDisposedException(objectName);
            try
            {
                handle.DangerousAddRef(ref _added);
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException(objectName);
            }
            Ptr = handle.DangerousGetHandle();
        }

        public void Dispose()
        {
            if (_added) _handle.DangerousRelease();
        }
    }
}
