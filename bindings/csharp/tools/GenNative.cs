// GenNative: generates the binding's Native.g.cs (unity/com.aoai.client/Runtime) from include/aoai.h.
//
//   mcs -out:GenNative.exe GenNative.cs && mono GenNative.exe include/aoai.h unity/com.aoai.client/Runtime/Native.g.cs
//
// (bindings/csharp/tools/gen-native.sh does exactly that.) Every function prototype of the
// header becomes a blittable P/Invoke declaration, twice: [LibraryImport] for net8.0 and
// [DllImport(Cdecl, ExactSpelling)] for everything else (Mono, Unity/IL2CPP, .NET Framework).
// Every integer #define and every AoaiStatus value becomes an internal const. A C type this
// tool does not know is an error, so a new kind of parameter cannot slip in unmapped.
// Written for mcs (C# 6 subset).
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

static class GenNative
{
    static readonly HashSet<string> Keywords = new HashSet<string> {
        "abstract","as","base","bool","break","byte","case","catch","char","checked","class","const",
        "continue","decimal","default","delegate","do","double","else","enum","event","explicit",
        "extern","false","finally","fixed","float","for","foreach","goto","if","implicit","in","int",
        "interface","internal","is","lock","long","namespace","new","null","object","operator","out",
        "override","params","private","protected","public","readonly","ref","return","sbyte","sealed",
        "short","sizeof","stackalloc","static","string","struct","switch","this","throw","true","try",
        "typeof","uint","ulong","unchecked","unsafe","ushort","using","virtual","void","volatile","while" };

    static readonly HashSet<string> Callbacks = new HashSet<string> {
        "AoaiEventCallback", "AoaiTokenCallback", "AoaiLogCallback", "AoaiNotifyCallback" };

    static int Main(string[] args)
    {
        if (args.Length != 2) { Console.Error.WriteLine("usage: GenNative.exe aoai.h Native.g.cs"); return 2; }
        try
        {
            string text = File.ReadAllText(args[0]);
            File.WriteAllText(args[1], Generate(text));
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("GenNative: " + e.Message);
            return 1;
        }
    }

    class Param { public string Type; public string Name; }
    class Fn { public string Ret; public string Name; public List<Param> Params = new List<Param>(); public string CDecl; }

