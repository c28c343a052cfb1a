// A minimal reader for the response JSON the library already handed over: finds the raw text
// of the value at a path of object keys and array indexes, without building a document.
// Used for the rarely needed details (filter results, logprobs) so that copying a response
// costs only the fields most callers read. Returns null when the path does not exist or the
// text is not well-formed.
using System;
using System.Text;

namespace Aoai
{
    internal static class JsonPath
    {
        /// <summary>The raw JSON of the value at <paramref name="path"/> (string keys, int indexes), or null.</summary>
        internal static string Find(string json, params object[] path)
        {
            if (json == null) return null;
            int pos = 0;
            SkipWs(json, ref pos);
            int start = pos;
            foreach (object step in path)
            {
                if (pos >= json.Length) return null;
                string key = step as string;
                if (key != null)
                {
                    if (json[pos] != '{') return null;
                    if (!FindKey(json, ref pos, key)) return null;
                }
                else
                {
                    if (json[pos] != '[') return null;
                    if (!FindIndex(json, ref pos, (int)step)) return null;
                }
                start = pos;
            }
            int end = start;
            if (!SkipValue(json, ref end)) return null;
            return json.Substring(start, end - start);
        }

        // pos at '{'; on success pos is at the start of the key's value.
        private static bool FindKey(string s, ref int pos, string key)
        {
            pos++;
            while (true)
            {
                SkipWs(s, ref pos);
                if (pos >= s.Length) return false;
                if (s[pos] == '}') return false;
                if (s[pos] == ',') { pos++; continue; }
                if (s[pos] != '"') return false;
                string k = ReadString(s, ref pos);
                if (k == null) return false;
                SkipWs(s, ref pos);
                if (pos >= s.Length || s[pos] != ':') return false;
                pos++;
                SkipWs(s, ref pos);
                if (k == key) return true;
                if (!SkipValue(s, ref pos)) return false;
            }
        }

        // pos at '['; on success pos is at the start of element index.
        private static bool FindIndex(string s, ref int pos, int index)
        {
            if (index < 0) return false;
            pos++;
            int i = 0;
            while (true)
            {
                SkipWs(s, ref pos);
                if (pos >= s.Length || s[pos] == ']') return false;
                if (s[pos] == ',') { pos++; continue; }
                if (i == index) return true;
                if (!SkipValue(s, ref pos)) return false;
                i++;
            }
        }

        private static void SkipWs(string s, ref int pos)
        {
            while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++;
        }

        // Skips one value starting at pos (after whitespace); false when malformed.
        private static bool SkipValue(string s, ref int pos)
        {
            SkipWs(s, ref pos);
            if (pos >= s.Length) return false;
            char c = s[pos];
            if (c == '"') return ReadString(s, ref pos) != null;
            if (c == '{' || c == '[')
            {
                int depth = 0;
                while (pos < s.Length)
                {
                    char d = s[pos];
                    if (d == '"')
                    {
                        if (ReadString(s, ref pos) == null) return false;
                        continue;
                    }
                    if (d == '{' || d == '[') depth++;
                    else if (d == '}' || d == ']')
                    {
                        depth--;
                        if (depth == 0) { pos++; return true; }
                    }
                    pos++;
                }
                return false;
            }
            int start = pos;
            while (pos < s.Length && s[pos] != ',' && s[pos] != '}' && s[pos] != ']' && s[pos] != ' ' &&
                   s[pos] != '\n' && s[pos] != '\r' && s[pos] != '\t') pos++;
            return pos > start;
        }

        // pos at '"'; returns the decoded string and moves past the closing quote, or null.
        private static string ReadString(string s, ref int pos)
        {
            var sb = new StringBuilder();
            pos++;
            while (pos < s.Length)
            {
                char c = s[pos++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (pos >= s.Length) return null;
                char e = s[pos++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u':
                        if (pos + 4 > s.Length) return null;
                        int v;
                        if (!int.TryParse(s.Substring(pos, 4), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out v)) return null;
                        sb.Append((char)v);
                        pos += 4;
                        break;
                    default: sb.Append(e); break;
                }
            }
            return null;
        }
    }
}
