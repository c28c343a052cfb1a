// Native-to-managed callbacks. Rules that keep them safe on Mono, IL2CPP and CoreCLR:
// - static methods only (IL2CPP cannot marshal instance or closure delegates);
// - [MonoPInvokeCallback] (our own attribute: IL2CPP matches it by name) on netstandard/Unity,
//   [UnmanagedCallersOnly] + a function pointer on net8.0;
// - the delegates live in static readonly fields, so they are never collected;
// - per-call state travels as GCHandle.ToIntPtr(...) in user_data;
// - no exception ever unwinds into native frames: every body catches everything.
using System;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
#endif

namespace Aoai
{
    /// <summary>Marks a static method called from native code, for Unity's IL2CPP ahead-of-time
    /// compiler (which matches the attribute by name, so this local definition is enough).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type delegateType) { DelegateType = delegateType; }
        public Type DelegateType { get; private set; }
    }

    /// <summary>Something the notify callback of an operation reports to.</summary>
    internal interface INotifyTarget
    {
        /// <summary>Runs on a library worker thread. Must only signal; must not throw.</summary>
        void OnNotify(IntPtr op);
    }

    /// <summary>State of one blocking aoai_client_stream call.</summary>
    internal sealed class StreamCallState
    {
        internal Func<StreamEvent, bool> Handler;
        internal Exception Error;
        internal bool StoppedByHandler;
    }

    /// <summary>The token provider behind aoai_options_set_token_callback.</summary>
    internal sealed class TokenState
    {
        internal Func<string, AccessToken> Provider;
        private Exception _lastError;

        internal Exception TakeLastError() { return System.Threading.Interlocked.Exchange(ref _lastError, null); }
        internal void SetLastError(Exception e) { System.Threading.Interlocked.Exchange(ref _lastError, e); }
    }

    internal static unsafe class Callbacks
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int EventFn(IntPtr userData, IntPtr ev);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void NotifyFn(IntPtr userData, IntPtr op);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int TokenFn(IntPtr userData, IntPtr scope, IntPtr tokenBuf, UIntPtr tokenBufLen, IntPtr expiresOnOut);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogFn(IntPtr userData, int level, IntPtr message);

#if NET8_0_OR_GREATER
        internal static readonly IntPtr StreamPtr = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int>)&OnStreamEvent;
        internal static readonly IntPtr NotifyPtr = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&OnNotify;
        internal static readonly IntPtr TokenPtr = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, UIntPtr, IntPtr, int>)&OnToken;
        internal static readonly IntPtr LogPtr = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, void>)&OnLog;
#else
        // Declared before the pointers: static fields initialise in text order.
        private static readonly EventFn s_stream = OnStreamEvent;
        private static readonly NotifyFn s_notify = OnNotify;
        private static readonly TokenFn s_token = OnToken;
        private static readonly LogFn s_log = OnLog;
        internal static readonly IntPtr StreamPtr = Marshal.GetFunctionPointerForDelegate<EventFn>(s_stream);
        internal static readonly IntPtr NotifyPtr = Marshal.GetFunctionPointerForDelegate<NotifyFn>(s_notify);
        internal static readonly IntPtr TokenPtr = Marshal.GetFunctionPointerForDelegate<TokenFn>(s_token);
        internal static readonly IntPtr LogPtr = Marshal.GetFunctionPointerForDelegate<LogFn>(s_log);
#endif

        /// <summary>aoai_client_stream: runs on the caller's thread, once per event.</summary>
#if NET8_0_OR_GREATER
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
#else
        [MonoPInvokeCallback(typeof(EventFn))]
#endif
        private static int OnStreamEvent(IntPtr userData, IntPtr ev)
        {
            StreamCallState st = null;
            try
            {
                st = (StreamCallState)GCHandle.FromIntPtr(userData).Target;
                if (st.Error != null) return Native.AOAI_STOP;
                StreamEvent e = StreamEvent.Read(ev);
                if (st.Handler(e)) return Native.AOAI_CONTINUE;
                st.StoppedByHandler = true;
                return Native.AOAI_STOP;
            }
            catch (Exception e)
            {
                if (st != null && st.Error == null) st.Error = e;
                return Native.AOAI_STOP;
            }
        }

        /// <summary>Notify callback: a library worker thread, when events are queued and at the end.</summary>
#if NET8_0_OR_GREATER
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
#else
        [MonoPInvokeCallback(typeof(NotifyFn))]
#endif
        private static void OnNotify(IntPtr userData, IntPtr op)
        {
            try
            {
                var target = GCHandle.FromIntPtr(userData).Target as INotifyTarget;
                if (target != null) target.OnNotify(op);   // null: a weakly held operation was collected
            }
            catch (Exception e)
            {
                AoaiLog.ReportCallbackException("notify callback", e);
            }
        }

        /// <summary>Token callback: a library blocking-pool thread, when the client needs a token.</summary>
#if NET8_0_OR_GREATER
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
#else
        [MonoPInvokeCallback(typeof(TokenFn))]
#endif
        private static int OnToken(IntPtr userData, IntPtr scope, IntPtr tokenBuf, UIntPtr tokenBufLen, IntPtr expiresOnOut)
        {
            TokenState st = null;
            try
            {
                st = (TokenState)GCHandle.FromIntPtr(userData).Target;
                string s = Utf8.ReadZ(scope);
                AccessToken t = st.Provider(s);
                if (string.IsNullOrEmpty(t.Token))
                    throw new InvalidOperationException("the TokenProvider returned an empty token");
                byte[] b = Utf8.Encode(t.Token, "token");
                if ((ulong)b.Length > tokenBufLen.ToUInt64())
                    throw new InvalidOperationException("the token (" + (b.Length - 1) + " bytes) does not fit the library's buffer of " + tokenBufLen + " bytes");
                Marshal.Copy(b, 0, tokenBuf, b.Length);
                long exp = t.ExpiresOn.HasValue ? t.ExpiresOn.Value.ToUnixTimeSeconds() : 0;
                if (expiresOnOut != IntPtr.Zero) *(long*)expiresOnOut = exp > 0 ? exp : 0;
                return 0;
            }
            catch (Exception e)
            {
                if (st != null) st.SetLastError(e);
                return 1;
            }
        }

        /// <summary>Log callback: any thread, concurrently. Process-wide, so the handler is static
        /// state (AoaiLog) rather than a GCHandle that could be freed under a running call.</summary>
#if NET8_0_OR_GREATER
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
#else
        [MonoPInvokeCallback(typeof(LogFn))]
#endif
        private static void OnLog(IntPtr userData, int level, IntPtr message)
        {
            try
            {
                AoaiLog.Dispatch((AoaiLogLevel)level, Utf8.ReadZ(message));
            }
            catch
            {
                // A failing log handler must not take the library thread down; nothing to report to.
            }
        }
    }
}