    static string Generate(string header)
    {
        string noComments = Regex.Replace(header, @"/\*.*?\*/", " ", RegexOptions.Singleline);
        noComments = Regex.Replace(noComments, @"//[^\n]*", " ");

        // Constants: integer #defines, and the AoaiStatus enum values.
        var consts = new List<KeyValuePair<string, string>>();
        foreach (Match m in Regex.Matches(noComments, @"^\s*#define\s+(AOAI_\w+)\s+(-?\d+)\s*$", RegexOptions.Multiline))
            consts.Add(new KeyValuePair<string, string>(m.Groups[1].Value, m.Groups[2].Value));
        Match en = Regex.Match(noComments, @"enum\s+AoaiStatus\b[^{]*\{(.*?)\}", RegexOptions.Singleline);
        if (!en.Success) throw new Exception("enum AoaiStatus not found");
        foreach (Match m in Regex.Matches(en.Groups[1].Value, @"(AOAI_STATUS_\w+)\s*=\s*(-?\d+)"))
            consts.Add(new KeyValuePair<string, string>(m.Groups[1].Value, m.Groups[2].Value));

        // Functions: drop preprocessor lines and braces, then split statements on ';'.
        var sb = new StringBuilder();
        foreach (string line in noComments.Split('\n'))
        {
            string t = line.Trim();
            if (t.StartsWith("#") || t.StartsWith("extern \"C\"") || t == "}") { sb.Append('\n'); continue; }
            sb.Append(line).Append('\n');
        }
        var fns = new List<Fn>();
        var seen = new HashSet<string>();
        foreach (string raw in sb.ToString().Split(';'))
        {
            string st = Regex.Replace(raw, @"\s+", " ").Trim();
            st = Regex.Replace(st, @"^AOAI_API\s+", ""); // the export macro (cbindgen [fn] prefix)
            if (st.Length == 0 || st.StartsWith("typedef") || st.Contains("{") || st.Contains("}")) continue;
            Match m = Regex.Match(st, @"^(.*?)\b(aoai_\w+)\s*\((.*)\)$");
            if (!m.Success) continue;
            var fn = new Fn { Ret = m.Groups[1].Value.Trim(), Name = m.Groups[2].Value, CDecl = st };
            string ps = m.Groups[3].Value.Trim();
            if (ps != "void" && ps.Length > 0)
            {
                foreach (string p in ps.Split(','))
                {
                    Match pm = Regex.Match(p.Trim(), @"^(.*?)(\w+)$");
                    if (!pm.Success) throw new Exception("cannot parse parameter '" + p + "' of " + fn.Name);
                    fn.Params.Add(new Param { Type = pm.Groups[1].Value.Trim(), Name = pm.Groups[2].Value });
                }
            }
            if (!seen.Add(fn.Name)) throw new Exception("duplicate prototype " + fn.Name);
            fns.Add(fn);
        }
        if (fns.Count == 0) throw new Exception("no aoai_* prototypes found");

        var o = new StringBuilder();
        o.Append("// <auto-generated>\n");
        o.Append("// Generated by bindings/csharp/tools/GenNative.cs from include/aoai.h: do not edit.\n");
        o.Append("// Regenerate with bindings/csharp/tools/gen-native.sh; bindings/csharp/test.sh fails on drift.\n");
        o.Append("// </auto-generated>\n");
        o.Append("using System;\nusing System.Runtime.InteropServices;\n");
        o.Append("#if NET8_0_OR_GREATER\nusing System.Runtime.CompilerServices;\n#endif\n\n");
        o.Append("namespace Aoai\n{\n");
        o.Append("    internal static unsafe partial class Native\n    {\n");
        foreach (var c in consts)
            o.AppendFormat("        internal const int {0} = {1};\n", c.Key, c.Value);
        o.AppendFormat("\n        /// <summary>Number of functions in include/aoai.h, all bound below.</summary>\n        internal const int FunctionCount = {0};\n", fns.Count);
        o.Append("\n        internal static readonly string[] FunctionNames = new string[]\n        {\n");
        foreach (var f in fns) o.AppendFormat("            \"{0}\",\n", f.Name);
        o.Append("        };\n");
        for (int pass = 0; pass < 2; pass++)
        {
            o.Append(pass == 0 ? "\n#if NET8_0_OR_GREATER\n" : "\n#else\n");
            foreach (var f in fns)
            {
                o.AppendFormat("\n        // {0};\n", f.CDecl);
                if (pass == 0)
                {
                    o.Append("        [LibraryImport(Lib)]\n");
                    o.Append("        [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]\n");
                }
                else
                {
                    o.Append("        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]\n");
                }
                var ps = new List<string>();
                foreach (var p in f.Params)
                    ps.Add(MapType(p.Type, f.Name, false) + " " + (Keywords.Contains(p.Name) ? "@" + p.Name : p.Name));
                o.AppendFormat("        internal static {0} {1} {2}({3});\n",
                    pass == 0 ? "partial" : "extern", MapType(f.Ret, f.Name, true), f.Name, string.Join(", ", ps.ToArray()));
            }
        }
        o.Append("#endif\n    }\n}\n");
        return o.ToString();
    }

    static string MapType(string cType, string fn, bool isReturn)
    {
        string t = cType.Replace("*", " * ");
        bool isConst = Regex.IsMatch(t, @"\bconst\b");
        t = Regex.Replace(t, @"\b(const|struct|enum)\b", " ");
        int stars = 0;
        foreach (char ch in t) if (ch == '*') stars++;
        string b = Regex.Replace(t.Replace("*", " "), @"\s+", " ").Trim();
        if (Callbacks.Contains(b) && stars == 0) return "IntPtr";
        if (b.StartsWith("Aoai") && b != "AoaiStatus")
        {
            if (stars == 1) return "IntPtr";
            if (stars == 2) return "IntPtr*";
        }
        switch (b + new string('*', stars))
        {
            case "void": return "void";
            case "void*": return "IntPtr";
            case "char*":
                // Borrowed strings in are byte*; strings the library returns (borrowed) and
                // owned char* given back to aoai_string_free travel as IntPtr.
                return (isConst && !isReturn) ? "byte*" : "IntPtr";
            case "char**": return "IntPtr*";
            case "float*": return isReturn ? "IntPtr" : "float*";
            case "int32_t": case "AoaiStatus": return "int";
            case "int32_t*": return "int*";
            case "uint32_t": return "uint";
            case "int64_t": return "long";
            case "int64_t*": return "long*";
            case "uint64_t": return "ulong";
            case "size_t": return "UIntPtr";
            case "size_t*": return "UIntPtr*";
            case "double": return "double";
        }
        throw new Exception("unmapped C type '" + cType.Trim() + "' in " + fn + ": teach tools/GenNative.cs MapType");
    }
}
