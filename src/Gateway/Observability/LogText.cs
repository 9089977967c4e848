using System.Buffers;
using System.Globalization;
using System.Text;

namespace Gateway.Observability;

// A logged value comes from strangers (a request path, a header, amoCRM's answer): escaped, it can never end the
// line it is on, start a forged one, or send a terminal an escape sequence.
internal static class LogText
{
    // C0 controls, DEL, C1 controls (NEL among them) and the Unicode line and paragraph separators.
    private static readonly SearchValues<char> Unsafe = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Append(0x2028).Append(0x2029).Select(c => (char)c)));

    public static string Escape(string value)
    {
        var first = value.AsSpan().IndexOfAny(Unsafe);
        if (first < 0)
        {
            return value;
        }

        var escaped = new StringBuilder(value.Length + 16).Append(value, 0, first);
        foreach (var c in value.AsSpan(first))
        {
            if (!Unsafe.Contains(c))
            {
                escaped.Append(c);
                continue;
            }

            escaped.Append(c switch
            {
                '\r' => @"\r",
                '\n' => @"\n",
                '\t' => @"\t",
                < '\u0100' => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
            });
        }

        return escaped.ToString();
    }
}
