using System;
using System.Runtime.CompilerServices;
#if NET8_0_OR_GREATER
using System.Reflection;
using System.Runtime.InteropServices;
#endif

[assembly: InternalsVisibleTo("Aoai.Tests")]

namespace Aoai
{
    /// <summary>Process-wide functions of the native library.</summary>
    public static class AoaiLibrary
    {
        private static volatile bool s_checked;

        /// <summary>Version of the loaded native library ("0.1.0").</summary>
        public static string Version { get { return Utf8.ReadZ(Native.aoai_version()); } }

        /// <summary>(MAJOR &lt;&lt; 16) | (MINOR &lt;&lt; 8) | PATCH of the loaded native library.</summary>
        public static int VersionNumber { get { return (int)Native.aoai_version_number(); } }

        /// <summary>The version of include/aoai.h these bindings were generated from.</summary>
        public static string BindingVersion
        {
            get { return Native.AOAI_VERSION_MAJOR + "." + Native.AOAI_VERSION_MINOR + "." + Native.AOAI_VERSION_PATCH; }
        }

        /// <summary>Throws when the loaded native library is not ABI-compatible with these bindings
        /// (another major version; for 0.x another minor; or an older minor). Also turns a
        /// missing library into a DllNotFoundException that says where it was looked for.</summary>
        public static void EnsureCompatible()
        {
            if (s_checked) return;
            int lib;
            try
            {
                lib = VersionNumber;
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(
                    "the native aoai library (" + Native.Lib + ": libaoai.so / aoai.dll / libaoai.dylib) was not found; " +
                    "put it next to the application, on LD_LIBRARY_PATH / PATH, or in a Unity Plugins folder", e);
            }
            int want = Native.BindingVersionNumber;
            int libMajor = lib >> 16, libMinor = (lib >> 8) & 0xff;
            int major = want >> 16, minor = (want >> 8) & 0xff;
            bool ok = libMajor == major && (major == 0 ? libMinor == minor : libMinor >= minor);
            if (!ok)
                throw new InvalidOperationException("the native aoai library is version " + Version +
                    " but these bindings were built for " + BindingVersion + ": use matching versions");
            HookProcessExit();
            s_checked = true;
        }

        private static int s_exitHooked;

        private static void HookProcessExit()
        {
            if (System.Threading.Interlocked.Exchange(ref s_exitHooked, 1) != 0) return;
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        }

        /// <summary>
        /// Stops the library's threads when the process exits. Mono attaches every library thread
        /// that ran a callback (notify, token, log) and, at exit, waits for those threads, which
        /// sit in native code for the life of the runtime: without this a console program hangs
        /// after Main returns.
        /// </summary>
        private static void OnProcessExit(object sender, EventArgs e)
        {
            try
            {
                Native.aoai_shutdown();
            }
            catch
            {
                // Exiting anyway.
            }
        }

        /// <summary>A short English description of a status ("rate limited").</summary>
        public static string StatusText(AoaiStatus status)
        {
            return Errors.StatusText((int)status);
        }

        /// <summary>Stops the library runtime and its threads. Dispose every client first; a later
        /// client call starts a new runtime. Not from a library callback.</summary>
        public static void Shutdown()
        {
            Errors.Check(Native.aoai_shutdown());
        }

        /// <summary>Test hook: makes the library panic internally; always throws AoaiException
        /// with Status Panic, and the library keeps working.</summary>
        public static void DebugPanic()
        {
            Errors.Check(Native.aoai_debug_panic());
        }

#if NET8_0_OR_GREATER
        /// <summary>.NET only: load the native library from <paramref name="path"/> instead of the
        /// default probing (call before the first aoai call).</summary>
        public static void SetNativeLibraryPath(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            NativeLibrary.SetDllImportResolver(typeof(AoaiLibrary).Assembly, (name, asm, search) =>
                name == Native.Lib ? NativeLibrary.Load(path) : IntPtr.Zero);
        }
#endif
    }

    /// <summary>Routes the native library's log into managed code (Unity: Debug.Log).</summary>
    public static class AoaiLog
    {
        private static volatile Action<AoaiLogLevel, string> s_handler;
        private static readonly object s_lock = new object();
        private static bool s_unloadHooked;

        /// <summary>
        /// Sends library logs up to <paramref name="maxLevel"/> to <paramref name="handler"/>
        /// (null turns library logging off). Process-wide; when this returns, the previous
        /// handler is no longer running. The handler runs on any thread (library threads and
        /// threads making aoai calls), possibly concurrently: it must be thread-safe and quick,
        /// must not call the aoai API (no client calls, no SetHandler) and must not touch Unity
        /// objects (queue the message for the main thread instead). Messages never contain
        /// keys or tokens.
        /// </summary>
        public static void SetHandler(Action<AoaiLogLevel, string> handler, AoaiLogLevel maxLevel = AoaiLogLevel.Info)
        {
            lock (s_lock)
            {
                s_handler = handler;
                int st = handler == null
                    ? Native.aoai_set_log_callback(IntPtr.Zero, IntPtr.Zero, 0)
                    : Native.aoai_set_log_callback(Callbacks.LogPtr, IntPtr.Zero, (int)maxLevel);
                Errors.Check(st);
                if (handler != null && !s_unloadHooked)
                {
                    // The native library outlives an AppDomain (Unity domain reload): unhook the
                    // callback before the managed code it points to goes away.
                    AppDomain.CurrentDomain.DomainUnload += OnDomainUnload;
                    s_unloadHooked = true;
                }
            }
        }

        private static void OnDomainUnload(object sender, EventArgs e)
        {
            s_handler = null;
            Native.aoai_set_log_callback(IntPtr.Zero, IntPtr.Zero, 0);
        }

        internal static void Dispatch(AoaiLogLevel level, string message)
        {
            Action<AoaiLogLevel, string> h = s_handler;
            if (h != null) h(level, message);
        }

        /// <summary>A managed callback threw where nobody can catch it (a library thread).</summary>
        internal static void ReportCallbackException(string where, Exception e)
        {
            try
            {
                Dispatch(AoaiLogLevel.Error, where + " threw " + e.GetType().Name + ": " + e.Message);
            }
            catch
            {
                // Never let a log handler's failure escape into native code.
            }
        }
    }
}
