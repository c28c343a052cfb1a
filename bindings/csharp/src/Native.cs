// The raw layer's hand-written half: the library name, the constants include/aoai.h does not
// carry, and the UTF-8 helpers. The P/Invoke declarations themselves are generated into
// Native.g.cs from the header. Everything here is blittable: IntPtr, byte*, integers.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Aoai
{
    internal static unsafe partial class Native
    {
#if (UNITY_IOS && !UNITY_EDITOR) || UNITY_WEBGL
        /// <summary>iOS and WebGL link libaoai.a into the player: symbols live in the executable.</summary>
        internal const string Lib = "__Internal";
#else
        /// <summary>Resolves libaoai.so / aoai.dll / libaoai.dylib.</summary>
        internal const string Lib = "aoai";
#endif

        /// <summary>The library version these bindings were generated against.</summary>
        internal const int BindingVersionNumber = (AOAI_VERSION_MAJOR << 16) | (AOAI_VERSION_MINOR << 8) | AOAI_VERSION_PATCH;
    }

    /// <summary>UTF-8 by hand: portable across Mono, IL2CPP, .NET Framework and CoreCLR.</summary>
    internal static unsafe class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>NUL-terminated UTF-8 bytes of <paramref name="s"/>, or null for null. Pin with <c>fixed</c>.</summary>
        internal static byte[] Encode(string s, string paramName)
        {
            if (s == null) return null;
            if (s.IndexOf('\0') >= 0)
                throw new ArgumentException("the string contains a NUL character, which C strings cannot carry", paramName);
            byte[] b;
            try
            {
                int n = Strict.GetByteCount(s);
                b = new byte[n + 1];
                Strict.GetBytes(s, 0, s.Length, b, 0);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("the string is not valid UTF-16 (unpaired surrogate)", paramName, e);
            }
            return b;
        }

        /// <summary>Like <see cref="Encode"/> but null is refused.</summary>
        internal static byte[] EncodeRequired(string s, string paramName)
        {
            if (s == null) throw new ArgumentNullException(paramName);
            return Encode(s, paramName);
        }

        /// <summary>A borrowed <c>const char*</c> with its byte length; null for NULL.</summary>
        internal static string Read(IntPtr p, UIntPtr len)
        {
            if (p == IntPtr.Zero) return null;
            ulong n = len.ToUInt64();
            if (n == 0) return string.Empty;
            if (n > int.MaxValue) throw new OverflowException("string longer than 2 GiB");
            return Encoding.UTF8.GetString((byte*)p, (int)n);
        }

        /// <summary>A NUL-terminated string (borrowed or owned; the caller frees owned ones).</summary>
        internal static string ReadZ(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            byte* b = (byte*)p;
            int n = 0;
            while (b[n] != 0) n++;
            return n == 0 ? string.Empty : Encoding.UTF8.GetString(b, n);
        }

        /// <summary>Reads an owned <c>char*</c> and frees it with aoai_string_free.</summary>
        internal static string TakeOwned(IntPtr p)
        {
            try { return ReadZ(p); }
            finally { if (p != IntPtr.Zero) Native.aoai_string_free(p); }
        }
    }
}
